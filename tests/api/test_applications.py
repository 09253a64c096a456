"""POST /api/v1/applications on SQLite and PostgreSQL, delivered to a real SMTP server; replies by signed link."""
from __future__ import annotations

import io
import json
import logging
import re
import time
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from app.services.mailer import SmtpConfig, SmtpSender
from app.services.outbox import OutboxPolicy, deliver, worker_id
from app.store import applications, outbox, write_tx
from scripts.smtp_sink import SmtpSink
from tests.api.applications_setup import (  # noqa: F401
    COMPANY_EMAIL,
    COMPANY_SIRET,
    DEPOSIT_EMAIL,
    RECRUITER,
    SIRET,
    app_env,
    application_body,
    b64,
    deposit,
    docx_bytes,
    pdf_bytes,
)
from tests.forms import csrf_token

URL = "/api/v1/applications"


@pytest.fixture()
def sink():
    with SmtpSink() as server:
        yield server


def _deliver(app, sink: SmtpSink) -> dict:  # type: ignore[no-untyped-def]
    store = app.extensions["lba.store"]
    with SmtpSender(SmtpConfig(host=sink.host, port=sink.port, mail_from="lba@lba.test")) as sender:
        return deliver(store, sender, "lba@lba.test", worker_id(), OutboxPolicy(max_attempts=3, backoff_s=0))


def _outbox(app) -> list[dict]:  # type: ignore[no-untyped-def]
    with app.extensions["lba.store"].connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(outbox).order_by(outbox.c.id)).mappings()]


def _seed(app, count: int, **values) -> None:  # type: ignore[no-untyped-def]
    """Applications written straight to the store (to reach a cap without posting it)."""
    now = datetime.now(timezone.utc)
    row = {"applicant_first_name": "A", "applicant_last_name": "B", "applicant_email": "seed@example.org",
           "applicant_phone": "0600000000", "message": "", "answers": [], "extra": {}, "target_kind": "offer",
           "target_id": "francetravail-OK2", "target_siret": SIRET, "target_title": "", "company_name": "",
           "caller": "", "cv_name": "cv.pdf", "cv_type": "pdf", "cv_size": 1, "cv_sha256": "0" * 64}
    with write_tx(app.extensions["lba.store"]) as conn:
        conn.execute(sa.insert(applications), [{**row, **values, "id": uuid.uuid4().hex, "created_at": now}
                                               for _ in range(count)])


