"""The `lba offers lifecycle` command and its scheduler job: reminders before expiry, then expiry."""
from __future__ import annotations

import json
from datetime import datetime

import click
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from app.config import Settings
from scripts.contact_cli import TIMEZONE, _logged, _parse_now, _settings

#: The public service's expiry cron runs every 30 minutes (reference §5.3).
EVERY_MINUTES = 30


def run_lifecycle(settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """One pass of the deposited offers' lifecycle; returns how many offers expired and were reminded."""
    from app.clock import SYSTEM_CLOCK
    from app.referentials import get_referentials
    from app.search import build_engine
    from app.services.recruiter_offers import RecruiterOffers
    from scripts.store_cli import open_store

    engine = build_engine(settings, SYSTEM_CLOCK)
    try:
        refs = get_referentials(settings.data_dir)
        service = RecruiterOffers(open_store(settings), engine, lambda: refs, settings, SYSTEM_CLOCK)
        return service.run_lifecycle(now)
    finally:
        engine.close()


@click.group("offers")
def offers_group() -> None:
    """Offers deposited by recruiters."""


@offers_group.command("lifecycle")
@click.option("--now", "now_text", default=None, help="Run as if at this time (ISO 8601; default now).")
def lifecycle_command(now_text: str | None) -> None:
    """Send the 7-day and 1-day reminders and expire offers past their date (each e-mail once)."""
    counts = run_lifecycle(_settings(), _parse_now(now_text) if now_text else None)
    click.echo(json.dumps(counts))


def add_offers_jobs(scheduler: BaseScheduler, settings: Settings) -> None:
    """The lifecycle every 30 minutes: an offer leaves search at most half an hour after its expiry.

    Search itself never shows an expired offer in between: both engines filter on `expires_at`.
    """
    scheduler.add_job(_logged("offers_lifecycle", lambda: run_lifecycle(settings)),
                      IntervalTrigger(minutes=EVERY_MINUTES, timezone=TIMEZONE),
                      id="offers_lifecycle", name="offers_lifecycle", replace_existing=True)
