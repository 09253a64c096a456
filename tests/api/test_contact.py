"""Contact endpoints over HTTP: callbacks (v1 and v2 appointment), the CFA's page, company opt-out, privacy."""
from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa

from app.search.embedded import EmbeddedEngine
from app.store import get_store
from app.store.contact import callback_requests
from scripts.smtp_sink import SmtpSink
from tests.forms import csrf_token
from tests.services.contact_env import (
    APPLICANT_EMAIL,
    BASE_URL,
    CFA_EMAIL,
    COMPANY_EMAIL,
    Clock,
    company_doc,
    contact_settings,
    deliver_all,
    formation_doc,
    make_app,
    paris,
)
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures: every test runs on both databases

KEY = "101249P01313538697790003635386977900036-93006#L01"
SIRET = "80841382700011"
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


@pytest.fixture()
def engine(tmp_path):
    built = EmbeddedEngine(tmp_path / "index")
    with built.new_generation("formation") as builder:
        builder.add([formation_doc(KEY), formation_doc("NOT-ELIGIBLE", eligible=False)])
    with built.new_generation("company") as builder:
        builder.add([company_doc(SIRET, COMPANY_EMAIL)])
    yield built
    built.close()


@pytest.fixture()
def clock():
    return Clock(paris("2026-03-06 15:00"))


@pytest.fixture()
def app(settings, store_url, tmp_path, engine, clock):  # noqa: F811
    return make_app(replace(contact_settings(settings, store_url, tmp_path), embedding_model="none"), engine, clock)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def sink():
    with SmtpSink() as running:
        yield running


BODY = {"formation_id": KEY, "first_name": "Camille", "last_name": "Durand", "email": APPLICANT_EMAIL,
        "phone": "06 12 34 56 78", "applicant_type": "etudiant", "reasons": ["modalite", "debouche"],
        "message": "Quelles sont les dates de rentrée ?"}


def _link(text: str, prefix: str) -> str:
    return next(word for word in text.split() if word.startswith(f"{BASE_URL}{prefix}")).removeprefix(BASE_URL)


def test_a_callback_request_is_accepted_then_refused_for_4_days_with_the_date(client, clock) -> None:
    created = client.post("/api/v1/callbacks", json=BODY)
    assert created.status_code == 202, created.get_json()
    body = created.get_json()
    assert set(body) == {"id", "formation_id", "created_at"} and body["formation_id"] == KEY
    clock.advance(days=3)
    again = client.post("/api/v1/callbacks", json={**BODY, "email": APPLICANT_EMAIL.lower()})
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error.pop("request_id") == again.headers["X-Request-Id"]  # every error names its request
    assert error == {
        "code": "callback_pending",
        "message": "Une demande de prise de RDV en date du 06/03/2026 est actuellement en cours de traitement.",
        "details": {"pending_since": "2026-03-06"}}
    clock.advance(days=1, seconds=1)
    assert client.post("/api/v1/callbacks", json=BODY).status_code == 202


def test_invalid_bodies_list_every_field_in_french(client) -> None:
    answer = client.post("/api/v1/callbacks", json={"formation_id": KEY, "email": "pas-une-adresse",
                                                    "phone": "12", "applicant_type": "grand-parent",
                                                    "reasons": ["inconnu"], "first_name": "http://spam.example",
                                                    "extra": 1})
    assert answer.status_code == 400
    details = answer.get_json()["error"]["details"]
    assert details["email"] == ["Adresse e-mail invalide."]
    assert details["last_name"] == ["Champ obligatoire."]
    assert details["first_name"] == ["Les liens ne sont pas acceptés."]
    assert "Valeurs possibles" in details["applicant_type"][0] and "Valeurs possibles" in details["reasons"]["0"][0]
    assert details["phone"][0].startswith("Numéro de téléphone invalide") and details["extra"] == ["Champ inconnu."]
    assert client.post("/api/v1/callbacks", data="x", content_type="application/json").status_code == 400


def test_formations_not_taking_requests(client) -> None:
    refused = client.post("/api/v1/callbacks", json={**BODY, "formation_id": "NOT-ELIGIBLE"})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "callback_unavailable"
    unknown = client.post("/api/v1/callbacks", json={**BODY, "formation_id": "UNKNOWN"})
    assert unknown.status_code == 404 and unknown.get_json()["error"]["message"] == "Formation introuvable."
    context = client.get("/api/v1/callbacks/context", query_string={"formation_id": "NOT-ELIGIBLE"}).get_json()
    assert context["available"] is False and len(context["reasons"]) == 12
    context = client.get("/api/v1/callbacks/context", query_string={"formation_id": KEY}).get_json()
    assert context["available"] is True and context["formation"]["organisation"] == "CFA des métiers de bouche"


