"""Callback requests ("RDV Apprentissage") on SQLite and PostgreSQL, e-mails delivered to a real local SMTP server."""
from __future__ import annotations

from datetime import timedelta, timezone

import pytest
import sqlalchemy as sa

from app.search.embedded import EmbeddedEngine
from app.services import callbacks
from app.services.callbacks import CallbackInput
from app.services.contact_links import LinkError, LinkExpired, LinkSigner
from app.store import get_store, outbox
from app.store.contact import callback_requests
from scripts.smtp_sink import SmtpSink
from tests.services.contact_env import APPLICANT_EMAIL, BASE_URL, CFA_EMAIL, SECRET, deliver_all, formation_doc, paris
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures: every test runs on both databases

KEY = "101249P01313538697790003635386977900036-93006#L01"


@pytest.fixture()
def engine(tmp_path):
    built = EmbeddedEngine(tmp_path / "index")
    with built.new_generation("formation") as builder:
        builder.add([formation_doc(KEY), formation_doc("NO-EMAIL", email=""),
                     formation_doc("NOT-ELIGIBLE", eligible=False)])
    yield built
    built.close()


@pytest.fixture()
def store(store_url):  # noqa: F811
    return get_store(store_url)


@pytest.fixture()
def sink():
    with SmtpSink() as running:
        yield running


SIGNER = LinkSigner(SECRET)


def _request(**changes) -> CallbackInput:
    values = dict(formation_id=KEY, first_name="Camille", last_name="Durand", email=APPLICANT_EMAIL,
                  phone="06 12 34 56 78", applicant_type="etudiant", reasons=["modalite", "frais"],
                  message="Bonjour, je voudrais connaître les dates de rentrée.")
    values.update(changes)
    return CallbackInput(**values)


def _row(store, request_id):
    with store.connect() as conn:
        return conn.execute(sa.select(callback_requests).where(callback_requests.c.id == request_id)).mappings().one()


def _utc(moment):
    # SQLite gives naive UTC datetimes back, PostgreSQL aware ones.
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _token(url: str) -> tuple[str, str]:
    path, token = url.split("?token=")
    return path.rsplit("/", 1)[1], token


def test_a_request_is_stored_with_its_two_emails_and_both_are_delivered(store, engine, sink) -> None:
    now = paris("2026-03-06 15:00")
    created = callbacks.create_callback(store, engine, SIGNER, _request(), now, BASE_URL)
    with store.connect() as conn:
        kinds = sorted(r.kind for r in conn.execute(sa.select(outbox.c.kind).where(outbox.c.ref_id == created["id"])))
    assert kinds == ["callback.applicant", "callback.cfa"]
    received = {m.rcpt_tos[0]: m for m in deliver_all(store, sink)}
    assert set(received) == {CFA_EMAIL, APPLICANT_EMAIL.lower()}
    to_cfa = received[CFA_EMAIL]
    assert to_cfa.message["Subject"] == "La bonne alternance - un candidat a un message pour vous"
    text = to_cfa.body("plain")
    assert "Camille Durand (un jeune)" in text and "CAP Boulanger" in text
    assert "Modalités d'inscription" in text and "Frais d'inscription" in text and "dates de rentrée" in text
    link = next(word for word in text.split() if word.startswith(f"{BASE_URL}/rdva/cfa/"))
    assert link in to_cfa.body("html").replace("&amp;", "&")
    request_id, token = _token(link)
    assert request_id == created["id"]
    view = callbacks.open_for_cfa(store, SIGNER, request_id, token, now + timedelta(hours=1))
    assert view["phone"] == "06 12 34 56 78"
    to_applicant = received[APPLICANT_EMAIL.lower()]
    assert to_applicant.message["Subject"] == "Votre demande de RDV auprès de CFA des métiers de bouche"
    assert "Bonjour Camille" in to_applicant.body("plain")


