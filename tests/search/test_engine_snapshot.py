"""One process deletes and upserts while other processes search: never an exception, never half a write."""
from __future__ import annotations

import multiprocessing
import time
import traceback
from datetime import date, timedelta
from typing import Any

from app.search.contract import KINDS, MatchQuery
from tests.factories import make_documents

TODAY = date.today()
LYON = (45.764, 4.8357)
GROUP = 12  # documents written together by each upsert (one transaction in the embedded engine)
DURATION_S = 8.0


def _engine_factory(engine) -> tuple[str, Any]:
    """What a child process needs to open its own engine on the same index."""
    if hasattr(engine, "root"):
        return ("embedded", str(engine.root))
    return ("opensearch", (engine.config.url, engine.prefix))


def _open(spec: tuple[str, Any]):
    kind, where = spec
    if kind == "embedded":
        from app.search.embedded import EmbeddedEngine

        return EmbeddedEngine(where)
    from app.search.elastic import ConnectionConfig, ElasticEngine

    url, prefix = where
    return ElasticEngine(ConnectionConfig("opensearch", url), prefix=prefix, backoff_s=0.02)


def _group(base: dict[str, Any], version: int) -> list[dict[str, Any]]:
    """GROUP offers at Lyon sharing one publication day that encodes the write's version."""
    published = (TODAY - timedelta(days=version % 50)).isoformat()
    return [dict(base, id=f"race-{i:02d}", source_id=f"race-{i:02d}", title=f"Offre course {i}",
                 location={"lat": LYON[0] + i * 1e-4, "lon": LYON[1]}, published_at=published,
                 expires_at=(TODAY + timedelta(days=30)).isoformat())
            for i in range(GROUP)]


def _writer(spec, base, stop_at, out) -> None:
    engine = _open(spec)
    writes = 0
    try:
        version = 0
        while time.time() < stop_at:
            version += 1
            engine.upsert("offer", _group(base, version))  # replaces every document of the group
            writes += 1
            if version % 3 == 0:
                engine.delete("offer", [f"race-{i:02d}" for i in range(GROUP)])
                writes += 1
        out.put(("writer", writes, []))
    except Exception:  # noqa: BLE001 - reported to the parent, which fails the test
        out.put(("writer", writes, [traceback.format_exc()]))


def _reader(spec, stop_at, atomic, out) -> None:
    from ranking import RankingContext
    from ranking.linear import linear_spec

    engine = _open(spec)
    query = MatchQuery(romes=("D1102",), latitude=LYON[0], longitude=LYON[1], radius_km=5, kinds=("offer",),
                       page_size=None)
    ctx = RankingContext(radius_km=5, today=TODAY)
    specs = {k: linear_spec(k, True, ctx) for k in KINDS}
    problems: list[str] = []
    seen_sizes: set[int] = set()
    searches = 0
    while time.time() < stop_at and len(problems) < 5:
        try:
            for hits, total in ((r.hits, r.totals["offer"]) for r in (engine.search(query),)):
                ids = [h.id for h in hits]
                if len(ids) != len(set(ids)) or len(ids) != total:
                    problems.append(f"search: {len(ids)} hits, {len(set(ids))} distinct, total {total}")
                racing = [h for h in hits if h.id.startswith("race-")]
                seen_sizes.add(len(racing))
                if atomic and len(racing) not in (0, GROUP):
                    problems.append(f"search saw {len(racing)} of the {GROUP} documents written together")
                if atomic and len({h.published_at for h in racing}) > 1:
                    problems.append("search saw two versions of one write")
            ranked = engine.rank(query, specs, "relevance", limit=1000)
            ids = [h.id for h in ranked.hits]
            if len(ids) != len(set(ids)) or len(ids) != ranked.totals["offer"]:
                problems.append(f"rank: {len(ids)} hits, {len(set(ids))} distinct, total {ranked.totals['offer']}")
            racing = [h for h in ranked.hits if h.id.startswith("race-")]
            if atomic and (len(racing) not in (0, GROUP) or len({h.published_at for h in racing}) > 1):
                problems.append(f"rank saw half a write: {len(racing)} documents, "
                                f"{len({h.published_at for h in racing})} versions")
            searches += 1
        except Exception:  # noqa: BLE001 - reported to the parent, which fails the test
            problems.append(traceback.format_exc())
    out.put(("reader", searches, problems, sorted(seen_sizes)))


def test_searches_in_other_processes_see_whole_writes_or_none(engine, refs):
    docs = make_documents(refs, 300, seed=21, codes=["D1102"], today=TODAY)
    for kind in KINDS:
        with engine.new_generation(kind) as builder:
            builder.add(d for d in docs if d["kind"] == kind)
    base = next(d for d in docs if d["kind"] == "offer")
    base = dict(base, romes=["D1102"], rome_index_codes=["D1102"])
    engine.upsert("offer", _group(base, 0))
    spec = _engine_factory(engine)
    # The embedded engine writes a group in one SQLite transaction, so a reader sees all of it or none;
    # an OpenSearch bulk may be refreshed midway, so there only integrity (no error, no duplicate,
    # totals equal to the hits) is promised.
    atomic = spec[0] == "embedded"
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    stop_at = time.time() + DURATION_S
    processes = [context.Process(target=_writer, args=(spec, base, stop_at, out))]
    processes += [context.Process(target=_reader, args=(spec, stop_at, atomic, out)) for _ in range(3)]
    for process in processes:
        process.start()
    reports = [out.get(timeout=DURATION_S + 120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    writer = next(r for r in reports if r[0] == "writer")
    readers = [r for r in reports if r[0] == "reader"]
    assert writer[2] == [], writer[2]
    assert writer[1] >= 3  # the writer really kept writing
    for _, searches, problems, _ in readers:
        assert problems == [], problems[0]
        assert searches >= 5
    sizes = set().union(*(set(r[3]) for r in readers))
    assert 0 in sizes and GROUP in sizes  # the readers saw the group both present and deleted
