"""The recruiter's offers API: authentication, every field rule, ownership, lifecycle, search on both engines."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clock import FixedClock
from app.store import deposited_offers, get_store
from indexers import ImportStats, deposited
from tests.api.recruiter_setup import LYON, NOW, add_account, make_app, offer_body, published_engine, signed_in_client

ENGINES = ["embedded", "opensearch"]
MATCH = f"/api/v1/match?romes=D1102&latitude={LYON.latitude}&longitude={LYON.longitude}&radius=10&kinds=offers"


@pytest.fixture(scope="module")
def opensearch_url():
    """The session's OpenSearch node (tests/search/opensearch.py: reused when it answers)."""
    from tests.search.opensearch import session_node
    yield from session_node()


@pytest.fixture(params=ENGINES)
def engine(request, tmp_path):
    url = request.getfixturevalue("opensearch_url") if request.param == "opensearch" else None
    built = published_engine(request.param, tmp_path / "index", url)
    yield built
    built.close()
    if url:
        from tests.search.opensearch import drop_prefix
        drop_prefix(url, built.prefix)


@pytest.fixture
def sqlite_url(tmp_path):
    from app.store import upgraded_store
    url = f"sqlite:///{tmp_path / 'lba.sqlite'}"
    upgraded_store(url)
    return url


def _found(client, search_id: str) -> bool:
    response = client.get(MATCH)
    assert response.status_code == 200, response.get_json()
    return search_id in [item["id"] for item in response.get_json()["items"]]


