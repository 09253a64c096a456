"""The v3 partner write API against the public document: bodies, answers, keys, upserts, search on both engines."""
from __future__ import annotations

import time
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hsettings
from jsonschema import Draft202012Validator

from app.factory import create_app
from app.search.contract import KINDS
from app.search.embedded import EmbeddedEngine
from app.services.partner_job_mapping import siret_is_valid
from app.services.partner_job_schema import load_contract, with_nullable_enums
from app.services.partners import create_key

JOBS = "/api/v3/jobs"
FORMATS = Draft202012Validator.FORMAT_CHECKER
MATCH = "/api/v1/match?romes=D1102&latitude=45.7640&longitude=4.8357&radius=30&kinds=offers&page_size=100"
SIRET = "78424186100011"  # the document's own example, a valid Luhn SIRET
LA_POSTE = "35600000000010"  # La Poste's establishments: digit sum multiple of 5, not Luhn


def body(partner_job_id: str = "job-1", **offer) -> dict:
    return {
        "identifier": {"partner_job_id": partner_job_id},
        "workplace": {"siret": SIRET, "name": "Boulangerie du Parc",
                      "location": {"address": "3 place Bellecour, 69002 Lyon"}},
        "offer": {"title": "Boulanger", "rome_codes": ["D1102"],
                  "description": "Fabrication du pain et des viennoiseries, au fournil, avec l'équipe du matin.",
                  "target_diploma": {"european": "3"}, "desired_skills": ["Rigueur"], **offer},
        "contract": {"type": ["Apprentissage"], "duration": 24, "start": "2027-09-01T00:00:00Z"},
        "apply": {"url": "https://example.org/postuler/1", "phone": "0478000000"},
    }


def _no_engine_docs(tmp_path):
    engine = EmbeddedEngine(tmp_path / "index")
    for kind in KINDS:
        with engine.new_generation(kind) as builder:
            builder.add([])
    return engine


@pytest.fixture
def writer(api_settings, tmp_path, store_url):
    """An app on a fresh embedded index and a migrated store (SQLite, then PostgreSQL: column sizes, JSON),
    with two partner keys."""
    settings = replace(api_settings, database_url=store_url, export_dir=str(tmp_path / "exports"))
    app = create_app(settings, engine=_no_engine_docs(tmp_path))
    app.config.update(TESTING=True)
    store = app.extensions["lba.store"]
    # A rate no burst reaches: the property test posts as fast as the machine allows (limits: tests/api/test_access.py).
    keys = [create_key(store, name, rate_per_second=1_000_000)[1] for name in ("Jobboard A", "Jobboard B")]
    client = app.test_client()
    return app, client, [{"Authorization": f"Bearer {key}"} for key in keys]


def test_siret_check_with_la_poste_exception():
    assert siret_is_valid(SIRET) and siret_is_valid(LA_POSTE)
    assert not siret_is_valid("78424186100012") and not siret_is_valid("1234")


