"""GET /api/v1/metiers and /api/v1/metiers/resolve."""
from __future__ import annotations


def test_autocomplete(client):
    response = client.get("/api/v1/metiers", query_string={"q": "boulang"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["query"] == "boulang"
    assert 1 <= len(body["metiers"]) <= 20
    assert body["metiers"][0] == {**body["metiers"][0], "label": "Boulanger / Boulangère", "rome": "D1102",
                                  "parent": "D1102"}
    assert set(body["metiers"][0]) == {"label", "appellation_code", "rome", "parent", "score"}


def test_autocomplete_limit(client):
    body = client.get("/api/v1/metiers?q=agent&limit=3").get_json()
    assert len(body["metiers"]) == 3


def test_resolve(client):
    body = client.get("/api/v1/metiers/resolve", query_string={"q": "aide soignante"}).get_json()
    assert body["query"] == "aide soignante"
    assert body["romes"][0]["parent"] == "J1501"
    assert len(body["romes"]) >= 5
    assert set(body["romes"][0]) == {"code", "parent", "label", "score"}


def test_resolve_slang_and_typos(client):
    for query, parent in [("dev web", "M1805"), ("cuisto", "G1602"), ("boulanjer", "D1102")]:
        body = client.get("/api/v1/metiers/resolve", query_string={"q": query}).get_json()
        assert body["romes"][0]["parent"] == parent, query


def test_blank_query_gives_no_suggestion(client):
    assert client.get("/api/v1/metiers?q=").get_json()["metiers"] == []
    assert client.get("/api/v1/metiers/resolve?q=%20%20").get_json()["romes"] == []


def test_missing_and_too_long_query_are_400(client):
    missing = client.get("/api/v1/metiers")
    assert missing.status_code == 400
    assert missing.get_json()["error"]["details"] == {"q": ["Paramètre obligatoire."]}
    assert client.get("/api/v1/metiers/resolve", query_string={"q": "a" * 200}).status_code == 200
    too_long = client.get("/api/v1/metiers/resolve", query_string={"q": "a" * 201})
    assert too_long.status_code == 400
    assert too_long.get_json()["error"]["details"] == {"q": ["Au plus 200 caractères."]}
    assert client.get("/api/v1/metiers?q=x&limit=21").status_code == 400


def test_resolver_is_the_match_services_hook(app):
    assert app.extensions["lba.resolver"]("boulanger", limit=5)[0].code == "D1102"


def test_match_refuses_a_text_that_means_no_job(client):
    response = client.get("/api/v1/match", query_string={"q": "xqzwv kjhgf"})
    assert response.status_code == 400
    assert "q" in response.get_json()["error"]["details"]
