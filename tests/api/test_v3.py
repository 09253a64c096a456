"""GET /api/v3/jobs/search: their response schema, their parameters, our filters, order and privacy; mapping units."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from app.config import Settings
from app.search.geo import distance_km
from app.services import v3_adapter
from app.services.v3_adapter import (
    EMAIL_MASK,
    AdapterContext,
    Filters,
    NotRepresentable,
    date_time,
    department_matches,
    job_offer,
    mask_emails,
    opco_spellings,
    partner_label,
    recruiter,
    search,
    website_url,
)
from mappings import company, offer
from mappings.common import Place
from tests.api.conftest import CODES
from tests.factories import make_documents

SEARCH = "/api/v3/jobs/search"
LYON = "latitude=45.764&longitude=4.8357"
ALL_ROMES = "romes=" + ",".join(CODES)
AKTO = "AKTO / Opco entreprises et salariés des services à forte intensité de main d'oeuvre"
OPENAPI = "lba_openapi_2026.json"
# JSON pointer of the 200 response schema of their job search inside their OpenAPI document.
RESPONSE_POINTER = "#/paths/~1v3~1jobs~1search/get/responses/200/content/application~1json/schema"


# --- Their response schema -------------------------------------------------------------------------

def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats only constrain strings
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc) and not re.search(r"\s", value)


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats only constrain strings
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value):
        return False
    datetime.fromisoformat(value)
    return True


# Checked by hand so that the test needs no optional format packages: jsonschema skips a format it
# has no checker for, which would make "uri" and "date-time" silently pass.
FORMATS = FormatChecker(formats=())
FORMATS.checks("uri")(_uri)
FORMATS.checks("date-time", raises=ValueError)(_date_time)


def _validator(document: dict[str, Any]) -> Draft202012Validator:
    """Their 200 response schema, its `$ref`s resolved inside their whole OpenAPI document."""
    registry = Registry().with_resource("urn:lba-openapi", Resource.from_contents(document, DRAFT202012))
    schema = {"$ref": f"urn:lba-openapi{RESPONSE_POINTER}"}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry, format_checker=FORMATS)


def _nullable_enums(node: Any, path: str = "") -> list[str]:
    """Add null to every enum whose `type` allows null, in place; returns the paths it changed."""
    fixed = []
    if isinstance(node, dict):
        types = node.get("type")
        if "enum" in node and isinstance(types, list) and "null" in types and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
            fixed.append(path)
        for key, value in node.items():
            fixed.extend(_nullable_enums(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for value in node:
            fixed.extend(_nullable_enums(value, path))
    return fixed


@pytest.fixture(scope="module")
def their_document(settings: Settings) -> dict[str, Any]:
    document = json.loads((Path(settings.data_dir) / "samples" / OPENAPI).read_text(encoding="utf-8"))
    assert "/v3/jobs/search" in document["paths"]
    return document


@pytest.fixture(scope="module")
def strict_validator(their_document) -> Draft202012Validator:
    """Their schema exactly as published."""
    return _validator(their_document)


@pytest.fixture(scope="module")
def response_validator(their_document) -> Draft202012Validator:
    """Their schema with nullable enums accepting null, the one correction we make.

    Their generator writes a nullable enum as `type: [string, null]` plus an enum without null, so
    strictly null is refused where the type allows it. Only `contract.remote` is affected for us:
    we answer null there (unknown), and "inconnu" for an unknown OPCO, which needs no correction.
    """
    document = json.loads(json.dumps(their_document))
    response = document["paths"]["/v3/jobs/search"]["get"]["responses"]["200"]
    fixed = _nullable_enums(response)
    assert sorted(p.split("/properties/", 1)[1] for p in fixed) == [
        "jobs/items/properties/contract/properties/remote",
        "jobs/items/properties/workplace/properties/domain/properties/opco",
        "recruiters/items/properties/workplace/properties/domain/properties/opco"]
    return _validator(document)


def _errors(validator: Draft202012Validator, body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


# --- Test data: the shared realistic documents plus a few hand-made ones around Lyon ---------------

def _offer(refs, today: date, source_id: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict(
        source="deposited", source_id=source_id, title="Apprenti boulanger", romes=["D1102"],
        rome_index_codes=refs.rome.index_codes(["D1102"]),
        place=Place(45.75, 4.85, address="3 quai Claude Bernard", city="Lyon", postcode="69007", department="69"),
        published_at=(today - timedelta(days=2)).isoformat(), expires_at=(today + timedelta(days=60)).isoformat(),
        contract_types=["apprentissage"], diploma_level=3, company_name="Boulangerie Exemple")
    values.update(fields)
    return offer.to_document(offer.Offer(**values))


def _company(refs, siret: str, place: Place, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict(siret=siret, name=f"Société {siret[-3:]}", place=place, rome_scores={"D1102": 95.0},
                                  rome_index_codes=refs.rome.index_codes(["D1102"]), naf="1071C",
                                  naf_label="Boulangerie et boulangerie-pâtisserie")
    values.update(fields)
    return company.to_document(company.Company(**values))


def hand_made_documents(refs, today: date) -> list[dict[str, Any]]:
    """Offers and companies carrying what the shared factory leaves empty: OPCO, departments, contacts."""
    return [
        _offer(refs, today, "X-LYON", title="Boulanger(ère) en apprentissage",
               place=Place(45.764, 4.8357, address="12 rue Mercière", city="Lyon", postcode="69002", department="69"),
               description="Fournil artisanal. Envoyez votre CV à recrutement@boulangerie-exemple.fr avant lundi.",
               start_date="2026-09-01", duration_months=24, positions=2, company_siret="12345678900011",
               company_naf="1071C", company_naf_label="Boulangerie", company_size="10 à 19 salariés",
               company_opco="AKTO", apply_url="mailto:recrutement@boulangerie-exemple.fr",
               apply_phone="04 78 00 00 00", apply_email="recrutement@boulangerie-exemple.fr"),
        _offer(refs, today, "X-VILLEURBANNE", source="france_travail",
               place=Place(45.771, 4.88, address="69 - VILLEURBANNE", city="Villeurbanne", postcode="69100",
                           department="69"),
               company_opco="Opco EP", apply_url="https://candidature.example.fr/offres/2",
               contract_types=["professionnalisation"], diploma_level=None),
        _offer(refs, today, "X-BOURG", source="france_travail",
               place=Place(46.205, 5.226, city="Bourg-en-Bresse", postcode="01000", department="01"),
               company_opco="Constructys"),
        _offer(refs, today, "X-AJACCIO", place=Place(41.9192, 8.7386, city="Ajaccio", postcode="20000",
                                                       department="2A")),
        _offer(refs, today, "X-SHORT", title="AB"),
        _offer(refs, today, "X-FILLED", status="filled", title="Offre pourvue"),
        _company(refs, "12345678900029", Place(45.76, 4.84, address="5 place Bellecour", city="Lyon",
                                               postcode="69002", department="69"),
                 opco=AKTO, website="www.patisserie-exemple.fr", email="contact@patisserie-exemple.fr",
                 phone="0478000001"),
        _company(refs, "12345678900037", Place(46.2, 5.22, city="Bourg-en-Bresse", postcode="01000",
                                               department="01"),
                 website="https://boulangerie.example.fr", email="bonjour@example.org"),
    ]


@pytest.fixture(scope="module")
def documents(refs):
    """Overrides conftest's documents for this module: the shared set plus the hand-made ones."""
    today = date.today()
    return make_documents(refs, 900, seed=12, codes=CODES, today=today) + hand_made_documents(refs, today)


