"""GET /api/v1/match: nearest results with distances, and a clear 400 for bad input."""
from __future__ import annotations

import pytest

from app.search.contract import MatchQuery
from app.search.geo import distance_km


def test_match_returns_nearest_items_of_every_kind_with_distances(client, engine):
    response = client.get("/api/v1/match?romes=D1102,M1805&latitude=45.764&longitude=4.8357&radius=200")
    assert response.status_code == 200
    body = response.get_json()
    items = body["items"]
    assert len(items) == 20
    assert {i["kind"] for i in items} <= {"formation", "offer", "company"}
    distances = [i["distance_km"] for i in items]
    assert distances == sorted(distances) and distances[-1] <= 200
    first = items[0]
    assert distance_km(45.764, 4.8357, first["place"]["latitude"], first["place"]["longitude"]) == \
        pytest.approx(first["distance_km"], abs=0.01)
    expected = engine.search(MatchQuery(romes=("D1102", "M1805"), latitude=45.764, longitude=4.8357,
                                        radius_km=200, page_size=None))
    assert body["totals"] == {"formations": expected.totals["formation"], "offers": expected.totals["offer"],
                              "companies": expected.totals["company"]}
    assert [i["id"] for i in items] == [h.id for h in expected.hits[:20]]


def test_no_email_address_in_any_output(client):
    response = client.get("/api/v1/match?romes=D1102,M1805,K2204,D1108&page_size=100")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "@" not in text and "private" not in text
    assert len(response.get_json()["items"]) == 100


def test_match_by_insee_and_postcode(client):
    by_insee = client.get("/api/v1/match?romes=D1102&insee=69123&radius=100").get_json()
    by_postcode = client.get("/api/v1/match?romes=D1102&postcode=69001&radius=100").get_json()
    assert by_insee["place"]["label"] == "Lyon"
    assert by_postcode["place"]["insee"] in {"69123", "69381"}
    assert by_insee["items"] and all(i["distance_km"] <= 100 for i in by_insee["items"])


def test_kinds_filter_and_paging(client):
    page1 = client.get("/api/v1/match?romes=K2204&kinds=offers&page_size=5").get_json()
    page2 = client.get("/api/v1/match?romes=K2204&kinds=offers&page_size=5&page=2").get_json()
    assert {i["kind"] for i in page1["items"] + page2["items"]} == {"offer"}
    assert not {i["id"] for i in page1["items"]} & {i["id"] for i in page2["items"]}
    assert list(page1["totals"]) == ["offers"]


@pytest.mark.parametrize("query, fields", [
    ("", ["romes"]),
    ("romes=XX12", ["romes"]),
    ("romes=Z9999", ["romes"]),
    ("romes=" + ",".join(["D1102"] * 21), ["romes"]),
    ("romes=D1102&latitude=45", ["longitude"]),
    ("romes=D1102&latitude=95&longitude=2", ["latitude"]),
    ("romes=D1102&latitude=abc&longitude=2", ["latitude"]),
    ("romes=D1102&latitude=nan&longitude=2", ["latitude"]),
    ("romes=D1102&latitude=45&longitude=2&radius=0", ["radius"]),
    ("romes=D1102&latitude=45&longitude=2&radius=500", ["radius"]),
    ("romes=D1102&kinds=jobs", ["kinds"]),
    ("romes=D1102&page_size=101", ["page_size"]),
    ("romes=D1102&page=0", ["page"]),
    ("romes=D1102&diploma=9", ["diploma"]),
    ("romes=D1102&contract=cdi", ["contract"]),
    ("romes=D1102&insee=99999", ["insee"]),
    ("romes=D1102&postcode=1234", ["postcode"]),
    ("romes=D1102&insee=69123&latitude=45&longitude=4", ["place"]),
    ("romes=bad&radius=0&page_size=0", ["romes", "radius", "page_size"]),
])
def test_bad_input_gets_a_400_listing_every_invalid_parameter(client, query, fields):
    response = client.get(f"/api/v1/match?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameters"
    assert sorted(error["details"]) == sorted(fields)
    assert all(isinstance(m, str) and m for messages in error["details"].values() for m in messages)


def test_free_text_is_refused_clearly_until_it_is_supported(client):
    response = client.get("/api/v1/match?q=boulanger")
    assert response.status_code == 400
    assert "romes" in response.get_json()["error"]["message"]


def test_unknown_path_and_method_use_the_json_error_shape(client):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = client.post("/api/v1/match")
    assert wrong.status_code == 405 and wrong.get_json()["error"]["code"] == "method_not_allowed"


def test_engine_failure_is_a_503_not_a_stack_trace(settings, tmp_path):
    from app.factory import create_app
    from app.search.embedded import EmbeddedEngine

    class BrokenEngine(EmbeddedEngine):
        def search(self, query):
            from app.search.contract import EngineUnavailable
            raise EngineUnavailable("disk gone")

    client = create_app(settings, engine=BrokenEngine(tmp_path)).test_client()
    response = client.get("/api/v1/match?romes=D1102")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "engine_unavailable"
    assert "Traceback" not in response.get_data(as_text=True)
