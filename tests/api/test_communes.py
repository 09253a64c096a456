"""GET /api/v1/communes."""
from __future__ import annotations


def test_names(client):
    body = client.get("/api/v1/communes", query_string={"q": "st etienne"}).get_json()
    assert body["query"] == "st etienne"
    first = body["communes"][0]
    assert (first["insee"], first["name"], first["department"]["code"]) == ("42218", "Saint-Étienne", "42")
    assert {"insee", "name", "postcodes", "department", "latitude", "longitude"} <= set(first)
    assert len(body["communes"]) <= 10


def test_postal_code_and_arrondissement(client):
    body = client.get("/api/v1/communes?q=69003").get_json()
    assert [c["insee"] for c in body["communes"][:2]] == ["69383", "69123"]
    assert body["communes"][0]["kind"] == "arrondissement"
    assert body["communes"][0]["parent_insee"] == "69123"


def test_limit_and_errors(client):
    assert len(client.get("/api/v1/communes?q=saint&limit=3").get_json()["communes"]) == 3
    assert client.get("/api/v1/communes?q=saint&limit=11").status_code == 400
    assert client.get("/api/v1/communes").status_code == 400
    assert client.get("/api/v1/communes?q=").get_json()["communes"] == []
    assert client.get("/api/v1/communes", query_string={"q": "b" * 201}).status_code == 400
    assert client.get("/api/v1/communes", query_string={"q": "b" * 200}).status_code == 200