def _v2_schemas(settings) -> tuple[dict, dict]:
    """The public service's request and response schemas of POST /v2/appointment (its OpenAPI document)."""
    document = json.loads((Path(settings.data_dir) / "samples" / "lba_openapi_2026.json").read_text(encoding="utf-8"))
    operation = document["paths"]["/v2/appointment"]["post"]
    return (operation["requestBody"]["content"]["application/json"]["schema"],
            operation["responses"]["200"]["content"]["application/json"]["schema"])


def test_v2_appointment_answers_the_public_services_shape(client, settings) -> None:
    request_schema, response_schema = _v2_schemas(settings)
    available_schema, unavailable_schema = response_schema["anyOf"]
    body = {"cle_ministere_educatif": KEY}
    jsonschema.validate(body, request_schema)
    answer = client.post("/api/v2/appointment", json=body)
    assert answer.status_code == 200
    jsonschema.validate(answer.get_json(), available_schema)
    assert answer.get_json()["form_url"] == (f"{BASE_URL}/rdva?referrer=lba&cleMinistereEducatif="
                                             "101249P01313538697790003635386977900036-93006%23L01")
    assert answer.get_json()["etablissement_formateur_siret"] == "78424186100011"
    for unavailable in ({"cle_ministere_educatif": "NOT-ELIGIBLE"}, {"parcoursup_id": "123"}, {"onisep_id": "AF.1"}):
        jsonschema.validate(unavailable, request_schema)
        answer = client.post("/api/v2/appointment", json=unavailable)
        assert answer.status_code == 200 and answer.get_json() == {"error": "Appointment request not available"}
        jsonschema.validate(answer.get_json(), unavailable_schema)
    assert client.post("/api/v2/appointment", json={"cle_ministere_educatif": KEY, "onisep_id": "x"}).status_code == 400


def test_the_cfa_page_records_reading_and_the_answer_reaches_the_applicant(client, store_url, clock,  # noqa: F811
                                                                           sink) -> None:
    request_id = client.post("/api/v1/callbacks", json=BODY).get_json()["id"]
    store = get_store(store_url)
    mails = {m.rcpt_tos[0]: m for m in deliver_all(store, sink)}
    page = _link(mails[CFA_EMAIL].body("plain"), "/rdva/cfa/")
    clock.advance(hours=1)
    shown = client.get(page)
    assert shown.status_code == 200 and "Demande de contact d'un candidat" in shown.text
    assert "06 12 34 56 78" in shown.text and "Débouchés de la formation" in shown.text
    with store.connect() as conn:
        row = conn.execute(sa.select(callback_requests).where(callback_requests.c.id == request_id)).mappings().one()
    assert row["read_at"] is not None and row["answered_at"] is None
    token = page.split("token=")[1]
    csrf = csrf_token(shown.text)
    clock.advance(minutes=10)
    empty = client.post(page, data={"token": token, "kind": "personalised_answer", "message": " ",
                                    "csrf_token": csrf})
    assert empty.status_code == 400 and "Écrivez le message" in empty.text
    done = client.post(page, data={"token": token, "kind": "personalised_answer", "csrf_token": csrf,
                                   "message": "Bonjour, appelez-nous au 04 78 00 00 00."})
    assert done.status_code == 200 and "Votre message a été envoyé au candidat." in done.text
    [answer] = deliver_all(store, sink)
    assert answer.rcpt_tos == [APPLICANT_EMAIL.lower()] and "appelez-nous au 04 78 00 00 00" in answer.body("plain")
    twice = client.post(page, data={"token": token, "kind": "other_channel", "csrf_token": csrf})
    assert twice.status_code == 409 and "Vous avez déjà répondu" in twice.text
    tampered = client.get(page[:-4] + "abcd")
    assert tampered.status_code == 403 and "Ce lien n'est pas valide" in html.unescape(tampered.text)
    clock.advance(days=31)
    expired = client.get(page)
    assert expired.status_code == 410 and "Ce lien a expiré" in html.unescape(expired.text)


