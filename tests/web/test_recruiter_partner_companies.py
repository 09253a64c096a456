"""CFA partner companies through HTTP (pages and JSON API, both databases): SIRET checked in Sirene, offers for them."""
from __future__ import annotations

from dataclasses import replace
from html import unescape

import pytest

from tests.api.recruiter_setup import LYON, add_account, make_app, offer_body, published_engine, signed_in_client
from tests.services import company_search_server as api
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures: every test runs on both databases

PAGE = "/espace-pro/entreprises-partenaires"
API = "/api/v1/recruiter/partner-companies"
MATCH = f"/api/v1/match?romes=D1102&latitude={LYON.latitude}&longitude={LYON.longitude}&radius=10&kinds=offers"
FORM = {"appellation": "Boulanger / Boulangère", "appellation_code": "11573", "rome": "D1102",
        "contract_types": "apprentissage", "diploma_level": "3", "start_asap": "1", "duration_months": "24",
        "positions": "1", "description": "Fabrication du pain, des viennoiseries et vente en boutique."}


@pytest.fixture
def server():
    with api.CompanySearchServer() as running:
        yield running


@pytest.fixture
def app(settings, server, store_url, tmp_path):  # noqa: F811
    engine = published_engine("embedded", tmp_path / "index")
    # The real clock: /api/v1/match hides offers whose expiry has passed by the wall clock.
    built = make_app(replace(settings, company_search_url=server.url), store_url, engine, tmp_path)
    built.extensions["lba.accounts"].companies.session.adapters["http://"].max_retries.backoff_factor = 0.01
    built.extensions["test.store_url"] = store_url
    yield built
    engine.close()


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return unescape(response.get_data(as_text=True))


def _cfa(app, email: str = "direction@cfa-bois.fr"):  # type: ignore[no-untyped-def]
    return add_account(app.extensions["test.store_url"], email=email, kind="cfa", siret=api.EDUCATION,
                       company_name="CFA du Bois", naf="85.59A")


def test_a_cfa_adds_a_partner_company_on_its_page_and_refused_ones_keep_what_was_typed(app):
    client = signed_in_client(app, _cfa(app))
    assert "/espace-pro/entreprises-partenaires" in _text(client.get("/espace-pro/tableau-de-bord"))
    page = client.get(PAGE)
    assert page.status_code == 200 and "Vous n'avez pas encore d'entreprise partenaire" in _text(page)
    assert "SIRET de l'entreprise" in _text(page) and 'name="csrf_token"' in page.text
    for siret, message in [(api.CLOSED, "Cet établissement est fermé selon la base Sirene"),
                           (api.EDUCATION, "Cet établissement relève de l'enseignement (code NAF 85)"),
                           ("41234567000018", "SIRET")]:
        refused = client.post(PAGE, data={"siret": siret, "email": "rh@exemple.fr", "phone": "04 78 00 00 00"})
        html = _text(refused)
        assert refused.status_code == 400 and message in html, html
        assert f'value="{siret}"' in html and 'value="rh@exemple.fr"' in html and 'value="04 78 00 00 00"' in html
    bad_contact = client.post(PAGE, data={"siret": api.VALID, "email": "pas-une-adresse", "phone": "12"})
    assert bad_contact.status_code == 400 and "Adresse e-mail invalide" in _text(bad_contact)
    assert "Numéro de téléphone français" in _text(bad_contact) and 'value="pas-une-adresse"' in _text(bad_contact)
    added = client.post(PAGE, data={"siret": "412 345 670 00019", "email": "Contact@Boulangerie-Durand.fr",
                                    "phone": "04 78 00 00 00"})
    assert added.status_code == 302
    listing = _text(client.get(added.headers["Location"]))
    assert "Entreprise « BOULANGERIE DURAND » ajoutée" in listing
    assert api.VALID in listing and "contact@boulangerie-durand.fr" in listing
    assert "12 RUE DE LA REPUBLIQUE" in listing


def test_a_company_account_gets_a_french_403(app):
    client = signed_in_client(app, add_account(app.extensions["test.store_url"]))
    page = client.get(PAGE)
    assert page.status_code == 403 and "Seul un compte CFA gère des entreprises partenaires" in _text(page)
    assert client.post(PAGE, data={"siret": api.VALID}).status_code == 403
    assert "entreprises-partenaires" not in _text(client.get("/espace-pro/tableau-de-bord"))
    refused = client.get(API)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert client.post(API, json={"siret": api.VALID}).status_code == 403
    assert app.test_client().get(PAGE).status_code == 302  # no session: the sign-in page


