"""SearchEngine contract: correctness against brute force, generations, writes, filters, pagination."""
from __future__ import annotations

import random
import threading
from dataclasses import replace
from datetime import date, timedelta

import pytest

from app.search.contract import KINDS, MatchQuery
from app.search.geo import distance_km
from tests.factories import ANCHORS, make_documents

TODAY = date.today()
# Parent codes with children (D1102 → D1108, M1805 → its children) plus plain parent codes.
CODE_POOL = ["D1102", "D1108", "M1805", "M1810", "H2909", "K2204", "G1602", "I1604", "J1501", "F1703"]


def _publish_all(engine, docs) -> None:
    for kind in KINDS:
        with engine.new_generation(kind) as builder:
            builder.add(d for d in docs if d["kind"] == kind)


def _expected(docs, query: MatchQuery, today: date = TODAY) -> list[tuple[str, str, float | None]]:
    """Brute force: scan every document, apply the contract's rules, sort by distance, kind, id."""
    wanted = set(query.romes)
    out = []
    for doc in docs:
        if doc["kind"] not in query.kinds or not wanted & set(doc["rome_index_codes"]):
            continue
        if query.diploma_level is not None and doc["diploma_level"] not in (None, query.diploma_level):
            continue
        if query.contract_types and not set(query.contract_types) & set(doc["contract_types"]):
            continue
        if query.sources and doc["source"] not in query.sources:
            continue
        if not query.include_expired and doc["expires_at"] and doc["expires_at"][:10] < today.isoformat():
            continue
        dist = None
        if query.located:
            dist = distance_km(query.latitude, query.longitude, doc["location"]["lat"], doc["location"]["lon"])
            if dist > query.radius_km:
                continue
        out.append((doc["kind"], doc["id"], dist))
    out.sort(key=lambda t: (t[2] if t[2] is not None else 0.0, KINDS.index(t[0]), t[1]))
    return out


def _random_query(rng: random.Random, **extra) -> MatchQuery:
    if rng.random() < 0.3:
        lat, lon = rng.uniform(41.3, 51.1), rng.uniform(-5.1, 9.6)
    else:
        lat, lon = rng.choice(ANCHORS)
        lat, lon = lat + rng.gauss(0, 0.3), lon + rng.gauss(0, 0.3)
    return MatchQuery(romes=tuple(rng.sample(CODE_POOL, rng.randint(1, 3))), latitude=lat, longitude=lon,
                      radius_km=rng.uniform(1, 200), page_size=None, **extra)


@pytest.fixture
def corpus(refs):
    return make_documents(refs, 6000, seed=7, codes=CODE_POOL, today=TODAY)


def test_matches_brute_force_on_200_random_queries(engine, corpus):
    _publish_all(engine, corpus)
    rng = random.Random(2026)
    compared = 0
    for _ in range(200):
        query = _random_query(rng)
        expected = _expected(corpus, query)
        got = [(h.kind, h.id, h.distance_km) for h in engine.search(query).hits]
        assert [(k, i) for k, i, _ in got] == [(k, i) for k, i, _ in expected], query
        for (_, _, d_got), (_, _, d_exp) in zip(got, expected):
            assert d_got == pytest.approx(d_exp, abs=1e-9)
        compared += len(expected)
    assert compared > 5000  # the queries really found documents, not 200 empty answers


def test_filters_match_brute_force(engine, corpus):
    _publish_all(engine, corpus)
    rng = random.Random(11)
    for extra in ({"diploma_level": 4}, {"contract_types": ("professionnalisation",)},
                  {"sources": ("deposited",)}, {"include_expired": True}, {"kinds": ("offer",)},
                  {"kinds": ("company", "formation")}):
        for _ in range(10):
            query = _random_query(rng, **extra)
            got = [(h.kind, h.id) for h in engine.search(query).hits]
            assert got == [(k, i) for k, i, _ in _expected(corpus, query)], (extra, query)


