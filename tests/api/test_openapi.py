"""The served OpenAPI document: valid, complete, readable, and every response conforms to it."""
from __future__ import annotations


def test_openapi_lists_every_route_and_parameter(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/match", "/api/v1/formations", "/api/v1/offers", "/api/v1/companies", "/api/v1/metiers",
                 "/api/v1/metiers/resolve", "/api/v1/communes", "/api/v3/jobs/search",
                 "/api/v1/offers/{offer_id}", "/api/v1/companies/{siret}", "/healthz", "/api/v1/statistiques"):
        assert path in spec["paths"], path
    names = {p["name"] for p in spec["paths"]["/api/v1/match"]["get"]["parameters"]}
    assert {"romes", "q", "latitude", "longitude", "insee", "postcode", "radius", "diploma", "contract", "kinds",
            "sort", "page", "page_size", "explain"} <= names
    assert "400" in spec["paths"]["/api/v1/match"]["get"]["responses"]
    # The partner write API, with the public document's request schemas.
    assert set(spec["paths"]["/api/v3/jobs/{job_id}"]) == {"get", "put"}
    post = spec["paths"]["/api/v3/jobs"]["post"]
    offer = post["requestBody"]["content"]["application/json"]["schema"]["properties"]["offer"]
    assert offer["required"] == ["title", "description"] and offer["properties"]["rome_codes"]["nullable"] is True
    assert "401" in post["responses"] and "/api/v3/jobs/export" in spec["paths"]
    # The statistics answer is described down to its breakdown by source and region.
    statistics = spec["paths"]["/api/v1/statistiques"]["get"]["responses"]["200"]["content"]["application/json"]
    breakdown = spec["components"]["schemas"]["Breakdown"]
    assert statistics["schema"] == {"$ref": "#/components/schemas/Statistics"}
    assert set(breakdown["required"]) == {"counted_at", "by_source", "by_region"}


def test_docs_page_is_readable_html(client):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "/api/v1/match" in page and "page_size" in page and "max 100" in page


# The property-based fuzz of the whole document (schemathesis, every check) is tests/api/test_openapi_fuzz.py.