def test_an_application_is_stored_then_delivered_with_its_cv_to_the_recruiter(app_env, sink, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = app_env.test_client()
    cv = pdf_bytes(20000)
    answer = client.post(URL, json=application_body(cv={"name": "CV Léa.pdf", "content": b64(cv)},
                                                    answers=[{"question": "Permis ?", "answer": "Oui, B"}]))
    assert answer.status_code == 202, answer.get_json()
    application_id = answer.get_json()["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", application_id)
    assert [row["state"] for row in _outbox(app_env)] == ["pending", "pending"]  # stored with its mails
    assert _deliver(app_env, sink)["sent"] == 2
    to_recruiter, to_applicant = sink.messages
    assert to_recruiter.rcpt_tos == [RECRUITER]
    assert str(to_recruiter.message["Subject"]) == \
        "Candidature en alternance - Mécanicien automobile en alternance - Léa Dupont"
    assert str(to_recruiter.message["Reply-To"]) == "lea.dupont@example.org"
    text = to_recruiter.body("plain")
    assert "Passionnée de mécanique" in text and "06 12 34 56 78" in text and "Permis ? : Oui, B" in text
    assert "https://lba.test/candidature/reponse?token=" in text
    assert "Léa Dupont" in to_recruiter.body("html")
    assert to_recruiter.attachments() == [("CV Léa.pdf", cv)]
    assert to_applicant.rcpt_tos == ["lea.dupont@example.org"]
    assert str(to_applicant.message["Subject"]) == "Votre candidature chez Garage du Rhône"
    assert to_applicant.attachments() == []
    # The CV is gone from the store once delivered; the recruiter's address never left in an answer or a log.
    assert all(row["attachment"] is None for row in _outbox(app_env))
    assert RECRUITER not in answer.get_data(as_text=True)
    # Not the test server's records.
    ours = [record.getMessage() for record in caplog.records if not record.name.startswith("mail.log")]
    assert ours and not any(RECRUITER in line for line in ours)
    detail = client.get("/api/v1/offers/francetravail-OK1")
    assert RECRUITER not in detail.get_data(as_text=True)


def test_multipart_is_accepted_and_spontaneous_applications_go_to_the_company(app_env, sink) -> None:
    client = app_env.test_client()
    cv = docx_bytes()  # once: a ZIP records the time it was written
    data = {"first_name": "Yanis", "last_name": "Benali", "email": "yanis@example.org", "phone": "+33 7 12 34 56 78",
            "company_siret": COMPANY_SIRET, "answers": json.dumps([{"question": "Dispo ?", "answer": "Septembre"}]),
            "cv": (io.BytesIO(cv), "cv.docx")}
    answer = client.post(URL, data=data, content_type="multipart/form-data")
    assert answer.status_code == 202, answer.get_json()
    _deliver(app_env, sink)
    to_company = sink.messages[0]
    assert to_company.rcpt_tos == [COMPANY_EMAIL]
    assert str(to_company.message["Subject"]) == "Candidature spontanée en alternance Boulangerie Martin"
    assert to_company.attachments() == [("cv.docx", cv)]


def _fake_files() -> dict[str, bytes]:
    import zipfile
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("notes.txt", "pas un docx")
    return {
        "png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64,
        "gif": b"GIF89a" + b"\x00" * 64, "zip": plain_zip.getvalue(),
        "doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
        "exe": b"MZ\x90\x00" + b"\x00" * 64, "html": b"<!doctype html><html><script>x</script></html>",
        "text": "Je suis un CV en texte".encode(), "docx": docx_bytes(), "empty": b"",
    }


@pytest.mark.parametrize("kind", list(_fake_files()))
def test_a_file_of_another_type_renamed_pdf_is_refused(app_env, kind) -> None:
    content = _fake_files()[kind]
    answer = app_env.test_client().post(URL, json=application_body(cv={"name": "cv.pdf", "content": b64(content)}))
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "unsupported_cv_type"
    assert _outbox(app_env) == []


def test_cv_name_size_and_encoding_rules(app_env) -> None:
    client = app_env.test_client()
    renamed = client.post(URL, json=application_body(cv={"name": "cv.docx", "content": b64(pdf_bytes())}))
    assert renamed.status_code == 400 and renamed.get_json()["error"]["code"] == "unsupported_cv_type"
    wrong_name = client.post(URL, json=application_body(cv={"name": "cv.odt", "content": b64(pdf_bytes())}))
    assert wrong_name.status_code == 400 and "cv" in wrong_name.get_json()["error"]["details"]
    too_big = client.post(URL, json=application_body(cv={"name": "cv.pdf",
                                                          "content": b64(pdf_bytes(3 * 1024 * 1024 + 1))}))
    assert too_big.status_code == 413 and "3 Mo" in too_big.get_json()["error"]["message"]
    just_fits = client.post(URL, json=application_body(cv={"name": "cv.PDF",
                                                           "content": b64(pdf_bytes(3 * 1024 * 1024))}))
    assert just_fits.status_code == 202, just_fits.get_json()
    garbage = client.post(URL, json=application_body(cv={"name": "cv.pdf", "content": "%%%not base64"}))
    assert garbage.status_code == 400 and garbage.get_json()["error"]["code"] == "invalid_cv"


@pytest.mark.parametrize("email", ["jeune@yopmail.com", "x@YOPMAIL.FR", "a@sub.mailinator.com"])
def test_disposable_addresses_are_refused(app_env, email) -> None:
    answer = app_env.test_client().post(URL, json=application_body(email=email))
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "disposable_email"
    assert "jetables" in answer.get_json()["error"]["message"]


def test_field_rules_answer_400_with_every_field(app_env) -> None:
    answer = app_env.test_client().post(URL, json={"first_name": "", "last_name": "http://spam.example",
                                                    "email": "pas-un-email", "phone": "12", "offer_id": "x",
                                                    "company_siret": COMPANY_SIRET, "unexpected": 1})
    details = answer.get_json()["error"]["details"]
    assert answer.status_code == 400
    assert {"first_name", "last_name", "email", "phone", "cv", "unexpected"} <= set(details)


@pytest.mark.parametrize("offer, status, code", [
    ("francetravail-EXPIRED", 410, "offer_expired"), ("francetravail-FILLED", 410, "offer_filled"),
    ("francetravail-CANCELLED", 410, "offer_cancelled"), ("francetravail-NOPE", 404, "target_not_found"),
    ("francetravail-NOMAIL", 409, "no_contact_email")])
def test_offers_that_cannot_take_applications_are_refused(app_env, offer, status, code) -> None:
    answer = app_env.test_client().post(URL, json=application_body(offer_id=offer))
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (status, code)


def test_at_most_three_applications_per_target(app_env) -> None:
    client = app_env.test_client()
    assert [client.post(URL, json=application_body()).status_code for _ in range(3)] == [202] * 3
    fourth = client.post(URL, json=application_body())
    assert fourth.status_code == 429 and fourth.get_json()["error"]["details"]["rule"] == "applicant_per_target"
    assert client.post(URL, json=application_body(email="LEA.DUPONT@example.org")).status_code == 429  # same person
    assert client.post(URL, json=application_body(offer_id="francetravail-OK2")).status_code == 202


def test_at_most_100_applications_per_applicant_per_day(app_env) -> None:
    _seed(app_env, 99, applicant_email="lea.dupont@example.org", target_id="elsewhere")
    client = app_env.test_client()
    assert client.post(URL, json=application_body()).status_code == 202
    refused = client.post(URL, json=application_body(offer_id="francetravail-OK2"))
    assert refused.status_code == 429 and refused.get_json()["error"]["details"]["rule"] == "applicant_per_day"
    assert "100 candidatures par jour" in refused.get_json()["error"]["message"]


def test_at_most_20_per_day_per_caller_per_company(app_env) -> None:
    _seed(app_env, 19, caller="widget-partenaire", target_siret=SIRET)
    client = app_env.test_client()
    assert client.post(URL, json=application_body(caller="widget-partenaire")).status_code == 202
    refused = client.post(URL, json=application_body(caller="widget-partenaire", email="autre@example.org"))
    assert refused.status_code == 429
    assert refused.get_json()["error"]["details"]["rule"] == "caller_per_company_per_day"
    assert client.post(URL, json=application_body(caller="autre-partenaire", email="autre@example.org")).status_code \
        == 202


def test_the_80th_application_closes_a_deposited_offer_and_removes_it_from_search(app_env) -> None:
    store, engine = app_env.extensions["lba.store"], app_env.extensions["lba.engine"]
    offer_id = deposit(store, engine, app_env.extensions["lba.refs"])
    target = f"deposited-{offer_id}"
    assert engine.get_many("offer", [target])
    _seed(app_env, 79, target_id=target, target_siret="33333333300033")
    client = app_env.test_client()
    assert client.post(URL, json=application_body(offer_id=target)).status_code == 202
    from app.store import deposited_offers
    with store.connect() as conn:
        row = conn.execute(sa.select(deposited_offers).where(deposited_offers.c.id == offer_id)).mappings().one()
    assert row["status"] == "cancelled" and row["application_count"] == 80
    assert row["status_reason"] == "max_applications"  # the recruiter's dashboard shows why
    assert engine.get_many("offer", [target]) == {}
    late = client.post(URL, json=application_body(offer_id=target, email="late@example.org"))
    assert late.status_code == 410
    assert DEPOSIT_EMAIL in [r["to_address"] for r in _outbox(app_env)]


def test_the_idempotency_key_replays_the_first_answer_and_refuses_another_body(app_env, sink) -> None:
    client = app_env.test_client()
    headers = {"Idempotency-Key": "retry-123"}
    first = client.post(URL, json=application_body(), headers=headers)
    again = client.post(URL, json=application_body(), headers=headers)
    assert first.status_code == again.status_code == 202 and first.get_json() == again.get_json()
    other = client.post(URL, json=application_body(message="Autre lettre"), headers=headers)
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _deliver(app_env, sink)["sent"] == 2  # one application: one mail to the recruiter, one to the applicant
    with app_env.extensions["lba.store"].connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(applications)).scalar_one() == 1