def test_the_same_address_for_the_same_formation_within_4_days_is_refused_with_the_pending_date(store, engine) -> None:
    first = paris("2026-03-06 15:00")
    callbacks.create_callback(store, engine, SIGNER, _request(), first, BASE_URL)
    with pytest.raises(callbacks.RequestPending) as refused:
        # Another case of the same address, three days and 23 hours later.
        callbacks.create_callback(store, engine, SIGNER, _request(email=APPLICANT_EMAIL.upper()),
                                  first + timedelta(days=3, hours=23), BASE_URL)
    assert refused.value.message == ("Une demande de prise de RDV en date du 06/03/2026 est actuellement en cours "
                                     "de traitement.")
    assert refused.value.details == {"pending_since": "2026-03-06"}
    # Nothing of the refused request was kept: one row, two e-mails.
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(callback_requests)).scalar() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar() == 2
    # Another address, or the same address four days later, goes through.
    callbacks.create_callback(store, engine, SIGNER, _request(email="autre@example.net"),
                              first + timedelta(days=1), BASE_URL)
    callbacks.create_callback(store, engine, SIGNER, _request(), first + timedelta(days=4, seconds=1), BASE_URL)


@pytest.mark.parametrize("formation_id, error", [("NO-EMAIL", callbacks.CallbackUnavailable),
                                                  ("NOT-ELIGIBLE", callbacks.CallbackUnavailable),
                                                  ("UNKNOWN", callbacks.FormationNotFound)])
def test_only_formations_taking_requests_with_a_contact_email_accept_them(store, engine, formation_id, error) -> None:
    with pytest.raises(error):
        callbacks.create_callback(store, engine, SIGNER, _request(formation_id=formation_id),
                                  paris("2026-03-06 15:00"), BASE_URL)
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(callback_requests)).scalar() == 0


def _answer_link(store, engine, now, **changes) -> tuple[str, str]:
    created = callbacks.create_callback(store, engine, SIGNER, _request(**changes), now, BASE_URL)
    return created["id"], SIGNER.sign(callbacks.ANSWER_PURPOSE, created["id"], now)


def test_the_cfa_reads_then_answers_once_and_the_applicant_gets_the_message(store, engine, sink) -> None:
    sent = paris("2026-03-06 15:00")
    request_id, token = _answer_link(store, engine, sent)
    deliver_all(store, sink)
    opened = sent + timedelta(hours=2)
    callbacks.open_for_cfa(store, SIGNER, request_id, token, opened)
    callbacks.open_for_cfa(store, SIGNER, request_id, token, opened + timedelta(hours=1))
    assert _utc(_row(store, request_id)["read_at"]) == opened
    with pytest.raises(callbacks.CallbackError):
        callbacks.answer_callback(store, SIGNER, request_id, token, "personalised_answer", "  ", opened)
    answered = opened + timedelta(minutes=5)
    callbacks.answer_callback(store, SIGNER, request_id, token, "personalised_answer",
                              "Bonjour Camille, la rentrée est le 1er septembre.", answered)
    row = _row(store, request_id)
    assert row["answer_kind"] == "personalised_answer" and _utc(row["answered_at"]) == answered
    [mail] = deliver_all(store, sink)
    assert mail.rcpt_tos == [APPLICANT_EMAIL.lower()]
    assert mail.message["Subject"] == "La bonne alternance - Le centre de formation vous répond"
    assert "la rentrée est le 1er septembre" in mail.body("plain")
    with pytest.raises(callbacks.AlreadyAnswered) as again:
        callbacks.answer_callback(store, SIGNER, request_id, token, "other_channel", "", answered)
    assert again.value.message == "Vous avez déjà répondu à cette demande le 06/03/2026 à 17:05."
    assert deliver_all(store, sink) == []


def test_contacted_by_other_means_is_recorded_and_sends_nothing(store, engine, sink) -> None:
    sent = paris("2026-03-06 15:00")
    request_id, token = _answer_link(store, engine, sent)
    deliver_all(store, sink)
    callbacks.answer_callback(store, SIGNER, request_id, token, "other_channel", "ignored", sent + timedelta(days=1))
    row = _row(store, request_id)
    assert row["answer_kind"] == "other_channel" and row["answer_message"] is None and row["read_at"] is not None
    assert deliver_all(store, sink) == []


