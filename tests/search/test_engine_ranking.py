"""The engine's ranking in its own query language gives the totals and the order of `ranking/`."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest

from app.search.contract import KINDS, MatchQuery
from ranking import RankingContext, rank
from ranking.blend import facet_distance_band
from ranking.linear import linear_spec
from tests.factories import ANCHORS, make_documents
from tests.search.test_engine_contract import CODE_POOL, _publish_all

TODAY = date.today()


@pytest.fixture
def ranked_engine(engine, refs):
    docs = make_documents(refs, 4000, seed=21, codes=CODE_POOL, today=TODAY)
    rng = random.Random(5)
    words = ["boulanger", "pâtissier", "vendeur", "développeur web", "aide-soignant", "cuisinier"]
    docs = [dict(d, search_text=" ".join(rng.sample(words, 2))) for d in docs]
    _publish_all(engine, docs)
    return engine


def _queries(n: int, seed: int):
    rng = random.Random(seed)
    for i in range(n):
        lat, lon = rng.choice(ANCHORS)
        located = i % 5 != 0
        yield MatchQuery(romes=tuple(rng.sample(CODE_POOL, rng.randint(1, 3))),
                         latitude=lat + rng.gauss(0, 0.2) if located else None,
                         longitude=lon + rng.gauss(0, 0.2) if located else None,
                         radius_km=rng.choice([10, 30, 60, 100, 200]), page_size=None,
                         text=rng.choice(["", "", "boulanger", "developpeur web"])), \
            rng.choice(["relevance", "distance", "date"])


def test_engine_totals_and_order_equal_python_ranking_on_every_candidate(ranked_engine):
    compared = 0
    for query, sort in _queries(60, seed=3):
        ctx = RankingContext(radius_km=query.radius_km, today=TODAY, has_text=bool(query.text), sort=sort)
        specs = {kind: linear_spec(kind, query.located, ctx) for kind in KINDS}
        engine_ranked = ranked_engine.rank(query, specs, sort, limit=100000)
        python_ranked = rank(list(ranked_engine.iter_candidates(query)), ctx)
        assert sum(engine_ranked.totals.values()) == len(python_ranked)
        by_id = {(h.kind, h.id): h for h in engine_ranked.hits}
        for scored in python_ranked:
            hit = by_id[(scored.candidate.kind, scored.candidate.id)]
            assert hit.rank_score == pytest.approx(scored.total, abs=1e-12), (query, hit)
        for kind in KINDS:
            engine_order = [h.id for h in engine_ranked.hits if h.kind == kind]
            python_order = [s.candidate.id for s in python_ranked if s.candidate.kind == kind]
            assert engine_order == python_order, (query, sort, kind)
        compared += len(python_ranked)
    assert compared > 3000


def test_limit_keeps_the_best_of_each_kind(ranked_engine):
    query = MatchQuery(romes=("D1102", "K2204"), latitude=48.85, longitude=2.35, radius_km=200, page_size=None)
    ctx = RankingContext(radius_km=200, today=TODAY)
    specs = {kind: linear_spec(kind, True, ctx) for kind in KINDS}
    everything = ranked_engine.rank(query, specs, "relevance", limit=100000)
    top = ranked_engine.rank(query, specs, "relevance", limit=5)
    for kind in KINDS:
        assert [h.id for h in top.hits if h.kind == kind] == [h.id for h in everything.hits if h.kind == kind][:5]
    assert top.totals == everything.totals and top.facets == everything.facets


def test_facets_count_every_candidate(ranked_engine):
    query = MatchQuery(romes=("M1805",), latitude=45.76, longitude=4.83, radius_km=150, page_size=None)
    ctx = RankingContext(radius_km=150, today=TODAY)
    ranked = ranked_engine.rank(query, {k: linear_spec(k, True, ctx) for k in KINDS}, "relevance", limit=1)
    candidates = list(ranked_engine.iter_candidates(query))
    for kind in KINDS:
        mine = [c for c in candidates if c.kind == kind]
        facets = ranked.facets[kind]
        assert sum(facets["distance"].values()) == len(mine) == ranked.totals[kind]
        expected_bands: dict[str, int] = {}
        for c in mine:
            band = facet_distance_band(c.distance_km)
            expected_bands[band] = expected_bands.get(band, 0) + 1
        assert facets["distance"] == expected_bands
        expected_levels: dict[str, int] = {}
        for c in mine:
            key = "unknown" if c.diploma_level is None else str(c.diploma_level)
            expected_levels[key] = expected_levels.get(key, 0) + 1
        assert facets["diploma"] == expected_levels
        for name in ("apprentissage", "professionnalisation"):
            assert facets["contract"].get(name, 0) == sum(1 for c in mine if name in c.contract_types)


def test_text_changes_the_order_towards_matching_documents(ranked_engine):
    base = MatchQuery(romes=tuple(CODE_POOL), latitude=48.85, longitude=2.35, radius_km=100, page_size=None)
    with_text = RankingContext(radius_km=100, today=TODAY, has_text=True)
    without = RankingContext(radius_km=100, today=TODAY)
    query = replace(base, text="boulanger")
    ranked = ranked_engine.rank(query, {k: linear_spec(k, True, with_text) for k in KINDS}, "relevance", limit=30)
    plain = ranked_engine.rank(query, {k: linear_spec(k, True, without) for k in KINDS}, "relevance", limit=30)
    matching = sum(h.text_score > 0 for h in ranked.hits)
    matching_without_text_weight = sum(h.text_score > 0 for h in plain.hits)
    assert matching > matching_without_text_weight


def test_both_engines_render_their_formula_from_the_one_table_of_terms():
    from app.search import es_queries
    from app.search.embedded import rank as embedded_rank
    from ranking.linear import TERMS, render_numpy, render_painless

    assert embedded_rank.SOURCE == render_numpy(embedded_rank.NUMPY_INPUTS, "c.c2 is not None")
    assert es_queries.TOTAL_SCRIPT == render_painless(es_queries.PAINLESS_INPUTS)
    for term in TERMS:
        assert f"w[{term.name!r}]" in embedded_rank.SOURCE
        assert f"params.w_{term.name} != 0.0" in es_queries.TOTAL_SCRIPT
