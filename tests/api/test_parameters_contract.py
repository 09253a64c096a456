"""Numbers in ASCII digits only, empty `romes` as the OpenAPI document says, and its cross-parameter rules."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

LYON = "latitude=45.764&longitude=4.8357"


@pytest.mark.parametrize("path, query, field", [
    ("/api/v1/match", "romes=D1102&latitude=٤٥&longitude=4.8", "latitude"),  # Arabic-Indic digits
    ("/api/v1/match", "romes=D1102&latitude=4_5&longitude=4.8", "latitude"),  # float() takes underscores
    ("/api/v1/match", "romes=D1102&latitude=45&longitude=%EF%BC%94", "longitude"),  # fullwidth 4
    ("/api/v1/match", "romes=D1102&latitude=%2045&longitude=4.8", "latitude"),  # float() strips spaces
    ("/api/v1/match", "romes=D1102&radius=٣٠", "radius"),
    ("/api/v1/match", "romes=D1102&page=٢", "page"),
    ("/api/v1/match", "romes=D1102&page_size=1_0", "page_size"),
    ("/api/v1/match", "romes=D1102&diploma=٣", "diploma"),
    ("/api/v1/match", "romes=D١١٠٢", "romes"),
    ("/api/v1/match", "romes=D1102&postcode=٦٩٠٠٢", "postcode"),
    ("/api/v1/match", "romes=D1102&insee=٦٩١٢٣", "insee"),
    ("/api/v1/offers", "romes=D1102&latitude=٤٥&longitude=٤", "latitude"),
    ("/api/v3/jobs/search", "romes=D1102&latitude=٤٥&longitude=4.8", "latitude"),
    ("/api/v3/jobs/search", f"romes=D1102&{LYON}&radius=2_0", "radius"),
    ("/api/v3/jobs/search", "romes=D1102&departements=٦٩", "departements"),
    ("/api/v1/communes", "q=lyon&limit=٣", "limit"),
    ("/api/v1/metiers", "q=boulanger&limit=٣", "limit"),
])
def test_non_ascii_digits_are_refused(client, path, query, field):
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["details"]


def test_a_siret_in_arabic_indic_digits_is_refused(client):
    response = client.get("/api/v1/companies/" + "١٢٣٤٥٦٧٨٩٠٠٠١١")
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == {"siret": ["Le SIRET compte 14 chiffres."]}


@pytest.mark.parametrize("query", ["romes=D1102&latitude=45.764&longitude=4.8357", "romes=D1102&radius=1e1",
                                   "romes=D1102&latitude=-45.5&longitude=%2B4.8", "romes=D1102&page=2"])
def test_ascii_numbers_still_work(client, query):
    assert client.get(f"/api/v1/match?{query}").status_code == 200


def test_empty_romes_follows_each_document(client):
    spec = client.get("/api/openapi.json").get_json()
    match_romes = next(p for p in spec["paths"]["/api/v1/match"]["get"]["parameters"] if p["name"] == "romes")
    assert match_romes["schema"]["minLength"] == 1  # v1: documented as refused, and refused
    assert client.get("/api/v1/match?romes=&q=boulanger").status_code == 400
    v3_romes = next(p for p in spec["paths"]["/api/v3/jobs/search"]["get"]["parameters"] if p["name"] == "romes")
    assert "minLength" not in v3_romes["schema"] and "vide" in v3_romes["description"].lower()
    assert client.get(f"/api/v3/jobs/search?romes=&{LYON}").status_code == 200  # v3: their null


def _constraints(spec, path):
    return Draft202012Validator(spec["paths"][path]["get"]["x-parameter-constraints"])


@pytest.mark.parametrize("params, valid", [
    ({"romes": "D1102"}, True), ({"q": "boulanger"}, True), ({}, False), ({"latitude": "1"}, False),
    ({"romes": "D1102", "latitude": "45", "longitude": "4"}, True),
    ({"romes": "D1102", "latitude": "45", "longitude": "4", "insee": "69123"}, False),
    ({"romes": "D1102", "insee": "69123", "postcode": "69002"}, False),
    ({"romes": "D1102", "latitude": "45"}, False),
])
def test_the_document_says_romes_or_q_and_one_place(client, params, valid):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/match"]["get"]
    assert "romes" in operation["description"] and "Un seul lieu" in operation["description"]
    assert _constraints(spec, "/api/v1/match").is_valid(params) is valid
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status = client.get(f"/api/v1/match?{query}").status_code
    # The service agrees with the rule it publishes (q may still be refused for its text, never accepted if invalid).
    assert (status == 200) is valid or (valid and "q" in params and status == 400)


@pytest.mark.parametrize("params, valid", [
    ({"romes": "D1102"}, True), ({"rncp": "RNCP12345"}, True), ({"latitude": "45", "longitude": "4"}, True),
    ({}, False), ({"latitude": "45"}, False), ({"romes": "D1102", "longitude": "4"}, False),
])
def test_the_v3_document_says_job_or_place(client, params, valid):
    spec = client.get("/api/openapi.json").get_json()
    assert _constraints(spec, "/api/v3/jobs/search").is_valid(params) is valid
    if not valid:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        assert client.get(f"/api/v3/jobs/search?{query}").status_code == 400


def test_the_document_lists_the_size_limits_and_bearer(client):
    spec = client.get("/api/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        if path.startswith("/api/") and "get" in operations:  # query strings and headers of the read API
            assert {"414", "431"} <= set(operations["get"]["responses"]), path
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["bearer"][
            "description"]}
    assert "6144" in spec["info"]["description"]