def test_parent_code_finds_child_coded_documents_but_not_the_reverse(engine, refs):
    docs = make_documents(refs, 30, seed=1, codes=["D1108"], today=TODAY)
    _publish_all(engine, docs)
    lat, lon = docs[0]["location"]["lat"], docs[0]["location"]["lon"]
    parent = engine.search(MatchQuery(romes=("D1102",), latitude=lat, longitude=lon, radius_km=1))
    child = engine.search(MatchQuery(romes=("D1108",), latitude=lat, longitude=lon, radius_km=1))
    assert {h.id for h in parent.hits} == {h.id for h in child.hits} and docs[0]["id"] in {h.id for h in child.hits}
    docs = make_documents(refs, 30, seed=1, codes=["D1102"], today=TODAY)
    _publish_all(engine, docs)
    assert engine.search(MatchQuery(romes=("D1108",), latitude=lat, longitude=lon, radius_km=500)).total == 0


def test_pages_partition_the_distance_order(engine, corpus):
    _publish_all(engine, corpus)
    base = dict(romes=("K2204", "D1102"), latitude=48.8566, longitude=2.3522, radius_km=80)
    everything = engine.search(MatchQuery(**base, page_size=None))
    assert everything.total == len(everything.hits) > 45
    pages = []
    for page in range(1, 100):
        result = engine.search(MatchQuery(**base, page=page, page_size=7))
        assert result.totals == everything.totals
        if not result.hits:
            break
        pages.extend(h.id for h in result.hits)
    assert pages == [h.id for h in everything.hits]


def test_query_without_location_returns_every_document_of_the_codes(engine, corpus):
    _publish_all(engine, corpus)
    query = MatchQuery(romes=("M1805",), page_size=None)
    got = engine.search(query)
    assert {h.id for h in got.hits} == {i for _, i, _ in _expected(corpus, query)}
    assert all(h.distance_km is None for h in got.hits)


def test_get_many_returns_full_documents(engine, corpus):
    _publish_all(engine, corpus)
    wanted = [d for d in corpus if d["kind"] == "offer"][:5]
    found = engine.get_many("offer", [d["id"] for d in wanted] + ["missing"])
    assert set(found) == {d["id"] for d in wanted}
    assert found[wanted[0]["id"]] == wanted[0]


def test_delete_and_upsert_on_the_published_generation(engine, corpus):
    _publish_all(engine, corpus)
    target = next(d for d in corpus if d["kind"] == "offer" and d["expires_at"] >= TODAY.isoformat())
    query = MatchQuery(romes=tuple(target["romes"][:1]), latitude=target["location"]["lat"],
                       longitude=target["location"]["lon"], radius_km=1, kinds=("offer",))
    assert target["id"] in {h.id for h in engine.search(query).hits}
    assert engine.delete("offer", [target["id"], "missing"]) == 1
    assert target["id"] not in {h.id for h in engine.search(query).hits}
    assert engine.get_many("offer", [target["id"]]) == {}
    moved = dict(target, title="Offre déplacée", location={"lat": 43.3, "lon": 5.4})
    engine.upsert("offer", [moved])
    assert target["id"] not in {h.id for h in engine.search(query).hits}
    there = MatchQuery(romes=query.romes, latitude=43.3, longitude=5.4, radius_km=1, kinds=("offer",))
    assert target["id"] in {h.id for h in engine.search(there).hits}
    assert engine.get_many("offer", [target["id"]])[target["id"]]["title"] == "Offre déplacée"
    assert engine.stats()["offer"]["documents"] == sum(1 for d in corpus if d["kind"] == "offer")


def test_new_generation_is_invisible_until_published(engine, refs):
    first = make_documents(refs, 300, seed=3, codes=["D1102"], today=TODAY)
    _publish_all(engine, first)
    query = MatchQuery(romes=("D1102",), page_size=None)
    before = engine.search(query)
    builder = engine.new_generation("company")
    builder.add(make_documents(refs, 600, seed=4, codes=["D1102"], today=TODAY)[2::3])
    assert engine.search(query).hits == before.hits
    builder.publish()
    after = engine.search(query)
    assert after.totals["company"] == 200 and after.generation["company"] == builder.generation