@pytest.fixture(scope="module")
def by_id(documents) -> dict[str, dict[str, Any]]:
    return {doc["id"]: doc for doc in documents}


def _get(client, query: str) -> dict[str, Any]:
    response = client.get(f"{SEARCH}?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- Shape ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    f"romes=D1102,M1805&{LYON}&radius=200",
    f"{ALL_ROMES}",
    f"{ALL_ROMES}&target_diploma_level=3",
    f"romes=D1102&{LYON}&radius=0",
    f"romes=D1102&departements=69&departements=01&opco={AKTO}",
    f"romes=D1102&{LYON}&radius=50&partners_to_exclude=France Travail&elligibleHandicapFilter=false",
])
def test_responses_validate_against_their_response_schema(client, response_validator, query):
    body = _get(client, query)
    assert _errors(response_validator, body) == []
    assert body["jobs"] and body["recruiters"]
    assert list(body) == ["jobs", "recruiters", "warnings"]


def test_against_their_schema_as_published_only_remote_null_differs(client, strict_validator):
    body = _get(client, f"{ALL_ROMES}")
    errors = _errors(strict_validator, body)
    assert errors and all(re.fullmatch(r"jobs/\d+/contract/remote: None is not one of .*", e) for e in errors)
    assert len(errors) == len(body["jobs"])


