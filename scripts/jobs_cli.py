"""The `lba jobs` commands and `lba scheduler`: run a job once, list recent runs, manage opt-outs, schedule."""
from __future__ import annotations

import json
import logging
import re
import signal
import sys
from datetime import datetime, timezone
from typing import Any

import click
import sqlalchemy as sa

from app.config import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _store(settings: Settings):  # type: ignore[no-untyped-def]
    from scripts.store_cli import open_store
    return open_store(settings)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


OUTCOME_LABELS = {"success": "succès", "failed": "échec", "refused_threshold": "refusé (seuil)",
                  "skipped_locked": "ignoré (déjà en cours)", "running": "en cours"}


@click.group("jobs")
def jobs_group() -> None:
    """Scheduled import jobs: run once, recent runs, opted-out companies."""


@jobs_group.command("list")
def jobs_list() -> None:
    """List the jobs and when the scheduler runs them."""
    from indexers.jobs import JOBS
    from indexers.scheduler import SCHEDULES

    when = {s.job: s.trigger for s in SCHEDULES}
    for name, job in JOBS.items():
        trigger = {k: v for k, v in when.get(name, {}).items() if k != "type"}
        click.echo(f"{name:<13} {job.label}  [{', '.join(f'{k}={v}' for k, v in trigger.items())}]")


@jobs_group.command("run")
@click.argument("name")
@click.option("--force", is_flag=True, help="Publish even when far fewer documents than last time.")
def jobs_run(name: str, force: bool) -> None:
    """Run job NAME once (offers, formations, recruiters, deposited, referentials).

    Exit code: 0 success, 1 failure, 2 refused by the safety threshold, 3 another run holds the lock.
    """
    from indexers.job_settings import JobSettings
    from indexers.jobs import JOBS
    from indexers.pipeline import run_job

    if name not in JOBS:
        raise click.ClickException(f"tâche inconnue {name!r} : {', '.join(JOBS)}")
    _logging()
    settings = _settings()
    try:
        job_settings = JobSettings.from_env(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    result = run_job(name, settings=settings, job_settings=job_settings, force=force)
    rejected = ", ".join(f"{reason} : {count}" for reason, count in sorted(result.rejected.items())) or "aucun"
    click.echo(f"{name} : {OUTCOME_LABELS.get(result.outcome, result.outcome)} — lus {result.read}, "
               f"indexés {result.indexed}, rejetés {sum(result.rejected.values())} ({rejected}) "
               f"en {result.duration_s:.1f} s")
    if result.error:
        click.echo(f"erreur : {result.error}", err=True)
    sys.exit(result.exit_code)


@jobs_group.command("runs")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--job", "job", default=None, help="Only this job's runs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array (for monitoring).")
def jobs_runs(limit: int, job: str | None, as_json: bool) -> None:
    """Show recent runs, newest first: outcome, counts, rejections by reason, duration."""
    from indexers.runs import recent_runs

    runs = recent_runs(_store(_settings()), limit=limit, job=job)
    if as_json:
        click.echo(json.dumps(runs, ensure_ascii=False, indent=1))
        return
    if not runs:
        click.echo("aucune exécution enregistrée")
        return
    click.echo(f"{'début (UTC)':<20} {'tâche':<13} {'résultat':<24} {'lus':>8} {'indexés':>8} {'rejetés':>8} "
               f"{'durée':>8}")
    for run in runs:
        duration = f"{run['duration_s']:.1f} s" if run["duration_s"] is not None else "–"
        click.echo(f"{run['started_at'][:19]:<20} {run['job']:<13} "
                   f"{OUTCOME_LABELS.get(run['outcome'], run['outcome']):<24} {run['read_count']:>8} "
                   f"{run['indexed_count']:>8} {run['rejected_count']:>8} {duration:>8}")
        if run["rejected"]:
            click.echo("    rejets : " + ", ".join(f"{k} : {v}" for k, v in run["rejected"].items()))
        if run["error"]:
            click.echo(f"    erreur : {run['error']}")


@jobs_group.group("opt-out")
def opt_out_group() -> None:
    """Companies that asked never to be listed among predicted recruiters."""


def _siret(value: str) -> str:
    siret = re.sub(r"\s", "", value)
    if not re.fullmatch(r"\d{14}", siret):
        raise click.BadParameter("un SIRET a 14 chiffres")
    return siret


@opt_out_group.command("add")
@click.argument("siret")
@click.option("--reason", default="", help="Why (the company's request, a complaint...).")
def opt_out_add(siret: str, reason: str) -> None:
    """Record SIRET as opted out and remove it from the published companies index at once."""
    from app.search import build_engine
    from app.search.contract import EngineUnavailable
    from app.store import company_opt_outs

    siret = _siret(siret)
    settings = _settings()
    store = _store(settings)
    with store.begin() as conn:
        exists = conn.execute(sa.select(company_opt_outs.c.siret).where(company_opt_outs.c.siret == siret)).first()
        if exists is None:
            conn.execute(sa.insert(company_opt_outs).values(siret=siret, reason=reason,
                                                            created_at=datetime.now(timezone.utc)))
    engine = build_engine(settings)
    try:
        removed = engine.delete("company", [siret])
    except EngineUnavailable:
        removed = 0
    finally:
        engine.close()
    click.echo(f"{siret} : {'déjà exclu' if exists else 'exclu'} des recruteurs"
               f"{', retiré de l’index' if removed else ''}")


@opt_out_group.command("remove")
@click.argument("siret")
def opt_out_remove(siret: str) -> None:
    """Forget an opt-out; the company comes back with the next recruiters import."""
    from app.store import company_opt_outs

    siret = _siret(siret)
    with _store(_settings()).begin() as conn:
        gone = conn.execute(sa.delete(company_opt_outs).where(company_opt_outs.c.siret == siret)).rowcount
    if not gone:
        raise click.ClickException(f"{siret} n’est pas exclu")
    click.echo(f"{siret} : exclusion levée (effective au prochain import des recruteurs)")


@opt_out_group.command("list")
def opt_out_list() -> None:
    """List opted-out companies."""
    from app.store import company_opt_outs

    with _store(_settings()).connect() as conn:
        rows: list[Any] = list(conn.execute(sa.select(company_opt_outs).order_by(company_opt_outs.c.created_at)))
    for row in rows:
        click.echo(f"{row.siret}  {row.created_at:%Y-%m-%d}  {row.reason}")
    if not rows:
        click.echo("aucune entreprise exclue")


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler process: every job on its cron, Europe/Paris time, until stopped."""
    from indexers.scheduler import build_scheduler

    _logging()
    _settings()  # fail now, not at 1 a.m., on a bad configuration
    scheduler = build_scheduler(blocking=True)
    from scripts.store_cli import add_outbox_job
    add_outbox_job(scheduler, _settings())
    from scripts.contact_cli import add_contact_jobs
    add_contact_jobs(scheduler, _settings())
    from scripts.offers_cli import add_offers_jobs
    add_offers_jobs(scheduler, _settings())
    # `docker stop` sends SIGTERM: stop like Ctrl-C (running jobs finish or are recovered by the next run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for job in scheduler.get_jobs():
        click.echo(f"{job.id:<13} {job.trigger}")
    click.echo("planificateur démarré (Ctrl-C pour arrêter)")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("planificateur arrêté")
