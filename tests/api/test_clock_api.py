"""The app's one clock reaches the engine, the match service and the detail pages: one Paris day for all."""
from __future__ import annotations

from datetime import date, datetime, timezone

from app.clock import FixedClock
from app.factory import create_app
from app.search.contract import KINDS
from app.search.embedded import EmbeddedEngine
from tests.factories import make_documents

LYON = (45.764, 4.8357)


def test_an_offer_closes_at_paris_midnight_everywhere(api_settings, refs, tmp_path):
    base = next(d for d in make_documents(refs, 3, seed=4, codes=["D1102"], today=date(2026, 3, 1))
                if d["kind"] == "offer")
    offer = dict(base, id="france_travail-X1", source_id="X1", expires_at="2026-03-29", published_at="2026-03-01",
                 status="active", location={"lat": LYON[0], "lon": LYON[1]})
    # 23:30 in Paris on 29 March (summer time): the offer's last day.
    clock = FixedClock(datetime(2026, 3, 29, 21, 30, tzinfo=timezone.utc))
    engine = EmbeddedEngine(tmp_path / "index", clock=clock)
    for kind in KINDS:
        with engine.new_generation(kind) as builder:
            builder.add([offer] if kind == "offer" else [])
    app = create_app(api_settings, engine=engine, clock=clock)
    client = app.test_client()
    match = f"/api/v1/match?romes=D1102&latitude={LYON[0]}&longitude={LYON[1]}&kinds=offers&explain=1"

    answer = client.get(match).get_json()
    assert [item["id"] for item in answer["items"]] == ["france_travail-X1"]
    assert client.get("/api/v1/offers/france_travail-X1").status_code == 200

    clock.set(datetime(2026, 3, 29, 22, 30, tzinfo=timezone.utc))  # 00:30 in Paris, the UTC date is still the 29th
    assert client.get(match).get_json()["items"] == []
    assert client.get("/api/v1/offers/france_travail-X1").status_code == 410