def test_a_build_that_dies_midway_leaves_the_previous_generation_serving(engine, refs, tmp_path):
    _publish_all(engine, make_documents(refs, 300, seed=3, codes=["D1102"], today=TODAY))
    query = MatchQuery(romes=("D1102",), latitude=46.5, longitude=2.5, radius_km=1000, page_size=None)
    before = engine.search(query)
    stats_before = engine.stats()

    def exploding():
        for i, doc in enumerate(make_documents(refs, 30000, seed=9, codes=["D1102"], today=TODAY)):
            if i == 12000:
                raise RuntimeError("source died")
            yield dict(doc, kind="company") if doc["kind"] == "company" else doc

    with pytest.raises(RuntimeError, match="source died"):
        with engine.new_generation("company") as builder:
            builder.add(d for d in exploding() if d["kind"] == "company")
    assert engine.search(query).hits == before.hits
    assert engine.stats() == stats_before
    assert not list((tmp_path / "index" / "company").glob("*.building"))


def test_readers_never_see_an_error_or_an_empty_answer_during_swaps(engine, refs):
    docs = make_documents(refs, 900, seed=5, codes=["D1102"], today=TODAY)
    _publish_all(engine, docs)
    query = MatchQuery(romes=("D1102",), page_size=None, kinds=("company",))
    errors: list[BaseException] = []
    sizes: list[int] = []
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                sizes.append(engine.search(query).totals["company"])
        except BaseException as exc:  # noqa: BLE001 - the test reports any failure of the reader
            errors.append(exc)
        finally:
            engine.close()

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for seed in range(6):
        with engine.new_generation("company") as builder:
            builder.add(d for d in make_documents(refs, 900, seed=20 + seed, codes=["D1102"], today=TODAY)
                        if d["kind"] == "company")
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert sizes and min(sizes) == 300


def test_expired_offers_are_not_candidates(engine, refs):
    docs = make_documents(refs, 3, seed=2, codes=["D1102"], today=TODAY)
    offer = next(d for d in docs if d["kind"] == "offer")
    offer = dict(offer, expires_at=(TODAY - timedelta(days=1)).isoformat())
    _publish_all(engine, [offer])
    query = MatchQuery(romes=("D1102",), kinds=("offer",), page_size=None)
    assert engine.search(query).total == 0
    assert engine.search(MatchQuery(romes=("D1102",), kinds=("offer",), include_expired=True)).total == 1


def test_text_scores_rank_matching_documents(engine, refs):
    docs = make_documents(refs, 60, seed=8, codes=["D1102"], today=TODAY)
    docs = [dict(d, search_text="Boulanger pâtissier" if i % 2 else "Vendeur") for i, d in enumerate(docs)]
    _publish_all(engine, docs)
    hits = engine.search(MatchQuery(romes=("D1102",), text="patissier", page_size=None)).hits
    matching = {d["id"] for i, d in enumerate(docs) if i % 2}
    assert hits and all((h.text_score > 0) == (h.id in matching) for h in hits)


def test_stats_and_health(engine, corpus):
    assert engine.stats()["offer"] == {"generation": None, "documents": 0, "published_at": None}
    assert engine.health()
    _publish_all(engine, corpus)
    stats = engine.stats()
    assert sum(s["documents"] for s in stats.values()) == len(corpus)
    assert all(s["generation"] for s in stats.values())


def test_many_codes_over_a_wide_circle(engine, corpus, refs):
    # 20 codes × ~37 cell rows is past SQLite's 500-arm compound-select limit: the engine must cope.
    _publish_all(engine, corpus)
    codes = tuple(CODE_POOL + [c for c in refs.rome.parents if c not in CODE_POOL][:10])
    query = MatchQuery(romes=codes, latitude=46.5, longitude=2.5, radius_km=200, page_size=None)
    got = [(h.kind, h.id) for h in engine.search(query).hits]
    assert got == [(k, i) for k, i, _ in _expected(corpus, query)] and got