def test_the_offer_form_of_a_cfa_without_partner_links_to_the_page_and_refuses(app):
    client = signed_in_client(app, _cfa(app))
    html = _text(client.get("/espace-pro/offres/nouvelle"))
    assert "ajoutez d'abord une entreprise partenaire" in html and PAGE in html
    refused = client.post("/espace-pro/offres/nouvelle", data=FORM)
    assert refused.status_code == 400
    assert "Choisissez l'entreprise pour laquelle vous publiez l'offre." in _text(refused)


def test_a_cfa_publishes_from_the_form_for_its_partner_company_and_the_offer_is_found(app):
    client = signed_in_client(app, _cfa(app))
    client.post(PAGE, data={"siret": api.VALID, "email": "contact@boulangerie-durand.fr"})
    partner = client.get(API).get_json()["partner_companies"][0]
    form = _text(client.get("/espace-pro/offres/nouvelle"))
    assert 'name="cfa_partner_company_id"' in form and "BOULANGERIE DURAND (LYON)" in form
    missing = client.post("/espace-pro/offres/nouvelle", data=FORM)
    assert missing.status_code == 400 and "Choisissez l'entreprise pour laquelle" in _text(missing)
    assert 'value="Boulanger / Boulangère"' in _text(missing)  # nothing typed is lost
    created = client.post("/espace-pro/offres/nouvelle", data={**FORM, "cfa_partner_company_id": str(partner["id"])})
    assert created.status_code == 302, _text(created)
    offer = client.get("/api/v1/recruiter/offers").get_json()["offers"][0]
    assert offer["cfa_partner_company_id"] == partner["id"] and offer["company_name"] == "BOULANGERIE DURAND"
    assert offer["city"] == partner["city"] and offer["status"] == "active"
    items = app.test_client().get(MATCH).get_json()["items"]
    found = [item for item in items if item["id"] == offer["search_id"]]
    assert found, items
    assert api.VALID in str(found[0]) and "BOULANGERIE DURAND" in str(found[0])


def test_the_json_api_adds_lists_refuses_and_keeps_partners_per_cfa(app):
    client = signed_in_client(app, _cfa(app))
    assert app.test_client().get(API).status_code == 401
    assert client.get(API).get_json() == {"partner_companies": []}
    closed = client.post(API, json={"siret": api.CLOSED})
    assert closed.status_code == 400
    assert "fermé" in closed.get_json()["error"]["details"]["siret"][0]
    education = client.post(API, json={"siret": api.EDUCATION})
    assert "NAF 85" in education.get_json()["error"]["details"]["siret"][0]
    assert client.post(API, json={"siret": "123"}).status_code == 400
    assert client.post(API, json={"siret": api.VALID, "extra": 1}).status_code == 400
    bad_contact = client.post(API, json={"siret": api.VALID, "email": "pas-une-adresse", "phone": "abc"})
    assert set(bad_contact.get_json()["error"]["details"]) == {"email", "phone"}
    added = client.post(API, json={"siret": api.VALID, "phone": "04 78 00 00 00"})
    assert added.status_code == 201, added.get_json()
    body = added.get_json()
    assert body["siret"] == api.VALID and body["company_name"] == "BOULANGERIE DURAND" and body["city"] == "LYON"
    assert client.post(API, json={"siret": api.VALID}).get_json()["id"] == body["id"]  # once per CFA
    assert [p["siret"] for p in client.get(API).get_json()["partner_companies"]] == [api.VALID]
    other = signed_in_client(app, _cfa(app, "direction@autre-cfa.fr"))
    assert other.get(API).get_json() == {"partner_companies": []}
    stolen = other.post("/api/v1/recruiter/offers", json=offer_body(cfa_partner_company_id=body["id"]))
    assert stolen.status_code == 400 and "cfa_partner_company_id" in stolen.get_json()["error"]["details"]
    form = other.post("/espace-pro/offres/nouvelle", data={**FORM, "cfa_partner_company_id": str(body["id"])})
    assert form.status_code == 400
    assert other.get("/api/v1/recruiter/offers").get_json() == {"offers": []}


def test_writes_need_the_csrf_header(app):
    client = signed_in_client(app, _cfa(app))
    client.environ_base.pop("HTTP_X_CSRFTOKEN", None)
    assert client.post(API, json={"siret": api.VALID}).status_code == 400
    assert client.get(API).status_code == 200


def test_the_operations_are_documented(app):
    paths = app.test_client().get("/api/openapi.json").get_json()["paths"]
    assert set(paths[API]) == {"get", "post"}
    assert "403" in paths[API]["post"]["responses"]