def test_writes_need_a_key_401_in_the_one_error_shape(writer):
    _, client, _ = writer
    for method, path in (("post", JOBS), ("get", f"{JOBS}/deposited-1"), ("put", f"{JOBS}/deposited-1"),
                         ("get", f"{JOBS}/export")):
        response = getattr(client, method)(path, json=body())
        assert response.status_code == 401, (method, path)
        error = response.get_json()["error"]
        assert error["code"] == "api_key_required" and "Clé d'API" in error["message"] and error["request_id"]
    bad = client.post(JOBS, json=body(), headers={"Authorization": "Bearer lba_nope"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "invalid_api_key"


def test_post_get_put_round_trip_in_the_response_schemas(writer, settings):
    _, client, (key_a, key_b) = writer
    contract = load_contract(settings.data_dir)
    created = client.post(JOBS, json=body(), headers=key_a)
    assert created.status_code == 200, created.get_json()
    Draft202012Validator(contract.created).validate(created.get_json())
    job_id = created.get_json()["id"]
    read = client.get(f"{JOBS}/{job_id}", headers=key_a)
    assert read.status_code == 200
    job = read.get_json()
    Draft202012Validator(with_nullable_enums(contract.job), format_checker=FORMATS).validate(job)
    assert job["identifier"] == {"id": job_id, "partner_label": "Jobboard A", "partner_job_id": "job-1"}
    assert job["workplace"]["siret"] == SIRET and job["workplace"]["name"] == "Boulangerie du Parc"
    assert job["offer"]["rome_codes"] == ["D1102"] and job["offer"]["status"] == "Active"
    assert job["offer"]["desired_skills"] == ["Rigueur"] and job["offer"]["target_diploma"]["european"] == "3"
    assert job["contract"] == {"start": "2027-09-01T00:00:00.000Z", "duration": 24, "type": ["Apprentissage"],
                               "remote": None}
    assert job["apply"]["url"] == "https://example.org/postuler/1"
    lon, lat = job["workplace"]["location"]["geopoint"]["coordinates"]
    assert abs(lat - 45.76) < 0.1 and abs(lon - 4.83) < 0.1  # the commune of 69002
    # The same partner_job_id again updates the same offer: no duplicate.
    again = client.post(JOBS, json=body(title="Boulanger pâtissier"), headers=key_a)
    assert again.get_json()["id"] == job_id
    assert client.get(f"{JOBS}/{job_id}", headers=key_a).get_json()["offer"]["title"] == "Boulanger pâtissier"
    # PUT replaces every field; the partner_job_id stays.
    put = {k: v for k, v in body(title="Vendeur en boulangerie", desired_skills=[]).items() if k != "identifier"}
    put["contract"] = {"type": ["Professionnalisation"]}
    replaced = client.put(f"{JOBS}/{job_id}", json=put, headers=key_a)
    assert replaced.status_code == 204 and replaced.get_data() == b""
    job = client.get(f"{JOBS}/{job_id}", headers=key_a).get_json()
    Draft202012Validator(with_nullable_enums(contract.job), format_checker=FORMATS).validate(job)
    assert job["offer"]["title"] == "Vendeur en boulangerie" and job["offer"]["desired_skills"] == []
    assert job["contract"]["type"] == ["Professionnalisation"] and job["contract"]["duration"] is None
    assert job["identifier"]["partner_job_id"] == "job-1"
    # Another partner's offer does not exist for B; nor does an unknown id.
    for path in (f"{JOBS}/{job_id}", f"{JOBS}/deposited-999999", f"{JOBS}/pas-un-id"):
        assert client.get(path, headers=key_b).status_code == 404
    denied = client.put(f"{JOBS}/{job_id}", json=put, headers=key_b)
    assert denied.status_code == 404 and denied.get_json()["error"]["code"] == "not_found"
    # B may use the same partner_job_id: its own offer.
    assert client.post(JOBS, json=body(), headers=key_b).get_json()["id"] != job_id


def test_invalid_bodies_get_french_400_in_the_one_error_shape(writer):
    _, client, (key, _) = writer
    bad = body()
    bad["offer"]["title"] = "ab"
    bad["workplace"]["siret"] = "123"
    del bad["apply"]
    bad["contract"]["type"] = ["CDI"]
    response = client.post(JOBS, json=bad, headers=key)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_body" and error["message"] == "Corps de requête invalide."
    details = error["details"]
    assert details["offer.title"] == ["Au moins 3 caractères."]
    assert "Format invalide" in details["workplace.siret"][0]
    assert details["body"] == ["Champ obligatoire manquant : apply."]
    assert details["contract.type.0"] == ["Valeurs possibles : Apprentissage, Professionnalisation."]
    not_json = client.post(JOBS, data="pas du json", headers={**key, "Content-Type": "application/json"})
    assert not_json.status_code == 400 and "objet JSON" in not_json.get_json()["error"]["details"]["body"][0]
    # Schema-valid, refused for business rules: checksum, unknown ROME, unknown place.
    business = body()
    business["workplace"]["siret"] = "78424186100012"
    business["offer"]["rome_codes"] = ["Z9999"]
    business["workplace"]["location"]["address"] = "quelque part"
    refused = client.post(JOBS, json=business, headers=key).get_json()["error"]
    assert refused["message"] == "Offre refusée."
    assert set(refused["details"]) == {"workplace.siret", "offer.rome_codes", "workplace.location.address"}
    assert "Luhn" in refused["details"]["workplace.siret"][0] and "Z9999" in refused["details"]["offer.rome_codes"][0]
    la_poste = body("poste")
    la_poste["workplace"]["siret"] = LA_POSTE
    assert client.post(JOBS, json=la_poste, headers=key).status_code == 200


def _found(client, offer_id: str, present: bool) -> bool:
    """Poll /api/v1/match for up to 2 seconds until the offer is (or is no longer) found."""
    deadline = time.monotonic() + 2.0
    while True:
        ids = {item["id"] for item in client.get(MATCH).get_json()["items"]}
        if (offer_id in ids) == present:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


@pytest.fixture(params=["embedded", "opensearch"])
def any_engine(request, tmp_path):
    if request.param == "embedded":
        yield EmbeddedEngine(tmp_path / "index")
        return
    from tests.search.opensearch import drop_prefix, new_engine, session_node

    nodes = session_node()
    url = next(nodes)
    engine = new_engine(url)
    yield engine
    engine.close()
    drop_prefix(url, engine.prefix)


def test_post_is_found_through_match_then_closed_by_put_on_both_engines(api_settings, tmp_path, any_engine):
    from app.store import upgraded_store

    settings = replace(api_settings, database_url=f"sqlite:///{tmp_path / 'store.sqlite'}")
    upgraded_store(settings.database_url)
    for kind in KINDS:
        with any_engine.new_generation(kind) as builder:
            builder.add([])
    app = create_app(settings, engine=any_engine)
    client = app.test_client()
    key = {"Authorization": f"Bearer {create_key(app.extensions['lba.store'], 'Jobboard')[1]}"}
    offer_id = client.post(JOBS, json=body(), headers=key).get_json()["id"]
    assert _found(client, offer_id, True)
    closed = {k: v for k, v in body(status="Filled").items() if k != "identifier"}
    assert client.put(f"{JOBS}/{offer_id}", json=closed, headers=key).status_code == 204
    assert _found(client, offer_id, False)
    assert client.get(f"{JOBS}/{offer_id}", headers=key).get_json()["offer"]["status"] == "Filled"
    # Cancelled, then active again, then expired by its own publication dates: each reaches search.
    assert client.put(f"{JOBS}/{offer_id}", json={**closed, "offer": body()["offer"]}, headers=key).status_code == 204
    assert _found(client, offer_id, True)
    past = body(publication={"creation": "2020-01-01T00:00:00Z", "expiration": "2020-03-01T00:00:00Z"})
    assert client.post(JOBS, json=past, headers=key).get_json()["id"] == offer_id
    assert _found(client, offer_id, False)


# --- bodies generated from the public schemas --------------------------------------------------------------

def _business_constrained(schema: dict, refs_codes: list[str], with_identifier: bool) -> dict:
    """The document's request schema, with the fields whose business rules the schema does not state pinned.

    - workplace.siret: the schema says 14 digits; the Luhn checksum it does not say → drawn from valid SIRETs.
    - offer.rome_codes: the schema says the pattern; existence in the ROME referential → known codes, and
      present (without them we resolve the title through the métier index, which random titles defeat).
    - workplace.location.address: the schema allows any text; we need a place → an address with a real postcode
      (the public service takes the place from the SIRET's registry entry, which we do not call here),
      so workplace.location is required too.
    - identifier.partner_job_id (POST): at most 200 characters and not blank (the store's key).
    Everything else is generated as the document states it.
    """
    import copy

    constrained = copy.deepcopy(schema)
    constrained["properties"]["workplace"]["required"] = ["siret", "location"]
    workplace = constrained["properties"]["workplace"]["properties"]
    workplace["siret"] = {"enum": [SIRET, LA_POSTE, "73282932000074", "41816609600069"]}
    workplace["location"] = {"type": "object", "required": ["address"], "properties": {"address": {
        "enum": ["3 place Bellecour, 69002 Lyon", "75001 Paris", "1 rue de la Paix 13001 Marseille"]}}}
    constrained["properties"]["offer"]["required"] = ["title", "description", "rome_codes"]
    offer = constrained["properties"]["offer"]["properties"]
    offer["rome_codes"] = {"type": "array", "minItems": 1, "maxItems": 3, "items": {"enum": refs_codes}}
    if with_identifier:
        # The column's size (200) is not in the schema: longer ids are refused (a French 400), never cut.
        constrained["properties"]["identifier"]["properties"]["partner_job_id"].update(minLength=1, maxLength=200,
                                                                                       pattern=r"\S")
    return constrained


def _bodies(schema: dict, method: str):
    """Hypothesis strategy of request bodies for `schema`, by schemathesis (the public document's JSON Schema
    dialect, OpenAPI 3.1): a one-operation document holding that schema as its request body."""
    document = {"openapi": "3.1.0", "info": {"title": "v3 jobs", "version": "1"}, "paths": {"/jobs": {method: {
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "responses": {"200": {"description": "ok"}}}}}}
    return schemathesis.openapi.from_dict(document)["/jobs"][method.upper()].as_strategy().map(lambda case: case.body)


@pytest.mark.parametrize("operation", ["post", "put"])
def test_bodies_generated_from_the_public_schema_are_accepted(writer, settings, operation):
    app, client, (key, _) = writer
    contract = load_contract(settings.data_dir)
    codes = ["D1102", "M1805", "K2204", "D1108"]
    schema = contract.post_body if operation == "post" else contract.put_body
    strategy = _bodies(_business_constrained(schema, codes, operation == "post"), operation)
    target = client.post(JOBS, json=body("target"), headers=key).get_json()["id"]
    accepted = []
    examples = 40

    @given(generated=strategy)
    @hsettings(max_examples=examples, deadline=None, database=None, derandomize=True,
               suppress_health_check=list(HealthCheck))
    def run(generated):
        assert Draft202012Validator(schema).is_valid(generated)  # still a body of the public schema
        if operation == "post":
            response = client.post(JOBS, json=generated, headers=key)
            assert response.status_code == 200, (generated, response.get_json())
            job_id = response.get_json()["id"]
        else:
            response = client.put(f"{JOBS}/{target}", json=generated, headers=key)
            assert response.status_code == 204, (generated, response.get_json())
            job_id = target
        read = client.get(f"{JOBS}/{job_id}", headers=key)
        Draft202012Validator(with_nullable_enums(contract.job), format_checker=FORMATS).validate(read.get_json())
        accepted.append(job_id)

    run()
    assert len(accepted) >= examples // 2  # hypothesis may stop early once the space is covered


def test_export_answers_the_url_of_the_latest_feed_and_serves_it(writer, settings):
    from app.services.offer_exports import FEED, FEED_SCHEMA, export_offers

    app, client, (key, _) = writer
    contract = load_contract(settings.data_dir)
    missing = client.get(f"{JOBS}/export", headers=key)
    assert missing.status_code == 404 and "export" in missing.get_json()["error"]["message"]
    job_id = client.post(JOBS, json=body(), headers=key).get_json()["id"]
    app_settings = app.extensions["lba.settings"]
    export_offers(app.extensions["lba.store"], app.extensions["lba.refs"], app_settings.data_dir,
                  app_settings.export_dir, app_settings.public_base_url)
    answer = client.get(f"{JOBS}/export", headers=key)
    assert answer.status_code == 200
    Draft202012Validator(contract.export).validate(answer.get_json())
    url = answer.get_json()["url"]
    assert url == f"{app_settings.public_base_url}/api/v3/jobs/export/{FEED}"
    with client.get(url.removeprefix(app_settings.public_base_url), headers=key) as response:  # a file: closed
        assert response.status_code == 200 and response.mimetype == "application/json"
        feed = response.get_json()
    assert [job["identifier"]["id"] for job in feed] == [job_id]
    with client.get(f"{JOBS}/export/{FEED_SCHEMA}", headers=key) as response:
        schema = response.get_json()
    Draft202012Validator(schema).validate(feed)
    assert client.get(f"{JOBS}/export/{FEED}").status_code == 401
    assert client.get(f"{JOBS}/export/secret.txt", headers=key).status_code == 404
