"""GET /healthz reports the engine's generations and counts, and 503 when nothing is served."""
from __future__ import annotations

from app.factory import create_app
from app.search.embedded import EmbeddedEngine


def test_healthz_reports_generation_and_counts(client, documents):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert sum(i["documents"] for i in body["indexes"].values()) == len(documents)
    assert all(i["generation"] for i in body["indexes"].values())


def test_healthz_is_503_on_an_empty_engine(settings, tmp_path):
    app = create_app(settings, engine=EmbeddedEngine(tmp_path))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
