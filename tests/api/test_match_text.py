"""Free text in /api/v1/match and /api/v1/metiers/resolve: a place named in q, and the confidence floor."""
from __future__ import annotations

from app.search.geo import distance_km

LYON_INSEE = "69123"


def test_resolve_answers_the_place_named_in_the_text(client):
    body = client.get("/api/v1/metiers/resolve", query_string={"q": "apprenti électricien sur Lyon"}).get_json()
    assert body["place"]["insee"] == LYON_INSEE and body["place"]["name"] == "Lyon"
    assert body["romes"] and body["romes"][0]["parent"] in {"F1602", "H1209"}
    plain = client.get("/api/v1/metiers/resolve", query_string={"q": "boulanger"}).get_json()
    assert plain["place"] is None


def test_match_uses_the_place_of_the_text_when_none_is_given(client):
    response = client.get("/api/v1/match", query_string={"q": "boulanger à Lyon", "radius": 30})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["place"]["insee"] == LYON_INSEE and body["romes"][0]["code"] == "D1102"
    assert [w["code"] for w in body["warnings"]][:1] == ["place_from_text"]
    assert "69123" in body["warnings"][0]["message"]
    assert body["items"] and all(item["distance_km"] <= body["radius_km"] for item in body["items"])
    first = body["items"][0]["place"]
    assert distance_km(45.764, 4.8357, first["latitude"], first["longitude"]) <= body["radius_km"] + 0.01


def test_a_place_parameter_wins_over_the_text(client):
    body = client.get("/api/v1/match", query_string={"q": "boulanger à Lyon", "insee": "75056",
                                                     "radius": 30}).get_json()
    assert body["place"]["insee"] == "75056"
    assert "place_from_text" not in [w["code"] for w in body["warnings"]]


def test_text_below_the_floor_is_a_400_with_suggestions(client):
    for text in ("' OR 1=1 --", "%ff%fe", "\ufffd\ufffd"):
        response = client.get("/api/v1/match", query_string={"q": text})
        assert response.status_code == 400, text
        details = response.get_json()["error"]["details"]
        assert details["q"] and details["suggestions"] and all(isinstance(s, str) for s in details["suggestions"])
        resolved = client.get("/api/v1/metiers/resolve", query_string={"q": text}).get_json()
        assert resolved["romes"] == [] and resolved["place"] is None
    raw = client.get("/api/v1/match?q=%ff%fe")
    assert raw.status_code == 400
