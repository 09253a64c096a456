"""The `lba db` commands (migrations), `lba worker` (mail delivery) and `lba outbox status`."""
from __future__ import annotations

import logging
import signal
import sys
import threading

import click
from sqlalchemy.engine import Engine

from app.config import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def open_store(settings: Settings) -> Engine:
    """The store of `settings`, or a command-line error naming `lba db upgrade` when it is behind."""
    from app.store import StoreOutOfDate, get_store

    try:
        return get_store(settings.database_url)
    except StoreOutOfDate as exc:
        raise click.ClickException(str(exc)) from None


def upgrade_store(settings: Settings) -> str:
    """Run the pending migrations of the store of `settings`; returns the revision reached."""
    from app.store import upgrade
    from app.store.engine import engine_for

    return upgrade(engine_for(settings.database_url))


@click.group("db")
def db_group() -> None:
    """The transactional store's schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply every migration the database lacks (safe to run again)."""
    settings = _settings()
    click.echo(f"store at revision {upgrade_store(settings)}")


@db_group.command("current")
def db_current() -> None:
    """Print the database's revision and the code's; exit 1 if they differ."""
    from app.store.engine import engine_for
    from app.store.migrate import current_revision, head_revision

    current, head = current_revision(engine_for(_settings().database_url)), head_revision()
    click.echo(f"database {current or 'none'}, code {head}")
    if current != head:
        raise SystemExit(1)


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due, then exit.")
@click.option("--poll", type=float, default=2.0, show_default=True, help="Seconds between passes when idle.")
def worker_command(once: bool, poll: float) -> None:
    """Deliver the outbox's e-mails by SMTP until stopped (SIGTERM/SIGINT finish the current message)."""
    from app.services.mailer import SmtpConfig, SmtpSender
    from app.services.outbox import deliver, policy_of, run_worker, worker_id

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    settings = _settings()
    store = open_store(settings)
    config = SmtpConfig.from_settings(settings)
    if once:
        with SmtpSender(config) as sender:
            click.echo(deliver(store, sender, config.mail_from, worker_id(), policy_of(settings)))
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_worker(store, lambda: SmtpSender(config), config.mail_from, policy_of(settings), poll_s=poll, stop=stop)


@click.group("outbox")
def outbox_group() -> None:
    """The mail outbox."""


@outbox_group.command("status")
def outbox_status() -> None:
    """Messages per state (failed and unconfirmed ones need an operator's look)."""
    from app.services.outbox import status_counts

    counts = status_counts(open_store(_settings()))
    for state in ("pending", "sending", "committing", "sent", "failed", "unconfirmed"):
        click.echo(f"{state:<12} {counts.get(state, 0)}")


def add_outbox_job(scheduler, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Add a one-minute outbox pass to the scheduler: mail still leaves when no `lba worker` runs."""
    from apscheduler.triggers.interval import IntervalTrigger

    from app.services.mailer import SmtpConfig, SmtpSender
    from app.services.outbox import deliver, policy_of, worker_id

    config = SmtpConfig.from_settings(settings)

    def outbox_pass() -> None:
        with SmtpSender(config) as sender:
            deliver(open_store(settings), sender, config.mail_from, worker_id(), policy_of(settings))

    scheduler.add_job(outbox_pass, IntervalTrigger(minutes=1), id="outbox", name="outbox", max_instances=1,
                      coalesce=True)
