"""Anonymisation after two years, under a controlled clock, on SQLite and PostgreSQL; the CLI commands."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from app.search.embedded import EmbeddedEngine
from app.services import callbacks
from app.services.anonymise import REDACTED, anonymise, cutoff
from app.services.callbacks import CallbackInput
from app.services.contact_links import LinkSigner
from app.services.mailer import Rendered
from app.services.outbox import enqueue
from app.store import applications, get_store, outbox, upgraded_store, write_tx
from app.store.contact import callback_requests
from scripts.cli import main as lba
from scripts.smtp_sink import SmtpSink
from tests.services.contact_env import APPLICANT_EMAIL, BASE_URL, SECRET, deliver_all, formation_doc, paris
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures: every test runs on both databases

KEY = "F-ANON"
SIGNER = LinkSigner(SECRET)


@pytest.fixture()
def engine(tmp_path):
    built = EmbeddedEngine(tmp_path / "index")
    with built.new_generation("formation") as builder:
        builder.add([formation_doc(KEY)])
    yield built
    built.close()


def _callback(store, engine, email: str, when: datetime) -> str:
    request = CallbackInput(formation_id=KEY, first_name="Camille", last_name="Durand", email=email,
                            phone="0612345678", applicant_type="parent", reasons=["autre"], message="Rappelez-moi")
    return callbacks.create_callback(store, engine, SIGNER, request, when, BASE_URL)["id"]


def _application(store, application_id: str, when: datetime) -> None:
    with write_tx(store) as conn:
        conn.execute(sa.insert(applications).values(
            id=application_id, created_at=when, applicant_first_name="Léa", applicant_last_name="Martin",
            applicant_email="lea.martin@example.net", applicant_phone="0611111111", message="Ma lettre",
            answers=[{"question": "Permis ?", "answer": "Oui"}], extra={}, target_kind="company",
            target_id="80841382700011", target_siret="80841382700011", cv_name="cv-lea-martin.pdf", cv_type="pdf",
            cv_size=10, cv_sha256="0" * 64))
        enqueue(conn, kind="application.applicant", to="lea.martin@example.net",
                rendered=Rendered("Votre candidature", "Bonjour Léa", "<p>Bonjour Léa</p>"),
                ref=("application", application_id), now=when)


def test_cutoff_is_two_calendar_years() -> None:
    assert cutoff(datetime(2028, 3, 6, 12, tzinfo=timezone.utc)) == datetime(2026, 3, 6, 12, tzinfo=timezone.utc)
    assert cutoff(datetime(2028, 2, 29, tzinfo=timezone.utc)) == datetime(2026, 2, 28, tzinfo=timezone.utc)


def test_applicant_data_older_than_two_years_is_anonymised_with_its_emails(store_url, engine) -> None:  # noqa: F811
    store = get_store(store_url)
    old_time, recent_time = paris("2026-03-06 15:00"), paris("2026-09-01 10:00")
    old = _callback(store, engine, APPLICANT_EMAIL, old_time)
    recent = _callback(store, engine, "recent@example.net", recent_time)
    _application(store, "a" * 32, old_time)
    _application(store, "b" * 32, recent_time)
    with SmtpSink() as sink:
        assert len(deliver_all(store, sink)) == 6
    # One second before the second birthday nothing goes; at it, the old rows do.
    assert anonymise(store, old_time.replace(year=2028) - timedelta(seconds=1)) == {
        "applications": 0, "callback_requests": 0, "company_opt_out_requests": 0}
    now = old_time.replace(year=2028) + timedelta(seconds=1)
    assert anonymise(store, now) == {"applications": 1, "callback_requests": 1, "company_opt_out_requests": 0}
    assert anonymise(store, now) == {"applications": 0, "callback_requests": 0, "company_opt_out_requests": 0}
    with store.connect() as conn:
        rows = {r["id"]: r for r in conn.execute(sa.select(callback_requests)).mappings()}
        apps = {r["id"]: r for r in conn.execute(sa.select(applications)).mappings()}
        mails = list(conn.execute(sa.select(outbox)).mappings())
    assert (rows[old]["email"], rows[old]["first_name"], rows[old]["phone"], rows[old]["message"]) == (
        REDACTED, REDACTED, "", "")
    assert rows[old]["anonymised_at"] is not None and rows[old]["formation_id"] == KEY  # statistics stay
    assert rows[recent]["email"] == "recent@example.net" and rows[recent]["anonymised_at"] is None
    assert apps["a" * 32]["applicant_email"] == REDACTED and apps["a" * 32]["answers"] == []
    assert apps["a" * 32]["cv_name"] == "" and apps["b" * 32]["applicant_email"] == "lea.martin@example.net"
    old_mails = [m for m in mails if m["ref_id"] in (old, "a" * 32)]
    assert len(old_mails) == 3 and all(m["to_address"] == REDACTED and m["text_body"] == "" for m in old_mails)
    blob = json.dumps([dict(m) for m in old_mails], default=str)
    assert APPLICANT_EMAIL.lower() not in blob and "Camille" not in blob and "Léa" not in blob
    assert all(m["to_address"] != REDACTED for m in mails if m["ref_id"] in (recent, "b" * 32))
    # An anonymised request's answer page is gone.
    with pytest.raises(callbacks.FormationNotFound):
        callbacks.open_for_cfa(store, SIGNER, old, SIGNER.sign(callbacks.ANSWER_PURPOSE, old, now), now)


def test_the_cli_commands_run_the_jobs(tmp_path, engine, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    upgraded_store(url)
    store = get_store(url)
    created = paris("2026-03-06 15:00")
    _callback(store, engine, APPLICANT_EMAIL, created)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LBA_SECRET_KEY", SECRET)
    runner = CliRunner()
    early = runner.invoke(lba, ["callbacks", "remind", "--now", "2026-03-11T14:00:00+01:00"])
    assert early.exit_code == 0, early.output
    assert json.loads(early.output.strip().splitlines()[-1]) == {"reminders_sent": 0}
    due = runner.invoke(lba, ["callbacks", "remind", "--now", "2026-03-11T15:00:00+01:00"])
    assert json.loads(due.output.strip().splitlines()[-1]) == {"reminders_sent": 1}
    result = runner.invoke(lba, ["privacy", "anonymise", "--now", "2028-03-07T00:00:00+01:00"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["anonymised"]["callback_requests"] == 1


def test_the_scheduler_runs_reminders_on_weekday_office_hours_and_anonymisation_nightly(settings) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from scripts.contact_cli import add_contact_jobs

    scheduler = BackgroundScheduler(timezone="Europe/Paris")
    add_contact_jobs(scheduler, settings)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"callback_reminders", "anonymise"}
    friday_evening = paris("2026-03-06 18:30")
    assert jobs["callback_reminders"].trigger.get_next_fire_time(None, friday_evening) == paris("2026-03-09 09:05")
    assert jobs["anonymise"].trigger.get_next_fire_time(None, friday_evening) == paris("2026-03-07 01:15")