def test_the_schema_check_is_not_vacuous(client, response_validator):
    body = _get(client, f"romes=D1102&{LYON}&radius=50")
    broken = json.loads(json.dumps(body))
    del broken["jobs"][0]["apply"]["url"]
    broken["jobs"][0]["offer"]["publication"]["creation"] = "2026-01-01"  # a date is not a date-time
    broken["recruiters"][0]["workplace"]["location"]["geopoint"]["extra"] = 1
    broken["recruiters"][0]["apply"]["url"] = "pas une adresse"
    errors = _errors(response_validator, broken)
    assert len(errors) == 4, errors
    assert any(e.startswith("jobs/0/apply") and "'url'" in e for e in errors)
    assert any(e.startswith("jobs/0/offer/publication/creation") for e in errors)


def test_a_full_offer_maps_every_field_we_have(client, by_id):
    jobs = _get(client, f"romes=D1102&{LYON}&radius=5")["jobs"]
    job = next(j for j in jobs if j["identifier"]["id"] == "deposited-X-LYON")
    assert job["identifier"] == {"id": "deposited-X-LYON", "partner_label": "offres_emploi_lba",
                                 "partner_job_id": "X-LYON"}
    assert job["workplace"]["siret"] == "12345678900011"
    assert job["workplace"]["domain"] == {"idcc": None, "opco": AKTO,
                                          "naf": {"code": "1071C", "label": "Boulangerie"}}
    assert job["workplace"]["location"] == {
        "address": "12 rue Mercière, 69002 Lyon",
        "geopoint": {"type": "Point", "coordinates": [4.8357, 45.764]}}
    # The apply URL was a mailto: our detail page replaces it; the phone was published with the offer.
    assert job["apply"]["url"] == "http://localhost:8000/offres/deposited-X-LYON"  # LBA_PUBLIC_BASE_URL's default
    assert job["apply"]["phone"] == "04 78 00 00 00" and job["apply"]["recipient_id"] is None
    assert job["contract"] == {"start": "2026-09-01T00:00:00.000Z", "duration": 24, "type": ["Apprentissage"],
                               "remote": None}
    assert job["offer"]["target_diploma"] == {"european": "3", "label": "CAP, BEP (Infrabac)"}
    assert job["offer"]["opening_count"] == 2 and job["offer"]["status"] == "Active"
    assert EMAIL_MASK in job["offer"]["description"]
    assert job["offer"]["publication"]["creation"] == by_id["deposited-X-LYON"]["published_at"] + "T00:00:00.000Z"


# --- Parameters ----------------------------------------------------------------------------------

