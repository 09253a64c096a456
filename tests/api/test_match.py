"""GET /api/v1/match and the one-kind searches: ranking, blending, facets, widening, paging, errors."""
from __future__ import annotations

import pytest

from app.search.contract import MatchQuery
from app.search.geo import distance_km

LYON = "latitude=45.764&longitude=4.8357"


def _get(client, query: str):
    response = client.get(f"/api/v1/match?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_default_order_is_relevance_with_every_asked_kind_on_page_one(client, engine):
    body = _get(client, f"romes=D1102,M1805&{LYON}&radius=200")
    items = body["items"]
    assert len(items) == 20 and body["sort"] == "relevance"
    assert {i["kind"] for i in items} == {"formation", "offer", "company"}
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert all(i["distance_km"] <= 200 for i in items)
    first = items[0]
    assert distance_km(45.764, 4.8357, first["place"]["latitude"], first["place"]["longitude"]) == \
        pytest.approx(first["distance_km"], abs=0.01)
    expected = engine.search(MatchQuery(romes=("D1102", "M1805"), latitude=45.764, longitude=4.8357,
                                        radius_km=200, page_size=None))
    assert body["totals"] == {"formations": expected.totals["formation"], "offers": expected.totals["offer"],
                              "companies": expected.totals["company"]}
    assert body["total"] == expected.total and body["pages"] == -(-expected.total // 20)
    assert [r["code"] for r in body["romes"]] == ["D1102", "M1805"]


def test_sort_by_distance_and_by_date(client):
    by_distance = _get(client, f"romes=D1102,M1805&{LYON}&radius=200&sort=distance")["items"]
    distances = [i["distance_km"] for i in by_distance]
    assert distances == sorted(distances)
    by_date = _get(client, f"romes=D1102,M1805,K2204&{LYON}&radius=200&sort=date&kinds=offers")["items"]
    dates = [i["published_at"][:10] for i in by_date]
    assert dates == sorted(dates, reverse=True)


def test_explain_gives_every_component_adding_up_to_the_score(client):
    items = _get(client, f"romes=D1102,M1805,K2204&{LYON}&radius=100&explain=1")["items"]
    assert items
    for item in items:
        components = item["explain"]["components"]
        assert set(components) == {"distance", "text", "freshness", "hiring", "saturation", "prior"}
        assert sum(c["contribution"] for c in components.values()) == pytest.approx(item["score"], abs=1e-5)
    assert "explain" not in _get(client, f"romes=D1102&{LYON}")["items"][0]


def test_facets_cover_the_whole_result_set(client):
    body = _get(client, f"romes=D1102,M1805,K2204&{LYON}&radius=150&page_size=5")
    facets = body["facets"]
    assert sum(facets["kinds"].values()) == body["total"]
    assert sum(facets["distance"].values()) == body["total"]
    assert sum(facets["diploma"].values()) == body["total"]
    assert set(facets["distance"]) <= {"0-10", "10-30", "30-60", "60+"}
    assert facets["contract"]["apprentissage"] >= body["totals"]["formations"]


def test_pages_never_repeat_an_item_and_cover_the_results(client):
    query = f"romes=K2204&{LYON}&radius=120&page_size=10"
    first = _get(client, query)
    seen: list[str] = []
    for page in range(1, first["pages"] + 1):
        seen.extend(i["kind"] + i["id"] for i in _get(client, f"{query}&page={page}")["items"])
    assert len(seen) == len(set(seen)) == first["total"]
    assert _get(client, f"{query}&page={first['pages'] + 1}")["items"] == []


def test_an_empty_located_search_widens_the_radius_and_says_so(api_settings, refs, tmp_path):
    from app.factory import create_app
    from app.search.embedded import EmbeddedEngine
    from mappings import formation
    from mappings.common import Place

    engine = EmbeddedEngine(tmp_path / "index")
    record = formation.Formation(key="F1", title="CAP Boulanger", romes=["D1102"], rome_index_codes=["D1102"],
                                 place=Place(45.0, 5.0, city="Quelque part"))
    with engine.new_generation("formation") as builder:
        builder.add([formation.to_document(record)])
    client = create_app(api_settings, engine=engine).test_client()
    # 0.405° of latitude north is about 45 km: nothing at 30 km, found once widened to 50 km.
    body = _get(client, "romes=D1102&latitude=45.405&longitude=5.0&radius=30")
    assert body["total"] == 1 and body["radius_km"] == 50
    assert body["warnings"][0]["code"] == "radius_widened" and "50" in body["warnings"][0]["message"]
    far = _get(client, "romes=D1102&latitude=47.0&longitude=5.0&radius=30")
    assert far["total"] == 0 and far["radius_km"] == 100 and far["warnings"]


def test_free_text_is_resolved_to_rome_codes(client, app):
    # The factory registers the métier index's resolver (app/metiers), so `q` needs no `romes`.
    assert app.extensions["lba.resolver"]("boulanger", limit=5)[0].code == "D1102"
    body = _get(client, "q=boulangere&" + LYON + "&radius=200")
    assert body["romes"][0]["code"] == "D1102" and body["items"]
    nothing = client.get("/api/v1/match?q=zzqxw")
    assert nothing.status_code == 400 and "q" in nothing.get_json()["error"]["details"]


def test_no_email_address_in_any_output(client):
    response = client.get("/api/v1/match?romes=D1102,M1805,K2204,D1108&page_size=100")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "@" not in text and "private" not in text
    assert len(response.get_json()["items"]) == 100


def test_match_by_insee_and_postcode(client):
    by_insee = _get(client, "romes=D1102&insee=69123&radius=100")
    by_postcode = _get(client, "romes=D1102&postcode=69001&radius=100")
    assert by_insee["place"]["label"] == "Lyon"
    assert by_postcode["place"]["insee"] in {"69123", "69381"}
    assert by_insee["items"] and all(i["distance_km"] <= 100 for i in by_insee["items"])


@pytest.mark.parametrize("path, kind", [("formations", "formation"), ("offers", "offer"),
                                        ("companies", "company")])
def test_one_kind_endpoints(client, path, kind):
    response = client.get(f"/api/v1/{path}?romes=D1102,M1805,K2204&{LYON}&radius=200&kinds=formations")
    assert response.status_code == 200
    body = response.get_json()
    assert body["items"] and {i["kind"] for i in body["items"]} == {kind}
    assert list(body["totals"]) == [path]


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
    ("romes=D1102&sort=popularity", ["sort"]),
    ("romes=D1102&explain=maybe", ["explain"]),
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


def test_unknown_path_and_method_use_the_json_error_shape(client):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = client.post("/api/v1/match")
    assert wrong.status_code == 405 and wrong.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]


def test_engine_failure_is_a_503_not_a_stack_trace(api_settings, tmp_path):
    from app.factory import create_app
    from app.search.contract import EngineUnavailable
    from app.search.embedded import EmbeddedEngine

    class BrokenEngine(EmbeddedEngine):
        def rank(self, *args, **kwargs):
            raise EngineUnavailable("disk gone")

    client = create_app(api_settings, engine=BrokenEngine(tmp_path)).test_client()
    response = client.get("/api/v1/match?romes=D1102")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "engine_unavailable"
    assert "Traceback" not in response.get_data(as_text=True)