def test_answer_links_tampered_expired_or_for_another_request_are_refused(store, engine) -> None:
    sent = paris("2026-03-06 15:00")
    request_id, token = _answer_link(store, engine, sent)
    other_id, _ = _answer_link(store, engine, sent, email="autre@example.net")
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(LinkError):
        callbacks.open_for_cfa(store, SIGNER, request_id, tampered, sent)
    with pytest.raises(LinkError):
        callbacks.open_for_cfa(store, SIGNER, other_id, token, sent)
    with pytest.raises(LinkError):
        callbacks.open_for_cfa(store, LinkSigner("another-key"), request_id, token, sent)
    with pytest.raises(LinkError):  # a token of another purpose for the same id
        callbacks.open_for_cfa(store, SIGNER, request_id, SIGNER.sign("company-opt-out", request_id, sent), sent)
    with pytest.raises(LinkExpired):
        callbacks.open_for_cfa(store, SIGNER, request_id, token, sent + timedelta(days=30, seconds=1))
    assert _row(store, request_id)["read_at"] is None
    callbacks.open_for_cfa(store, SIGNER, request_id, token, sent + timedelta(days=29))


def test_an_unread_request_is_reminded_once_after_three_working_days(store, engine, sink) -> None:
    friday = paris("2026-03-06 15:00")
    request_id, _ = _answer_link(store, engine, friday)
    read_id = callbacks.create_callback(store, engine, SIGNER, _request(email="lu@example.net"), friday,
                                        BASE_URL)["id"]
    callbacks.open_for_cfa(store, SIGNER, read_id, SIGNER.sign(callbacks.ANSWER_PURPOSE, read_id, friday),
                           friday + timedelta(hours=1))
    deliver_all(store, sink)
    # Monday, Tuesday, Wednesday are the three working days: not due before Wednesday 15:00.
    for moment in ("2026-03-09 15:00", "2026-03-10 18:00", "2026-03-11 14:59"):
        assert callbacks.send_reminders(store, SIGNER, paris(moment), BASE_URL) == 0
    assert callbacks.send_reminders(store, SIGNER, paris("2026-03-11 15:00"), BASE_URL) == 1
    assert callbacks.send_reminders(store, SIGNER, paris("2026-03-12 09:00"), BASE_URL) == 0
    [mail] = deliver_all(store, sink)
    assert mail.rcpt_tos == [CFA_EMAIL]
    assert mail.message["Subject"] == "Rappel : un candidat attend votre réponse (CAP Boulanger)"
    link = next(word for word in mail.body("plain").split() if word.startswith(f"{BASE_URL}/rdva/cfa/"))
    assert _token(link)[0] == request_id
    assert _row(store, request_id)["reminded_at"] is not None and _row(store, read_id)["reminded_at"] is None
    # The fresh link of the reminder works after the first one expired.
    callbacks.open_for_cfa(store, SIGNER, request_id, _token(link)[1], friday + timedelta(days=32))


def test_a_reminder_skips_public_holidays(store, engine) -> None:
    thursday = paris("2026-04-30 10:00")  # then 1 May (Friday) and a weekend
    _answer_link(store, engine, thursday)
    assert callbacks.send_reminders(store, SIGNER, paris("2026-05-05 10:00"), BASE_URL) == 0
    assert callbacks.send_reminders(store, SIGNER, paris("2026-05-06 10:00"), BASE_URL) == 1


def test_simultaneous_requests_of_one_address_for_one_formation_store_exactly_one(store, engine) -> None:
    import threading

    now = paris("2026-03-06 15:00")
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def post() -> None:
        barrier.wait()
        try:
            callbacks.create_callback(store, engine, SIGNER, _request(), now, BASE_URL)
            outcomes.append("stored")
        except callbacks.RequestPending:
            outcomes.append("pending")

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["pending"] * 5 + ["stored"]
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(callback_requests)).scalar() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar() == 2
