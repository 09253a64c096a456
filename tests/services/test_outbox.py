"""The outbox against a real SMTP server (aiosmtpd) on SQLite and PostgreSQL: delivery, retries, failure, kills."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.services.mailer import Rendered, SmtpConfig, SmtpSender
from app.services.outbox import OutboxPolicy, deliver, enqueue, status_counts, worker_id
from app.store import get_store, outbox, write_tx
from scripts.smtp_sink import Hold, SmtpSink
from tests.store.databases import wait_for

ROOT = Path(__file__).resolve().parents[2]
FROM = "La bonne alternance <ne-pas-repondre@lba.test>"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture()
def sink():
    with SmtpSink() as server:
        yield server


def _queue(url: str, count: int, to: str = "rh@entreprise.test", attach: bool = False, **options) -> list[str]:
    ids = []
    with write_tx(get_store(url)) as conn:
        for number in range(count):
            ids.append(enqueue(conn, kind="test.message", to=to, ref=("test", str(number)),
                               rendered=Rendered(f"Message {number} — été", f"Corps {number}\n.ligne à point\n",
                                                 f"<p>Corps {number}</p>"),
                               attachment=("cv.pdf", "application/pdf", PDF) if attach else None, **options))
    return ids


def _sender(sink: SmtpSink) -> SmtpSender:
    return SmtpSender(SmtpConfig(host=sink.host, port=sink.port, mail_from=FROM, timeout_s=10))


def _rows(url: str) -> list[dict]:
    with get_store(url).connect() as conn:
        return [dict(row) for row in conn.execute(sa.select(outbox).order_by(outbox.c.id)).mappings()]


def test_a_message_reaches_the_server_with_its_attachment_and_loses_it_once_sent(store_url, sink) -> None:
    [message_id] = _queue(store_url, 1, attach=True)
    with _sender(sink) as sender:
        counts = deliver(get_store(store_url), sender, FROM, worker_id(), OutboxPolicy())
    assert counts["sent"] == 1
    [received] = sink.messages
    assert received.rcpt_tos == ["rh@entreprise.test"] and received.message_id == message_id
    assert str(received.message["Subject"]) == "Message 0 — été"
    assert received.body("plain") == "Corps 0\n.ligne à point\n"  # dot-stuffing undone by the server
    assert received.body("html").strip() == "<p>Corps 0</p>"
    assert received.attachments() == [("cv.pdf", PDF)]
    [row] = _rows(store_url)
    assert row["state"] == "sent" and row["attachment"] is None and row["sent_at"] is not None


def test_refusals_are_retried_with_backoff_then_fail_visibly_and_tell_the_applicant(store_url, sink) -> None:
    sink.refuse_to["rh@entreprise.test"] = "451 4.2.1 boîte pleine, réessayez"
    _queue(store_url, 1, attach=True, max_attempts=3,
           on_failure={"to": "jeune@example.org", "subject": "Votre candidature n'a pas pu être envoyée",
                       "text": "Désolé.", "html": "<p>Désolé.</p>"})
    policy = OutboxPolicy(max_attempts=3, backoff_s=0.3, lease_s=30)
    store = get_store(store_url)
    with _sender(sink) as sender:
        assert deliver(store, sender, FROM, worker_id(), policy)["pending"] == 1
        first = _rows(store_url)[0]
        assert first["attempts"] == 1 and first["state"] == "pending" and "451" in first["last_error"]
        assert deliver(store, sender, FROM, worker_id(), policy)["pending"] == 0  # not due before its backoff
        time.sleep(0.35)
        assert deliver(store, sender, FROM, worker_id(), policy)["pending"] == 1
        second = _rows(store_url)[0]
        assert (second["next_attempt_at"] - first["next_attempt_at"]).total_seconds() >= 0.55  # doubled delay
        time.sleep(0.65)
        assert deliver(store, sender, FROM, worker_id(), policy)["failed"] == 1
        assert deliver(store, sender, FROM, worker_id(), policy)["sent"] == 1  # the notice to the applicant
    failed, notice = _rows(store_url)
    assert failed["state"] == "failed" and failed["attempts"] == 3 and failed["attachment"] is None
    assert notice["kind"] == "test.message.failed" and notice["state"] == "sent"
    assert [m.rcpt_tos for m in sink.messages] == [["jeune@example.org"]]
    assert status_counts(store) == {"failed": 1, "sent": 1}


def test_a_permanent_refusal_fails_at_once(store_url, sink) -> None:
    sink.refuse_to["rh@entreprise.test"] = "550 5.1.1 adresse inconnue"
    _queue(store_url, 1)
    with _sender(sink) as sender:
        assert deliver(get_store(store_url), sender, FROM, worker_id(), OutboxPolicy())["failed"] == 1
    assert _rows(store_url)[0]["attempts"] == 1


def _worker(url: str, sink: SmtpSink, lease_s: int = 2) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "SMTP_HOST": sink.host,
           "SMTP_PORT": str(sink.port), "LBA_OUTBOX_LEASE_S": str(lease_s), "LBA_MAIL_FROM": FROM,
           "LBA_EMBEDDING_MODEL": "none"}
    return subprocess.Popen([sys.executable, "-c", "import sys; from scripts.cli import main; sys.exit(main())",
                             "worker", "--poll", "0.2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _stop(worker: subprocess.Popen) -> str:
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=30)
    return err


@pytest.mark.parametrize("step", ["rcpt", "data"])
def test_a_worker_killed_between_claim_and_record_delivers_each_message_once(store_url, sink, step) -> None:
    """SIGKILL while message 3 of 6 is in flight: before the server holds it ("rcpt") or after ("data")."""
    ids = _queue(store_url, 6, attach=True)
    sink.hold = Hold(at=step, nth=3)
    first = _worker(store_url, sink)
    try:
        assert sink.hold.reached.wait(60), "the worker never reached message 3"
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    in_flight = {row["state"] for row in _rows(store_url)}
    assert in_flight <= {"sent", "sending", "committing"} and in_flight & {"sending", "committing"}
    sink.hold.release.set()
    second = _worker(store_url, sink)
    try:
        assert wait_for(lambda: all(row["state"] in ("sent", "unconfirmed") for row in _rows(store_url)), 60)
    finally:
        _stop(second)
    assert sink.by_message_id() == {message_id: 1 for message_id in ids}
    states = [row["state"] for row in _rows(store_url)]
    # Killed after the server held message 3: recorded unconfirmed, never sent again; otherwise all sent.
    assert states == (["sent"] * 6 if step == "rcpt" else ["sent", "sent", "unconfirmed", "sent", "sent", "sent"])
    assert all(row["attachment"] is None for row in _rows(store_url))


def test_concurrent_workers_share_the_outbox_without_duplicates(store_url, sink) -> None:
    ids = _queue(store_url, 120)
    workers = [_worker(store_url, sink, lease_s=60) for _ in range(3)]
    try:
        assert wait_for(lambda: status_counts(get_store(store_url)).get("sent") == 120, 120)
    finally:
        errors = [_stop(worker) for worker in workers]
    assert sink.by_message_id() == {message_id: 1 for message_id in ids}, errors
    assert not any("locked" in err for err in errors)


def test_the_scheduler_job_delivers_when_no_worker_runs(store_url, sink, settings) -> None:
    from dataclasses import replace

    from apscheduler.schedulers.background import BackgroundScheduler

    from scripts.store_cli import add_outbox_job

    [message_id] = _queue(store_url, 1)
    scheduler = BackgroundScheduler()
    add_outbox_job(scheduler, replace(settings, database_url=store_url, smtp_host=sink.host, smtp_port=sink.port))
    job = scheduler.get_job("outbox")
    assert job is not None and job.trigger.interval.total_seconds() == 60
    job.func()
    assert sink.by_message_id() == {message_id: 1}
