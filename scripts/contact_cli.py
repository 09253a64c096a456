"""The `lba callbacks remind` and `lba privacy anonymise` commands and their scheduler jobs."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone

import click
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from app.config import ConfigError, Settings

log = logging.getLogger(__name__)
TIMEZONE = "Europe/Paris"


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("date ISO 8601 attendue, ex. 2026-03-02T09:00:00+01:00") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def run_reminders(settings: Settings, now: datetime | None = None) -> int:
    """Send the due reminders to CFAs; returns how many were queued."""
    from app.services.callbacks import send_reminders
    from app.services.contact_links import LinkSigner
    from scripts.store_cli import open_store

    return send_reminders(open_store(settings), LinkSigner(settings.secret_key),
                          now or datetime.now(timezone.utc), settings.public_base_url)


def run_anonymisation(settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Anonymise applicant data older than two years; returns rows per table."""
    from app.services.anonymise import anonymise
    from scripts.store_cli import open_store

    return anonymise(open_store(settings), now or datetime.now(timezone.utc))


@click.group("callbacks")
def callbacks_group() -> None:
    """Callback requests to CFAs ("RDV Apprentissage")."""


@callbacks_group.command("remind")
@click.option("--now", "now_text", default=None, help="Run as if at this time (ISO 8601; default now).")
def remind_command(now_text: str | None) -> None:
    """E-mail each CFA whose request is still unread after 3 working days (once per request)."""
    count = run_reminders(_settings(), _parse_now(now_text))
    click.echo(json.dumps({"reminders_sent": count}))


@click.group("privacy")
def privacy_group() -> None:
    """Personal data retention."""


@privacy_group.command("anonymise")
@click.option("--now", "now_text", default=None, help="Run as if at this time (ISO 8601; default now).")
def anonymise_command(now_text: str | None) -> None:
    """Anonymise applications, callback requests and opt-out requests older than two years."""
    counts = run_anonymisation(_settings(), _parse_now(now_text))
    click.echo(json.dumps({"anonymised": counts}, ensure_ascii=False))


def _logged(name: str, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            log.info("job %s: %s", name, job())
        except Exception:  # a failed run is logged; the next one retries
            log.exception("job %s failed", name)
    run.__name__ = f"run_{name}"
    return run


def add_contact_jobs(scheduler: BaseScheduler, settings: Settings) -> None:
    """Reminders every working hour (a due reminder waits at most an hour) and the nightly anonymisation.

    The anonymisation runs at 01:15 like the public service's night batch; reminders on weekday
    office hours, since a CFA reads its mail then (a request due at night is reminded at 9:00).
    """
    scheduler.add_job(_logged("callback_reminders", lambda: run_reminders(settings)),
                      CronTrigger(day_of_week="mon-fri", hour="9-18", minute=5, timezone=TIMEZONE),
                      id="callback_reminders", name="callback_reminders", replace_existing=True)
    scheduler.add_job(_logged("anonymise", lambda: run_anonymisation(settings)),
                      CronTrigger(hour=1, minute=15, timezone=TIMEZONE),
                      id="anonymise", name="anonymise", replace_existing=True)
