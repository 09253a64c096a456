"""Both engines filter expiry with the injected clock's Paris day, across midnight and a DST change."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from app.clock import FixedClock
from app.search.contract import KINDS, MatchQuery
from tests.factories import make_documents

LYON = (45.764, 4.8357)
EXPIRIES = {
    "bare-28": "2026-03-28",  # last Paris day: 28 March (winter time)
    "bare-29": "2026-03-29",  # last Paris day: 29 March (the day summer time starts)
    "late-29-utc": "2026-03-29T22:15:00Z",  # 00:15 on 30 March in Paris: lasts the whole Paris 30th
    "late-28-utc": "2026-03-28T23:30:00+00:00",  # 00:30 on 29 March in Paris
}
MOMENTS = [  # (instant in UTC, ids still open)
    ("2026-03-28T22:59:00", {"bare-28", "bare-29", "late-29-utc", "late-28-utc"}),  # 23:59 Paris on the 28th
    ("2026-03-28T23:01:00", {"bare-29", "late-29-utc", "late-28-utc"}),  # 00:01 Paris on the 29th
    ("2026-03-29T21:59:00", {"bare-29", "late-29-utc", "late-28-utc"}),  # 23:59 Paris (now UTC+2)
    ("2026-03-29T22:01:00", {"late-29-utc"}),  # 00:01 Paris on the 30th, UTC is still the 29th
    ("2026-03-30T21:59:00", {"late-29-utc"}),
    ("2026-03-30T22:01:00", set()),
]


def _engine_with(engine, clock):
    """A new engine on the fixture's index, built with the test's clock (as build_engine injects it)."""
    if hasattr(engine, "root"):
        from app.search.embedded import EmbeddedEngine

        return EmbeddedEngine(engine.root, clock=clock)
    from app.search.elastic import ElasticEngine

    return ElasticEngine(engine.config, prefix=engine.prefix, clock=clock)


@pytest.mark.parametrize("instant, open_ids", MOMENTS)
def test_expiry_follows_the_paris_day_of_the_injected_clock(engine, refs, instant, open_ids):
    base = next(d for d in make_documents(refs, 3, seed=4, codes=["D1102"], today=date(2026, 3, 1))
                if d["kind"] == "offer")
    docs = [dict(base, id=doc_id, source_id=doc_id, expires_at=expires, published_at="2026-03-01",
                 location={"lat": LYON[0], "lon": LYON[1]}) for doc_id, expires in EXPIRIES.items()]
    for kind in KINDS:
        with engine.new_generation(kind) as builder:
            builder.add(d for d in docs if d["kind"] == kind)
    clock = FixedClock(datetime.fromisoformat(instant).replace(tzinfo=timezone.utc))
    engine = _engine_with(engine, clock)
    query = MatchQuery(romes=("D1102",), latitude=LYON[0], longitude=LYON[1], radius_km=5, kinds=("offer",),
                       page_size=None)
    assert {h.id for h in engine.search(query).hits} == open_ids
    assert {h.id for h in engine.iter_candidates(query)} == open_ids