def _links(message) -> dict[str, str]:  # type: ignore[no-untyped-def]
    text = message.body("plain")
    interview = re.search(r"entretien : (\S+)", text).group(1)
    refusal = re.search(r"refuse la candidature : (\S+)", text).group(1)
    return {"interview": interview.removeprefix("https://lba.test"), "refusal": refusal.removeprefix("https://lba.test")}


def test_the_recruiter_refuses_through_the_signed_link_and_the_applicant_is_told(app_env, sink) -> None:
    client = app_env.test_client()
    client.post(URL, json=application_body())
    _deliver(app_env, sink)
    links = _links(sink.messages[0])
    page = client.get(links["refusal"])
    assert page.status_code == 200 and "Motif du refus" in page.get_data(as_text=True)
    token = links["refusal"].split("token=")[1]
    csrf = csrf_token(page.get_data(as_text=True))
    no_reason = client.post("/candidature/reponse", data={"token": token, "csrf_token": csrf})
    assert no_reason.status_code == 400
    done = client.post("/candidature/reponse", data={"token": token, "reason": "contrat", "csrf_token": csrf,
                                                    "message": "Nous cherchons un contrat pro."})
    assert done.status_code == 200 and "Réponse envoyée" in done.get_data(as_text=True)
    _deliver(app_env, sink)
    told = sink.messages[-1]
    assert told.rcpt_tos == ["lea.dupont@example.org"]
    assert "Type de contrat inadapté" in told.body("plain") and "Nous cherchons un contrat pro." in told.body("plain")
    reused = client.post("/candidature/reponse", data={"token": token, "reason": "contrat", "csrf_token": csrf})
    assert reused.status_code == 409
    other_link = client.post("/api/v1/applications/reply", json={"token": links["interview"].split("token=")[1]})
    assert other_link.status_code == 409 and other_link.get_json()["error"]["code"] == "already_answered"


