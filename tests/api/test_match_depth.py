"""Paging stops at 1,000 results: deeper pages are a French 400, and the OpenAPI document says so."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/api/v1/match", "/api/v1/offers", "/api/v1/companies"])
def test_pages_beyond_1000_results_are_refused_in_french(client, path):
    answer = client.get(f"{path}?romes=D1102&latitude=45.76&longitude=4.83&page=500&page_size=100")
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_parameters"
    assert "1000" in error["details"]["page"][0] and "précisez" in error["details"]["page"][0]
    assert client.get(f"{path}?romes=D1102&latitude=45.76&longitude=4.83&page=11&page_size=100").status_code == 400


def test_the_last_reachable_page_is_served(client):
    answer = client.get("/api/v1/match?romes=D1102&latitude=45.76&longitude=4.83&radius=200&page=10&page_size=100")
    assert answer.status_code == 200
    assert answer.get_json()["page"] == 10


def test_openapi_document_states_the_depth_cap(client):
    document = client.get("/api/openapi.json").get_json()
    parameters = document["paths"]["/api/v1/match"]["get"]["parameters"]
    page = next(p for p in parameters if p["name"] == "page")
    assert "1000" in page.get("description", "") or "1 000" in page.get("description", "")