def test_a_document_under_several_asked_codes_is_one_candidate_with_its_best_score(engine, refs):
    from mappings import company
    from mappings.common import Place

    record = company.Company(siret="12345678900011", name="Boulangerie du coin", place=Place(45.0, 5.0),
                             rome_scores={"D1102": 30.0, "D1106": 80.0, "D1502": 55.0},
                             rome_index_codes=["D1102", "D1106", "D1502"])
    other = company.Company(siret="12345678900029", name="Épicerie", place=Place(45.01, 5.0),
                            rome_scores={"D1106": 10.0}, rome_index_codes=["D1106"])
    with engine.new_generation("company") as builder:
        builder.add([company.to_document(record), company.to_document(other)])
    for romes, best in ((("D1102",), 30.0), (("D1102", "D1106"), 80.0), (("D1106", "D1102"), 80.0),
                        (("D1502", "D1102"), 55.0), (("D1102", "D1502", "D1106"), 80.0)):
        for located in (True, False):
            query = MatchQuery(romes=romes, latitude=45.0 if located else None, longitude=5.0 if located else None,
                               radius_km=10, kinds=("company",), page_size=None)
            hits = [h for h in engine.search(query).hits if h.id == record.siret]
            assert len(hits) == 1 and hits[0].rome_score == best, (romes, located)
            assert engine.search(query).totals["company"] == (2 if "D1106" in romes else 1)


def test_live_writes_keep_answers_equal_to_brute_force(engine, corpus):
    """Deletes, moves and new documents on the published generation, then brute force and ranking again."""
    from ranking import RankingContext, rank
    from ranking.linear import linear_spec

    _publish_all(engine, corpus)
    rng = random.Random(13)
    docs = {(d["kind"], d["id"]): d for d in corpus}
    victims = rng.sample(sorted(docs), 300)
    for kind in KINDS:
        assert engine.delete(kind, [i for k, i in victims if k == kind]) == sum(1 for k, _ in victims if k == kind)
    for key in victims:
        del docs[key]
    writes = []
    for (kind, doc_id), doc in rng.sample(sorted(docs.items()), 300):
        lat, lon = rng.choice(ANCHORS)
        writes.append(dict(doc, location={"lat": lat + rng.gauss(0, 0.2), "lon": lon + rng.gauss(0, 0.2)}))
        # A new document at the very place of an existing one: equal distance, so ids decide the order,
        # and "-bis" sorts right after its twin, between two documents of the build.
        writes.append(dict(doc, id=f"{doc_id}-bis"))
    for kind in KINDS:
        engine.upsert(kind, [d for d in writes if d["kind"] == kind])
    docs.update({(d["kind"], d["id"]): d for d in writes})
    current = list(docs.values())
    for _ in range(80):
        query = _random_query(rng)
        result = engine.search(query)
        assert [(h.kind, h.id) for h in result.hits] == [(k, i) for k, i, _ in _expected(current, query)], query
    for _ in range(15):
        query, sort = _random_query(rng), rng.choice(["relevance", "distance", "date"])
        ctx = RankingContext(radius_km=query.radius_km, today=TODAY, sort=sort)
        ranked = engine.rank(query, {k: linear_spec(k, True, ctx) for k in KINDS}, sort, limit=100000)
        python = rank(list(engine.iter_candidates(query)), ctx)
        for kind in KINDS:
            assert [h.id for h in ranked.hits if h.kind == kind] == \
                [s.candidate.id for s in python if s.candidate.kind == kind], (query, sort)
    assert engine.stats()["company"]["documents"] == sum(1 for k, _ in docs if k == "company")


def test_ties_are_cut_by_id_across_built_and_live_documents(engine):
    """Documents at one point with equal scores: pages and the ranked top follow ids, wherever they were written."""
    from mappings import company
    from mappings.common import Place
    from ranking import RankingContext
    from ranking.linear import linear_spec

    def doc(n: int) -> dict:
        return company.to_document(company.Company(
            siret=f"{12345678900000 + n:014d}", name=f"Entreprise {n}", place=Place(45.5, 5.5),
            rome_scores={"D1102": 50.0}, rome_index_codes=["D1102"]))

    with engine.new_generation("company") as builder:
        builder.add([doc(n) for n in range(0, 40, 2)])
    engine.upsert("company", [doc(n) for n in range(1, 40, 2)])
    expected = [doc(n)["id"] for n in range(40)]
    query = MatchQuery(romes=("D1102",), latitude=45.5, longitude=5.5, radius_km=5, kinds=("company",), page_size=3)
    paged = [h.id for page in range(1, 15) for h in engine.search(replace(query, page=page)).hits]
    assert paged == expected
    ctx = RankingContext(radius_km=5, today=TODAY)
    for limit in (1, 4, 7, 40):
        top = engine.rank(query, {"company": linear_spec("company", True, ctx)}, "relevance", limit=limit)
        assert [h.id for h in top.hits] == expected[:limit]