def test_an_interview_link_works_once_and_tampered_or_expired_links_fail(app_env, sink, monkeypatch) -> None:
    client = app_env.test_client()
    client.post(URL, json=application_body())
    _deliver(app_env, sink)
    token = _links(sink.messages[0])["interview"].split("token=")[1]
    tampered = token[:-3] + ("abc" if token[-3:] != "abc" else "abd")
    assert client.post("/api/v1/applications/reply", json={"token": tampered}).status_code == 400
    assert client.get(f"/candidature/reponse?token={tampered}").status_code == 400
    service = app_env.extensions["lba.applications"]
    application_id = sink.messages[0].body("plain") and service.tokens.read("application.reply", token)["id"]
    real_time = time.time
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real_time() - 31 * 86400)
    old = service.tokens.issue("application.reply", {"id": application_id, "intention": "interview"})
    monkeypatch.undo()
    expired = client.post("/api/v1/applications/reply", json={"token": old})
    assert expired.status_code == 410 and expired.get_json()["error"]["code"] == "link_expired"
    ok = client.post("/api/v1/applications/reply", json={"token": token, "message": "Venez mardi à 10 h."})
    assert ok.status_code == 200 and ok.get_json() == {"id": application_id, "intention": "interview"}
    assert client.post("/api/v1/applications/reply", json={"token": token}).status_code == 409
    _deliver(app_env, sink)
    assert "Venez mardi à 10 h." in sink.messages[-1].body("plain")
    assert str(sink.messages[-1].message["Subject"]) == "Garage du Rhône souhaite vous rencontrer"


def test_an_unreachable_recruiter_ends_failed_and_the_applicant_is_told(app_env, sink) -> None:
    sink.refuse_to[RECRUITER] = "550 5.1.1 boîte inconnue"
    app_env.test_client().post(URL, json=application_body())
    _deliver(app_env, sink)
    _deliver(app_env, sink)
    states = {row["kind"]: row["state"] for row in _outbox(app_env)}
    assert states == {"application.recruiter": "failed", "application.applicant": "sent",
                      "application.recruiter.failed": "sent"}
    assert str(sink.messages[-1].message["Subject"]) == "Votre candidature n'a pas pu être envoyée"


def test_nul_characters_are_dropped_not_stored(app_env) -> None:
    # PostgreSQL text cannot hold NUL: without the cleaning this is a 500 there.
    answer = app_env.test_client().post(URL, json=application_body(first_name="Lé\x00a", message="a\x00b"))
    assert answer.status_code == 202, answer.get_json()
    with app_env.extensions["lba.store"].connect() as conn:
        row = conn.execute(sa.select(applications)).mappings().one()
    assert (row["applicant_first_name"], row["message"]) == ("Léa", "ab")