@pytest.mark.parametrize("query, fields", [
    ("", ["romes"]),
    ("romes=", ["romes"]),
    ("romes=D1102&latitude=45.7", ["longitude"]),
    ("romes=D1102&longitude=4.8", ["latitude"]),
    ("romes=D1102&latitude=91&longitude=4.8", ["latitude"]),
    (f"romes=D1102&{LYON}&radius=201", ["radius"]),
    (f"romes=D1102&{LYON}&radius=-1", ["radius"]),
    ("romes=D1102&target_diploma_level=8", ["target_diploma_level"]),
    ("romes=D1102&target_diploma_level=bac", ["target_diploma_level"]),
    ("romes=D1102&rncp=RNCP34826", ["rncp"]),
    ("rncp=RNCP34826", ["rncp"]),  # well formed, no formation of the catalogue leads to it
    ("rncp=34826", ["rncp"]),
    ("rncp=RNCP٣٤٨٢٦", ["rncp"]),  # Arabic-Indic digits
    ("romes=D1102&elligibleHandicapFilter=true", ["elligibleHandicapFilter"]),  # no such data: refused
    ("romes=XX12", ["romes"]),
    ("romes=A9999", ["romes"]),  # well formed, not in the ROME referential
    ("romes=D1102&departements=6", ["departements"]),
    ("romes=D1102&opco=AKTO", ["opco"]),  # their enum wants the full label
    ("romes=D1102&elligibleHandicapFilter=peut-être", ["elligibleHandicapFilter"]),
    ("romes=bad&latitude=abc&longitude=2&radius=500&target_diploma_level=2",
     ["romes", "latitude", "radius", "target_diploma_level"]),
])
def test_bad_parameters_get_a_400_listing_every_one(client, query, fields):
    response = client.get(f"{SEARCH}?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameters"
    assert sorted(error["details"]) == sorted(fields)
    assert all(isinstance(m, str) and m for messages in error["details"].values() for m in messages)


def test_missing_romes_and_rncp_messages_say_what_to_do(client):
    for query in ("", "romes=", "romes=&rncp="):
        details = client.get(f"{SEARCH}?{query}").get_json()["error"]["details"]
        assert list(details) == ["romes"]
        assert "latitude" in details["romes"][0] and "/v3/jobs/export" in details["romes"][0]
    details = client.get(f"{SEARCH}?rncp=RNCP34826").get_json()["error"]["details"]
    assert "RNCP" in details["rncp"][0] and "catalogue" in details["rncp"][0]


def test_radius_zero_is_the_smallest_radius_we_take(client):
    body = _get(client, f"romes=D1102&{LYON}&radius=0")
    assert [j["identifier"]["id"] for j in body["jobs"]] == ["deposited-X-LYON"]
    for entry in body["jobs"] + body["recruiters"]:
        lon, lat = entry["workplace"]["location"]["geopoint"]["coordinates"]
        assert distance_km(45.764, 4.8357, lat, lon) <= 1.0
    assert body["warnings"] == []  # found within 1 km: no widening


def test_unknown_parameters_are_ignored_like_their_service_does(client):
    plain = _get(client, f"romes=D1102&{LYON}&radius=50")
    assert _get(client, f"romes=D1102&{LYON}&radius=50&caller=partenaire&page=3") == plain


def test_the_handicap_filter_is_refused_rather_than_ignored(client):
    # Our documents hold no "accueil handicap" flag: true gets a documented 400, never unfiltered results.
    asked = client.get(f"{SEARCH}?romes=D1102&{LYON}&radius=50&elligibleHandicapFilter=true")
    assert asked.status_code == 400
    assert "handicap" in asked.get_json()["error"]["details"]["elligibleHandicapFilter"][0]
    plain = _get(client, f"romes=D1102&{LYON}&radius=50&elligibleHandicapFilter=false")
    assert plain == _get(client, f"romes=D1102&{LYON}&radius=50") and plain["jobs"]


# --- Filters -------------------------------------------------------------------------------------

def test_partners_to_exclude_really_excludes(client):
    query = f"romes=D1102,M1805&{LYON}&radius=200"
    every = _get(client, query)
    labels = {j["identifier"]["partner_label"] for j in every["jobs"]}
    assert labels == {"offres_emploi_lba", "France Travail"} and every["recruiters"]
    without_ft = _get(client, f"{query}&partners_to_exclude=France Travail")
    assert {j["identifier"]["partner_label"] for j in without_ft["jobs"]} == {"offres_emploi_lba"}
    assert [j for j in every["jobs"] if j["identifier"]["partner_label"] == "offres_emploi_lba"] == without_ft["jobs"]
    assert without_ft["recruiters"] == every["recruiters"]
    repeated = _get(client, f"{query}&partners_to_exclude=offres_emploi_lba&partners_to_exclude=recruteurs_lba")
    assert {j["identifier"]["partner_label"] for j in repeated["jobs"]} == {"France Travail"}
    assert repeated["recruiters"] == []
    everything = _get(client, f"{query}&partners_to_exclude=offres_emploi_lba,France Travail,recruteurs_lba,Hellowork")
    assert everything == {"jobs": [], "recruiters": [], "warnings": []}


def test_departements_filter_on_the_place(client, by_id):
    body = _get(client, f"{ALL_ROMES}&departements=69&departements=2a")
    ids = [j["identifier"]["id"] for j in body["jobs"]] + [r["identifier"]["id"] for r in body["recruiters"]]
    assert {"deposited-X-LYON", "france_travail-X-VILLEURBANNE", "deposited-X-AJACCIO", "12345678900029"} <= set(ids)
    for doc_id in ids:
        place = by_id[doc_id]["place"]
        assert place["department"] in {"69", "2A"} or place["postcode"].startswith("69"), place
    # As zip-code prefixes too, as their service matches them: "20" finds Corsica's 20000.
    corsica = _get(client, f"{ALL_ROMES}&departements=20")
    assert "deposited-X-AJACCIO" in {j["identifier"]["id"] for j in corsica["jobs"]}
    assert all(by_id[j["identifier"]["id"]]["place"]["postcode"].startswith("20") for j in corsica["jobs"])


def test_opco_filter_matches_our_codes_names_and_their_labels(client):
    body = _get(client, f"romes=D1102&opco={AKTO}")
    # X-LYON holds the code "AKTO", the company the full label: both are AKTO for them.
    assert [j["identifier"]["id"] for j in body["jobs"]] == ["deposited-X-LYON"]
    assert [r["identifier"]["id"] for r in body["recruiters"]] == ["12345678900029"]
    proximity = _get(client, "romes=D1102&opco=Opco entreprises de proximité")
    assert [j["identifier"]["id"] for j in proximity["jobs"]] == ["france_travail-X-VILLEURBANNE"]
    unknown = _get(client, f"romes=D1102&{LYON}&radius=200&opco=inconnu")
    assert unknown["jobs"] and all(j["workplace"]["domain"]["opco"] == "inconnu" for j in unknown["jobs"])
    assert "deposited-X-LYON" not in {j["identifier"]["id"] for j in unknown["jobs"]}


def test_closed_and_unrepresentable_offers_are_left_out(client):
    body = _get(client, f"romes=D1102&{LYON}&radius=10")
    ids = {j["identifier"]["id"] for j in body["jobs"]}
    assert "deposited-X-FILLED" not in ids and "deposited-X-SHORT" not in ids
    assert all(j["offer"]["status"] == "Active" for j in body["jobs"])
    warning = next(w for w in body["warnings"] if w["code"] == "JOB_OFFER_FORMATING_ERROR")
    assert "deposited-X-SHORT" in warning["message"]


# --- Order, bounds, privacy ----------------------------------------------------------------------

def _expected_offer_ids(client, query: str, pages: int) -> list[str]:
    ids = []
    for page in range(1, pages + 1):
        items = client.get(f"/api/v1/offers?{query}&page_size=100&page={page}").get_json()["items"]
        ids.extend(i["id"] for i in items if i["status"] == "active" and len(i["title"]) >= 3)
    return ids


def test_jobs_and_recruiters_follow_our_relevance_order(client):
    query = f"romes=D1102,M1805&{LYON}&radius=200"
    body = _get(client, query)
    assert [j["identifier"]["id"] for j in body["jobs"]] == _expected_offer_ids(client, query, 1)
    companies = client.get(f"/api/v1/companies?{query}&page_size=100").get_json()["items"]
    assert [r["identifier"]["id"] for r in body["recruiters"]] == [c["id"] for c in companies]
    assert len(body["jobs"]) > 10


def test_a_nationwide_search_pages_up_to_150_of_each(client):
    body = _get(client, ALL_ROMES)
    assert len(body["jobs"]) == 150 and len(body["recruiters"]) == 150
    ids = [j["identifier"]["id"] for j in body["jobs"]]
    assert ids == _expected_offer_ids(client, ALL_ROMES, 2)[:150]
    assert len({r["identifier"]["id"] for r in body["recruiters"]}) == 150


def test_no_email_address_and_no_private_block_in_any_answer(client):
    for query in (f"{ALL_ROMES}", f"romes=D1102&{LYON}&radius=60", "romes=D1102&departements=69,01"):
        response = client.get(f"{SEARCH}?{query}")
        text = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "@" not in text and "private" not in text and "mailto" not in text
    # The hand-made contacts were in the answers, only without their addresses.
    body = _get(client, f"romes=D1102&{LYON}&radius=60")
    recruiter_ids = {r["identifier"]["id"]: r for r in body["recruiters"]}
    assert recruiter_ids["12345678900029"]["apply"]["phone"] is None


# --- Mapping units (no HTTP, hand-built items) ---------------------------------------------------

CTX = AdapterContext(base_url="https://lba.example.fr/", diploma_labels={3: "CAP", 5: "BTS (Bac+2)"},
                     opco_labels={"akto": AKTO, "opco ep": "Opco entreprises de proximité"})


def _item(**fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": "offer", "id": "france_travail-201ABCD", "source": "france_travail", "title": "Vendeur en boulangerie",
        "organisation": {}, "romes": ["D1106"], "status": "active", "contract_types": ["apprentissage"],
        "place": {"address": "", "city": "Lyon", "postcode": "69003", "insee": "69383", "department": "69",
                  "latitude": 45.76, "longitude": 4.85},
        "distance_km": 1.2, "published_at": "2026-03-02T09:30:00Z", "expires_at": None,
    }
    item.update(fields)
    return item


def test_job_offer_of_a_sparse_item_has_every_required_field_with_nulls(response_validator):
    job = job_offer(_item(), CTX)
    assert job["identifier"] == {"id": "france_travail-201ABCD", "partner_label": "France Travail",
                                 "partner_job_id": "201ABCD"}
    assert job["workplace"]["siret"] is None and job["workplace"]["domain"] == {"idcc": None, "opco": "inconnu",
                                                                                 "naf": None}
    assert job["workplace"]["location"]["address"] == "69003 Lyon"
    assert job["apply"] == {"url": "https://lba.example.fr/offres/france_travail-201ABCD", "phone": None,
                            "recipient_id": None}
    assert job["contract"] == {"start": None, "duration": None, "type": ["Apprentissage"], "remote": None}
    assert job["offer"]["publication"] == {"creation": "2026-03-02T09:30:00.000Z", "expiration": None}
    assert job["offer"]["target_diploma"] is None and job["offer"]["description"] == ""
    assert _errors(response_validator, {"jobs": [job], "recruiters": [], "warnings": []}) == []


def test_job_offer_maps_organisation_apply_and_contract():
    job = job_offer(_item(
        organisation={"name": "Maison Dupont", "siret": "12345678900011", "naf": "1071C", "naf_label": "Boulangerie",
                      "size": "1 à 2 salariés", "opco": "Opco EP", "website": "dupont-boulangerie.fr/contact"},
        apply={"url": "https://ats.example.fr/apply?id=7", "phone": "0600000000", "has_email": True},
        contract_types=["professionnalisation", "cdi"], start_date="2026-09-01T00:00:00+02:00", duration_months=12,
        diploma_level=5, positions=3, romes=["D1106", "d1102", "X12"], description="Écrire à a.b@c.fr merci"), CTX)
    assert job["workplace"]["name"] == "Maison Dupont" and job["workplace"]["size"] == "1 à 2 salariés"
    assert job["workplace"]["website"] == "http://dupont-boulangerie.fr/contact"
    assert job["workplace"]["domain"] == {"idcc": None, "opco": "Opco entreprises de proximité",
                                          "naf": {"code": "1071C", "label": "Boulangerie"}}
    assert job["apply"] == {"url": "https://ats.example.fr/apply?id=7", "phone": "0600000000", "recipient_id": None}
    assert job["contract"] == {"start": "2026-08-31T22:00:00.000Z", "duration": 12, "type": ["Professionnalisation"],
                               "remote": None}
    assert job["offer"]["target_diploma"] == {"european": "5", "label": "BTS (Bac+2)"}
    assert job["offer"]["rome_codes"] == ["D1106"]  # their pattern is an upper-case letter and 4 digits
    assert job["offer"]["opening_count"] == 3 and job["offer"]["description"] == f"Écrire à {EMAIL_MASK} merci"


def test_job_offer_refuses_what_their_shape_cannot_hold():
    with pytest.raises(NotRepresentable):
        job_offer(_item(title="CE"), CTX)
    with pytest.raises(NotRepresentable):
        job_offer(_item(status="expired"), CTX)
    assert job_offer(_item(status="filled"), CTX)["offer"]["status"] == "Filled"


def test_recruiter_never_gives_a_phone_or_an_email(response_validator):
    item = {"kind": "company", "id": "12345678900029", "source": "recruteurs_lba", "title": "Pâtisserie Exemple",
            "organisation": {"name": "Pâtisserie Exemple", "siret": "12345678900029", "opco": AKTO,
                             "website": "https://patisserie.example.fr"},
            "place": {"address": "5 place Bellecour", "city": "Lyon", "postcode": "69002", "department": "69",
                      "latitude": 45.757, "longitude": 4.832},
            "contact": {"has_email": True, "has_phone": True}, "hiring_score": 80.0, "romes": ["D1104"]}
    entry = recruiter(item, CTX)
    assert entry["identifier"] == {"id": "12345678900029"}
    assert entry["apply"] == {"url": "https://lba.example.fr/entreprises/12345678900029", "phone": None,
                              "recipient_id": None}
    assert entry["workplace"]["domain"]["opco"] == AKTO
    assert entry["workplace"]["website"] == item["organisation"]["website"]
    assert entry["workplace"]["location"]["geopoint"]["coordinates"] == [4.832, 45.757]
    assert set(entry) == {"identifier", "workplace", "apply"}
    assert _errors(response_validator, {"jobs": [], "recruiters": [entry], "warnings": []}) == []


def test_small_mapping_helpers():
    assert date_time("2026-03-01") == "2026-03-01T00:00:00.000Z"
    assert date_time("2026-03-01T10:00:00.123456+02:00") == "2026-03-01T08:00:00.123Z"
    assert date_time("le 3 mars") is None and date_time(None) is None
    assert website_url("www.example.fr") == "http://www.example.fr"
    assert website_url("https://example.fr/a b") is None and website_url("contact@example.fr") is None
    leaky = job_offer(_item(apply={"url": "https://ats.example.fr/postuler?to=rh@example.fr"}), CTX)
    assert leaky["apply"]["url"] == "https://lba.example.fr/offres/france_travail-201ABCD"
    assert mask_emails("a prenom.nom+rh@sous.domaine.fr b") == f"a {EMAIL_MASK} b"
    assert partner_label({"kind": "offer", "source": "deposited"}) == "offres_emploi_lba"
    assert partner_label({"kind": "company", "source": "recruteurs_lba"}) == "recruteurs_lba"
    corsica = {"place": {"department": "2A", "postcode": "20090"}}
    assert department_matches(corsica, ["2A"]) and department_matches(corsica, ["20"])
    assert not department_matches(corsica, ["2B"])
    assert department_matches({"place": {"department": "", "postcode": "97110"}}, ["971"])


def test_opco_spellings_cover_codes_names_and_labels(refs):
    table = opco_spellings(refs.opcos)
    assert table["akto"] == AKTO and table["opco ep"] == "Opco entreprises de proximité"
    assert table["opcommerce"] == "L'Opcommerce" and table["inconnu"] == "inconnu"
    assert set(table.values()) <= set(v3_adapter.OPCO_LABELS)


def test_filters_keep():
    item = _item(organisation={"opco": "AKTO"})
    assert Filters().keep(item, CTX)
    assert not Filters(partners_to_exclude=frozenset({"France Travail"})).keep(item, CTX)
    assert Filters(opco=AKTO).keep(item, CTX) and not Filters(opco="inconnu").keep(item, CTX)
    assert Filters(opco="inconnu").keep(_item(), CTX)
    assert Filters(departements=("69",)).keep(item, CTX) and not Filters(departements=("01",)).keep(item, CTX)


class FakeMatch:
    """A match service answering pages of hand-built items, recording what it was asked."""

    def __init__(self, count: dict[str, int]) -> None:
        self.count = count
        self.calls: list[dict[str, Any]] = []

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(params)
        kind, page, size = params["kinds"][0], params["page"], params["page_size"]
        total = self.count.get(kind, 0)
        first = (page - 1) * size
        items = []
        for n in range(first, min(first + size, total)):
            if kind == "offer":
                items.append(_item(id=f"deposited-{n}", source="deposited", score=1 - n / 1000))
            else:
                items.append({**_item(id=f"{n:014d}", kind="company", source="recruteurs_lba"), "score": 1 - n / 1000})
        return {"items": items, "pages": -(-total // size), "warnings": [{"code": "radius_widened", "message": "m"}]}


def test_search_pages_through_the_service_and_stops_at_150():
    fake = FakeMatch({"offer": 1000, "company": 120})
    body = search(fake, {"romes": ["D1102"], "radius": 30.0}, Filters(), CTX)
    assert [j["identifier"]["id"] for j in body["jobs"]] == [f"deposited-{n}" for n in range(150)]
    assert len(body["recruiters"]) == 120
    asked = [(c["kinds"][0], c["page"], c["page_size"], c["sort"]) for c in fake.calls]
    assert asked == [("offer", 1, 100, "relevance"), ("offer", 2, 100, "relevance"),
                     ("company", 1, 100, "relevance"), ("company", 2, 100, "relevance")]
    assert body["warnings"] == [{"code": "radius_widened", "message": "m"}]  # relayed once, not per page


def test_search_is_bounded_when_filters_keep_few_and_skips_excluded_kinds():
    fake = FakeMatch({"offer": 5000, "company": 5000})
    body = search(fake, {"romes": ["D1102"], "radius": 30.0},
                  Filters(partners_to_exclude=frozenset({"recruteurs_lba"}), departements=("01",)), CTX)
    assert body["jobs"] == [] and body["recruiters"] == []
    pages = range(1, v3_adapter.MAX_PAGES + 1)
    assert [(c["kinds"][0], c["page"]) for c in fake.calls] == [("offer", page) for page in pages]