def test_opt_out_over_http_and_no_address_in_any_answer_or_log_line(client, store_url, sink, engine,  # noqa: F811
                                                                     caplog) -> None:
    caplog.set_level(logging.DEBUG)
    answers = []
    match = client.post("/api/v1/companies/opt-out/match", json={"email": COMPANY_EMAIL, "sirets": [SIRET]})
    answers.append(match)
    assert match.get_json()["companies"][0]["status"] == "eligible"
    created = client.post("/api/v1/companies/opt-out", json={"email": COMPANY_EMAIL, "sirets": [SIRET],
                                                             "reason": "Pas de recrutement"})
    answers.append(created)
    assert created.status_code == 202
    store = get_store(store_url)
    [mail] = deliver_all(store, sink)
    page = _link(mail.body("plain"), "/entreprises/desinscription/")
    shown = client.get(page)  # a mail scanner following the link removes nothing
    assert shown.status_code == 200 and SIRET in shown.text and engine.get_many("company", [SIRET])
    request_id, token = page.split("/")[-1].split("?token=")
    confirmed = client.post("/api/v1/companies/opt-out/confirm", json={"id": request_id, "token": token})
    answers.append(confirmed)
    assert confirmed.status_code == 200 and confirmed.get_json() == {"id": request_id, "sirets": [SIRET],
                                                                    "removed_from_search": 1}
    assert engine.get_many("company", [SIRET]) == {}
    assert client.get(f"/api/v1/companies/{SIRET}").status_code == 404
    reused = client.post("/api/v1/companies/opt-out/confirm", json={"id": request_id, "token": token})
    answers.append(reused)
    assert reused.status_code == 409 and reused.get_json()["error"]["code"] == "already_confirmed"
    assert client.post(page, data={"token": token, "csrf_token": csrf_token(shown.text)}).status_code == 409
    bad = client.post("/api/v1/companies/opt-out/confirm", json={"id": request_id, "token": token + "x"})
    answers.append(bad)
    assert bad.status_code == 403
    refused = client.post("/api/v1/companies/opt-out", json={"email": "x@gmail.com", "sirets": [SIRET]})
    answers.append(refused)
    assert refused.status_code == 422
    # The callback flow too, delivery included.
    answers.append(client.post("/api/v1/callbacks", json=BODY))
    answers.append(client.post("/api/v1/callbacks", json=BODY))
    answers.append(client.post("/api/v2/appointment", json={"cle_ministere_educatif": KEY}))
    answers.append(client.get("/api/v1/callbacks/context", query_string={"formation_id": KEY}))
    assert len(deliver_all(store, sink)) >= 3
    for answer in answers:
        assert not EMAIL_RE.search(answer.get_data(as_text=True)), answer.get_data(as_text=True)
    # Every line our code logged (aiosmtpd's own `mail.log` is the test's SMTP server, not the service).
    logged = "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("mail.log"))
    assert "outbox" in logged and "callback request" in logged  # the flows did log
    for address in (APPLICANT_EMAIL, APPLICANT_EMAIL.lower(), CFA_EMAIL, COMPANY_EMAIL):
        assert address not in logged
    # Message-IDs (<hex@labonnealternance.local>) look like addresses but name no one.
    assert not EMAIL_RE.search(re.sub(r"<[0-9a-f]{32}@[\w.]+>", "", logged)), logged


def test_the_openapi_document_describes_the_contact_endpoints(client) -> None:
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/v1/callbacks", "/api/v1/callbacks/context", "/api/v2/appointment",
                 "/api/v1/companies/opt-out", "/api/v1/companies/opt-out/match", "/api/v1/companies/opt-out/confirm"):
        assert path in paths, path
    callback = paths["/api/v1/callbacks"]["post"]
    assert {"202", "400", "404", "409", "422"} <= set(callback["responses"])
    schema = callback["requestBody"]["content"]["application/json"]["schema"]
    assert "CallbackRequest" in json.dumps(schema)


def test_nul_characters_are_dropped_before_storing(client, store_url) -> None:  # noqa: F811
    answer = client.post("/api/v1/callbacks", json={**BODY, "first_name": "Cam\x00ille", "message": "a\x00b"})
    assert answer.status_code == 202, answer.get_json()
    with get_store(store_url).connect() as conn:
        row = conn.execute(sa.select(callback_requests)).mappings().one()
    assert (row["first_name"], row["message"]) == ("Camille", "ab")