def _within(seconds: float, condition) -> bool:  # type: ignore[no-untyped-def]
    """Whether `condition()` holds at some point within `seconds` (polled)."""
    deadline = time.monotonic() + seconds
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_an_offer_created_through_the_api_is_found_by_match_then_gone_once_cancelled(settings, sqlite_url, engine,
                                                                                     tmp_path):
    app = make_app(settings, sqlite_url, engine, tmp_path)
    client = signed_in_client(app, add_account(sqlite_url))
    created = client.post("/api/v1/recruiter/offers", json=offer_body())
    assert created.status_code == 201, created.get_json()
    offer = created.get_json()
    assert offer["status"] == "active" and offer["search_id"] == f"deposited-{offer['id']}"
    anonymous = app.test_client()
    assert _within(2.0, lambda: _found(anonymous, offer["search_id"]))

    # The next full rebuild reads the live rows: the offer survives it.
    with engine.new_generation("offer") as builder:
        builder.add(deposited.iter_documents(get_store(sqlite_url), app.extensions["lba.refs"],
                                             ImportStats("deposited")))
    assert _found(anonymous, offer["search_id"])

    cancelled = client.post(f"/api/v1/recruiter/offers/{offer['id']}/cancel", json={"reason": "plus_besoin"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert _within(2.0, lambda: not _found(anonymous, offer["search_id"]))
    with engine.new_generation("offer") as builder:  # and a rebuild does not bring it back
        builder.add(deposited.iter_documents(get_store(sqlite_url), app.extensions["lba.refs"],
                                             ImportStats("deposited")))
    assert not _found(anonymous, offer["search_id"])


@pytest.fixture
def app(settings, store_url, tmp_path):
    engine = published_engine("embedded", tmp_path / "index")
    built = make_app(settings, store_url, engine, tmp_path, clock=FixedClock(NOW))
    built.extensions["test.store_url"] = store_url
    yield built
    engine.close()


@pytest.fixture(scope="module")
def rules_app(settings, tmp_path_factory):
    """One app on SQLite for the field rules (schema and referentials: no store behaviour under test)."""
    from app.store import upgraded_store
    folder = tmp_path_factory.mktemp("rules")
    url = f"sqlite:///{folder / 'lba.sqlite'}"
    upgraded_store(url)
    engine = published_engine("embedded", folder / "index")
    built = make_app(settings, url, engine, folder, clock=FixedClock(NOW))
    built.extensions["test.account"] = add_account(url)
    yield built
    engine.close()


def test_every_recruiter_route_needs_a_session_and_answers_the_one_error_shape(rules_app):
    app = rules_app
    client = app.test_client()
    for method, path in [("get", "/api/v1/recruiter/offers"), ("post", "/api/v1/recruiter/offers"),
                         ("get", "/api/v1/recruiter/offers/1"), ("put", "/api/v1/recruiter/offers/1"),
                         ("post", "/api/v1/recruiter/offers/1/extend"), ("post", "/api/v1/recruiter/offers/1/filled"),
                         ("post", "/api/v1/recruiter/offers/1/cancel"), ("get", "/api/v1/recruiter/offers/1/cfas")]:
        response = getattr(client, method)(path, json={})
        assert response.status_code == 401, (method, path)
        error = response.get_json()["error"]
        assert error["code"] == "not_signed_in" and error["message"] and "request_id" in error


def test_a_signed_in_write_without_the_csrf_header_is_refused(rules_app):
    client = signed_in_client(rules_app, rules_app.extensions["test.account"])
    client.environ_base.pop("HTTP_X_CSRFTOKEN", None)
    response = client.post("/api/v1/recruiter/offers", json={})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"
    assert client.get("/api/v1/recruiter/offers").status_code == 200  # reads need no token


def test_a_stale_session_version_is_signed_out(app):
    store_url = app.extensions["test.store_url"]
    account = add_account(store_url)
    client = signed_in_client(app, {**account, "session_version": 0})
    assert client.get("/api/v1/recruiter/offers").status_code == 401


@pytest.mark.parametrize("overrides, field, words", [
    ({"appellation": ""}, "appellation", "métier"),
    ({"rome": "Z9999"}, "rome", "ROME"),
    ({"rome": "A1234"}, "rome", "inconnu"),
    ({"rome": "K2202", "appellation_code": ""}, "rome", "ne peut pas faire l'objet"),
    ({"appellation_code": "11573", "rome": "M1805"}, "appellation", "ne correspond pas"),
    ({"appellation_code": "99999999"}, "appellation", "inconnu"),
    ({"contract_types": []}, "contract_types", "au moins un"),
    ({"contract_types": ["cdi"]}, "contract_types", "inconnu"),
    ({"diploma_level": "9"}, "diploma_level", "inconnu"),
    ({"start_asap": False}, "start_date", "date de début"),
    ({"start_asap": False, "start_date": "2026-03-01"}, "start_date", "passée"),
    ({"start_asap": False, "start_date": "2028-03-03"}, "start_date", "deux ans"),
    ({"start_asap": False, "start_date": "demain"}, "start_date", "Date invalide"),
    ({"duration_months": 5}, "duration_months", "6 à 36"),
    ({"duration_months": 37}, "duration_months", "6 à 36"),
    ({"positions": 0}, "positions", "Au moins un"),
    ({"rhythm": "x" * 101}, "rhythm", "100"),
    ({"rhythm": "voir https://exemple.fr"}, "rhythm", "adresses web"),
    ({"description": "Trop court"}, "description", "30"),
    ({"description": "Écrivez à rh@fournil.test pour postuler à cette offre"}, "description", "e-mail"),
    ({"description": "Tous les détails sur www.fournil.test, venez nombreux"}, "description", "web"),
    ({"questions": ["a", "b", "c", "d"]}, "questions", "3 questions"),
    ({"questions": ["  "]}, "questions", "vide"),
    ({"cfa_partner_company_id": 3}, "cfa_partner_company_id", "CFA"),
])
def test_each_rule_has_a_french_message_on_its_field(rules_app, overrides, field, words):
    client = signed_in_client(rules_app, rules_app.extensions["test.account"])
    response = client.post("/api/v1/recruiter/offers", json=offer_body(**overrides))
    assert response.status_code == 400, response.get_json()
    details = response.get_json()["error"]["details"]
    assert field in details, details
    assert words in str(details[field]), details


def test_limits_that_are_allowed(rules_app):
    client = signed_in_client(rules_app, rules_app.extensions["test.account"])
    body = offer_body(start_asap=False, start_date="2026-03-02", duration_months=6, rhythm="x" * 100,
                      description="", questions=["Q1 ?", "Q2 ?", "Q3 ?"], contract_types=[
                          "professionnalisation", "apprentissage"], appellation_code="")
    response = client.post("/api/v1/recruiter/offers", json=body)
    assert response.status_code == 201, response.get_json()
    offer = response.get_json()
    assert offer["start_date"] == "2026-03-02" and offer["contract_types"] == ["apprentissage", "professionnalisation"]
    assert client.post("/api/v1/recruiter/offers", json=offer_body(
        start_asap=False, start_date="2028-03-02")).status_code == 201  # today + 2 years, Paris


def test_an_offer_of_a_pending_account_waits_and_is_not_searchable(app):
    store_url = app.extensions["test.store_url"]
    client = signed_in_client(app, add_account(store_url, status="pending"))
    offer = client.post("/api/v1/recruiter/offers", json=offer_body()).get_json()
    assert offer["status"] == "pending" and offer["status_label"] == "En attente de validation"
    engine = app.extensions["lba.engine"]
    assert engine.get_many("offer", [offer["search_id"]]) == {}
    extend = client.post(f"/api/v1/recruiter/offers/{offer['id']}/extend")
    assert extend.status_code == 409 and extend.get_json()["error"]["code"] == "offer_pending"


def test_the_list_shows_statuses_reasons_counts_and_another_accounts_offer_is_404(app):
    store_url = app.extensions["test.store_url"]
    client = signed_in_client(app, add_account(store_url))
    other = signed_in_client(app, add_account(store_url, email="rh@autre.test"))
    ids = [client.post("/api/v1/recruiter/offers", json=offer_body()).get_json()["id"] for _ in range(4)]
    assert client.post(f"/api/v1/recruiter/offers/{ids[0]}/filled").get_json()["status_reason"] == "filled"
    cancelled = client.post(f"/api/v1/recruiter/offers/{ids[1]}/cancel",
                            json={"reason": "autre", "comment": "Poste supprimé"}).get_json()
    assert cancelled["status_reason_label"] == "Autre motif — Poste supprimé"
    assert client.post(f"/api/v1/recruiter/offers/{ids[1]}/cancel", json={"reason": "autre"}).status_code == 409
    assert client.post(f"/api/v1/recruiter/offers/{ids[2]}/cancel", json={}).get_json()["error"]["details"] == {
        "reason": ["Choisissez un motif d'annulation."]}
    # The 80-application rule closes an offer the way app/services/applications.py does.
    with get_store(store_url).begin() as conn:
        conn.execute(sa.update(deposited_offers).where(deposited_offers.c.id == ids[3])
                     .values(status="cancelled", application_count=80))
    listed = {o["id"]: o for o in client.get("/api/v1/recruiter/offers").get_json()["offers"]}
    assert [listed[i]["status"] for i in ids] == ["filled", "cancelled", "active", "cancelled"]
    assert listed[ids[3]]["status_reason"] == "max_applications"
    assert "80 candidatures" in listed[ids[3]]["status_reason_label"] and listed[ids[3]]["application_count"] == 80
    for method, suffix in [("get", ""), ("put", ""), ("post", "/extend"), ("post", "/filled"), ("post", "/cancel"),
                           ("get", "/cfas")]:
        response = getattr(other, method)(f"/api/v1/recruiter/offers/{ids[2]}{suffix}",
                                          json=offer_body() if method == "put" else {"reason": "autre"})
        assert response.status_code == 404, (method, suffix)
    assert other.get("/api/v1/recruiter/offers").get_json() == {"offers": []}


def test_put_edits_and_extend_resets_expiry_count_and_reminder_marks(app):
    store_url = app.extensions["test.store_url"]
    clock = app.extensions["lba.clock"]
    client = signed_in_client(app, add_account(store_url))
    offer = client.post("/api/v1/recruiter/offers", json=offer_body()).get_json()
    assert offer["expires_at"] == "2026-05-02T09:00:00Z"
    edited = client.put(f"/api/v1/recruiter/offers/{offer['id']}", json=offer_body(positions=3, title="Boulanger H/F"))
    assert edited.status_code == 200 and edited.get_json()["positions"] == 3
    assert edited.get_json()["title"] == "Boulanger H/F" and edited.get_json()["expires_at"] == offer["expires_at"]
    with get_store(store_url).begin() as conn:
        conn.execute(sa.update(deposited_offers).where(deposited_offers.c.id == offer["id"])
                     .values(reminded_7_at=NOW, reminded_1_at=NOW))
    clock.set(NOW + timedelta(days=50))
    extended = client.post(f"/api/v1/recruiter/offers/{offer['id']}/extend").get_json()
    assert extended["expires_at"] == "2026-06-21T09:00:00Z" and extended["prolongation_count"] == 1
    with get_store(store_url).connect() as conn:
        row = conn.execute(sa.select(deposited_offers).where(deposited_offers.c.id == offer["id"])).mappings().one()
    assert row["reminded_7_at"] is None and row["reminded_1_at"] is None
    clock.set(NOW)


def test_a_cfa_publishes_for_one_of_its_partner_companies_only(app):
    from app.store import cfa_partner_companies

    store_url = app.extensions["test.store_url"]
    cfa = add_account(store_url, email="rel-ent@cfa.test", kind="cfa", company_name="CFA de Lyon")
    with get_store(store_url).begin() as conn:
        partner = conn.execute(sa.insert(cfa_partner_companies).values(
            cfa_account_id=cfa["id"], siret="44444444400044", company_name="Pâtisserie Bellecour",
            address="1 place Bellecour", postcode="69002", city="Lyon", insee="69382", latitude=45.757,
            longitude=4.832, naf="10.71D", naf_label="Pâtisserie", size="3-5", opco="OPCO EP",
            email="patron@bellecour.test", created_at=NOW)).inserted_primary_key[0]
    client = signed_in_client(app, cfa)
    missing = client.post("/api/v1/recruiter/offers", json=offer_body())
    assert "cfa_partner_company_id" in missing.get_json()["error"]["details"]
    other = add_account(store_url, email="autre@cfa.test", kind="cfa")
    assert signed_in_client(app, other).post("/api/v1/recruiter/offers", json=offer_body(
        cfa_partner_company_id=partner)).status_code == 400
    offer = client.post("/api/v1/recruiter/offers", json=offer_body(cfa_partner_company_id=partner)).get_json()
    assert offer["company_name"] == "Pâtisserie Bellecour" and offer["cfa_partner_company_id"] == partner
    with get_store(store_url).connect() as conn:
        row = conn.execute(sa.select(deposited_offers).where(deposited_offers.c.id == offer["id"])).mappings().one()
    assert row["company_siret"] == "44444444400044" and row["apply_email"] == "patron@bellecour.test"
    assert row["department"] == "69" and row["latitude"] == 45.757


def test_the_openapi_document_describes_the_recruiter_operations(rules_app):
    spec = rules_app.test_client().get("/api/openapi.json").get_json()
    paths = spec["paths"]
    for path in ["/api/v1/recruiter/offers", "/api/v1/recruiter/offers/{offer_id}",
                 "/api/v1/recruiter/offers/{offer_id}/extend", "/api/v1/recruiter/offers/{offer_id}/filled",
                 "/api/v1/recruiter/offers/{offer_id}/cancel", "/api/v1/recruiter/offers/{offer_id}/cfas"]:
        assert path in paths
    assert set(paths["/api/v1/recruiter/offers"]) == {"get", "post"}
    assert "401" in paths["/api/v1/recruiter/offers"]["get"]["responses"]


def test_the_cfa_endpoints_propose_nearby_cfas_and_record_the_picks(app):
    store_url = app.extensions["test.store_url"]
    client = signed_in_client(app, add_account(store_url, status="pending"))
    offer = client.post("/api/v1/recruiter/offers", json=offer_body()).get_json()
    proposed = client.get(f"/api/v1/recruiter/offers/{offer['id']}/cfas").get_json()
    assert [c["name"] for c in proposed["cfas"]] == ["CFA des métiers de bouche", "École du pain"]
    assert all("email" not in c for c in proposed["cfas"])
    refused = client.post(f"/api/v1/recruiter/offers/{offer['id']}/cfas", json={"cfa_sirets": ["19750000400014"]})
    assert refused.status_code == 400 and "cfa_sirets" in refused.get_json()["error"]["details"]
    assert client.post(f"/api/v1/recruiter/offers/{offer['id']}/cfas", json={"cfa_sirets": "x"}).status_code == 400
    chosen = client.post(f"/api/v1/recruiter/offers/{offer['id']}/cfas", json={"cfa_sirets": ["19690000200012"]})
    assert chosen.status_code == 200
    assert chosen.get_json()["chosen"] == [{"siret": "19690000200012", "name": "École du pain", "notified": False}]


def test_validating_the_account_through_the_accounts_service_publishes_its_pending_offers(app):
    """The factory wires RecruiterOffers.on_account_validated into the accounts service's validation."""
    store_url = app.extensions["test.store_url"]
    account = add_account(store_url, status="pending")
    client = signed_in_client(app, account)
    offer = client.post("/api/v1/recruiter/offers", json=offer_body()).get_json()
    client.post(f"/api/v1/recruiter/offers/{offer['id']}/cfas", json={"cfa_sirets": ["19690000100011"]})
    engine = app.extensions["lba.engine"]
    assert offer["status"] == "pending" and engine.get_many("offer", [offer["search_id"]]) == {}
    accounts = app.extensions["lba.accounts"]
    admin = accounts.grant_admin("admin@lba.test")
    accounts.validate(admin, account["id"])
    shown = client.get(f"/api/v1/recruiter/offers/{offer['id']}").get_json()
    assert shown["status"] == "active" and shown["expires_at"] == "2026-05-02T09:00:00Z"
    assert offer["search_id"] in engine.get_many("offer", [offer["search_id"]])  # indexed after the commit
    from app.store import outbox
    with get_store(store_url).connect() as conn:
        kinds = [r[0] for r in conn.execute(sa.select(outbox.c.to_address).where(outbox.c.kind == "offer.delegation"))]
    assert kinds == ["contact@cfa-bouche.test"]
