"""`lba offers lifecycle` and `lba offers export` (with their scheduled jobs) and `lba partners list`."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import click
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from app.config import Settings
from scripts.contact_cli import TIMEZONE, _logged, _parse_now, _settings

#: The public service's expiry cron runs every 30 minutes (reference §5.3); every 5 here, so an offer leaves
#: search within 5 minutes of its expiry (the engines' own filter is by day). One indexed query per run.
EVERY_MINUTES = 5


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
    """Offers deposited by recruiters and partners."""


@offers_group.command("lifecycle")
@click.option("--now", "now_text", default=None, help="Run as if at this time (ISO 8601; default now).")
def lifecycle_command(now_text: str | None) -> None:
    """Send the 7-day and 1-day reminders and expire offers past their date (each e-mail once)."""
    counts = run_lifecycle(_settings(), _parse_now(now_text) if now_text else None)
    click.echo(json.dumps(counts))


def add_offers_jobs(scheduler: BaseScheduler, settings: Settings) -> None:
    """The lifecycle every EVERY_MINUTES minutes: an offer leaves search at most that long after its expiry.

    Search itself never shows an expired offer in between: both engines filter on `expires_at`.
    """
    scheduler.add_job(_logged("offers_lifecycle", lambda: run_lifecycle(settings)),
                      IntervalTrigger(minutes=EVERY_MINUTES, timezone=TIMEZONE),
                      id="offers_lifecycle", name="offers_lifecycle", replace_existing=True)


@offers_group.command("export")
def offers_export() -> None:
    """Write the v3 JSON feed, its schema and France Travail's file to LBA_EXPORT_DIR, as the daily job does."""
    from indexers.pipeline import EXIT_CODES, run_job

    result = run_job("exports")
    click.echo(json.dumps({"outcome": result.outcome, "offers": result.indexed, "error": result.error},
                          ensure_ascii=False))
    raise SystemExit(EXIT_CODES.get(result.outcome, 1))


@click.group("partners")
def partners_group() -> None:
    """Partners of the write API (one per API key)."""


@partners_group.command("list")
def partners_list() -> None:
    """Each partner key with its active and total offers pushed through POST /api/v3/jobs."""
    from app.services.partner_jobs import partner_counts
    from app.services.partners import list_keys
    from scripts.store_cli import open_store

    store = open_store(Settings.from_env())
    counts = partner_counts(store, datetime.now(timezone.utc))
    for row in list_keys(store):
        mine = counts.get(row["id"], {"active": 0, "total": 0})
        state = "revoked" if row["revoked_at"] else "active"
        click.echo(f"{row['id']:>4}  {row['name']:<30} {state:<8} offers: {mine['active']} active / "
                   f"{mine['total']} total")
