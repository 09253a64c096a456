"""GET one formation, offer or company: 200, 404, 410 for closed offers, 400 for a malformed SIRET."""
from __future__ import annotations

from datetime import date, timedelta

from mappings import offer
from mappings.common import Place


def test_each_kind_by_id(client, documents):
    for kind, path in (("formation", "formations"), ("company", "companies")):
        doc = next(d for d in documents if d["kind"] == kind)
        response = client.get(f"/api/v1/{path}/{doc['id']}")
        assert response.status_code == 200
        body = response.get_json()
        assert body["id"] == doc["id"] and body["kind"] == kind and body["title"] == doc["title"]
        assert "private" not in body and "@" not in response.get_data(as_text=True)
    open_offer = next(d for d in documents if d["kind"] == "offer" and d["expires_at"] >= date.today().isoformat())
    response = client.get(f"/api/v1/offers/{open_offer['id']}")
    assert response.status_code == 200 and response.get_json()["apply"]["has_email"] is True


def test_absent_ids_are_404_with_the_error_shape(client):
    for path in ("formations/nope", "offers/france_travail-NOPE", "companies/12345678901234"):
        response = client.get(f"/api/v1/{path}")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_expired_or_filled_offers_are_410(client, engine):
    today = date.today()
    expired = offer.Offer(source="deposited", source_id="OLD", title="Vieille offre", romes=["D1102"],
                          rome_index_codes=["D1102"], place=Place(45.0, 5.0),
                          published_at=(today - timedelta(days=90)).isoformat(),
                          expires_at=(today - timedelta(days=1)).isoformat(), contract_types=["apprentissage"])
    filled = offer.Offer(**{**expired.__dict__, "source_id": "FILLED", "status": "filled",
                            "expires_at": (today + timedelta(days=30)).isoformat()})
    engine.upsert("offer", [offer.to_document(expired), offer.to_document(filled)])
    try:
        for doc_id, status in (("deposited-OLD", "active"), ("deposited-FILLED", "filled")):
            response = client.get(f"/api/v1/offers/{doc_id}")
            assert response.status_code == 410
            error = response.get_json()["error"]
            assert error["code"] == "gone" and error["details"]["status"] == status
    finally:
        engine.delete("offer", ["deposited-OLD", "deposited-FILLED"])


def test_malformed_siret_is_400(client):
    response = client.get("/api/v1/companies/123")
    assert response.status_code == 400
    assert list(response.get_json()["error"]["details"]) == ["siret"]
