"""The build-and-swap pipeline: lock, fetch, map, fill a new generation, check the threshold, publish, record."""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.engine import Engine

from app.config import Settings
from app.referentials import ReferenceDataError, Referentials, get_referentials
from app.referentials.regions import get_regions
from app.search import build_engine
from app.search.contract import SearchEngine
from app.store import get_store
from indexers import deposited, france_travail_api, referentials as referentials_refresh
from indexers.breakdown import Breakdown
from indexers.job_settings import JobSettings
from indexers.jobs import JOBS, Job, JobContext
from indexers.locks import JobLock
from indexers.runs import last_success, record_finish, record_skipped, record_start

log = logging.getLogger(__name__)

#: Exit codes of `lba jobs run`, by outcome.
EXIT_CODES = {"success": 0, "failed": 1, "refused_threshold": 2, "skipped_locked": 3}


class ThresholdRefused(RuntimeError):
    """A build produced far fewer documents than the last published one: discarded, not published."""


@dataclass(frozen=True)
class RunResult:
    """How a run ended, with its record's id and figures."""

    job: str
    outcome: str
    run_id: int
    read: int = 0
    indexed: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    generation: str | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """The CLI exit code of this outcome (0 only for a success)."""
        return EXIT_CODES.get(self.outcome, 1)


# ----- the run -----------------------------------------------------------------------------------------
def check_threshold(indexed: int, previous: int | None, min_ratio: float) -> None:
    """Raise ThresholdRefused when `indexed` is below `min_ratio` × the previous published count."""
    if previous and indexed < min_ratio * previous:
        raise ThresholdRefused(f"{indexed} documents, fewer than {min_ratio:g} × {previous} of the last "
                               f"published run: generation discarded, the previous one keeps serving")


def _build_and_publish(job: Job, ctx: JobContext, force: bool) -> None:
    """New generation ← documents; threshold check inside the build (so a refusal discards it); then publish."""
    assert job.kind is not None and job.documents is not None
    previous = last_success(ctx.store, job.name)
    previous_count = previous["indexed_count"] if previous else None
    ctx.details.update(previous_indexed=previous_count, min_ratio=ctx.job_settings.min_ratio)
    try:
        # Deposited offers change every few minutes after the build: the statistics count them from the store.
        ctx.breakdown = Breakdown(get_regions(ctx.refs.data_dir), live_sources=(deposited.SOURCE,))
    except ReferenceDataError as exc:  # the public statistics' breakdown is never worth a failed import
        log.warning("job %s: no breakdown by region: %s", job.name, exc)
        ctx.details["breakdown_skipped"] = str(exc)
    with ctx.engine.new_generation(job.kind) as builder:
        ctx.generation = builder.generation
        documents = job.documents(ctx)
        added = builder.add(ctx.breakdown.counted(documents) if ctx.breakdown is not None else documents)
        ctx.details["documents"] = added
        if not force:
            check_threshold(added, previous_count, ctx.job_settings.min_ratio)
    if job.after_publish is not None:
        job.after_publish(ctx)
    if ctx.breakdown is not None:
        # Read by the public statistics: {source: {region code: documents}} of what this run published.
        ctx.details["breakdown"] = {"kind": job.kind, "counts": ctx.breakdown.as_dict()}


def run_job(name: str, *, settings: Settings | None = None, job_settings: JobSettings | None = None,
            store: Engine | None = None, engine: SearchEngine | None = None, refs: Referentials | None = None,
            ft_client: france_travail_api.FranceTravailClient | None = None, force: bool = False) -> RunResult:
    """Run job `name` once under its lock and record the run; never raises for a failed source or build.

    `force` publishes even below the safety threshold (an operator who knows the source shrank).
    """
    if name not in JOBS:
        raise ValueError(f"unknown job {name!r}: one of {', '.join(JOBS)}")
    job = JOBS[name]
    settings = settings or Settings.from_env()
    job_settings = job_settings or JobSettings.from_env(settings)
    store = store or get_store(settings.database_url)
    lock = JobLock(store, name)
    if not lock.acquire():
        return _skipped(store, name, lock)
    try:
        return _run_locked(job, lock, settings, job_settings, store, engine, refs, ft_client, force)
    finally:
        lock.release()


def _skipped(store: Engine, name: str, lock: JobLock) -> RunResult:
    holder = lock.holder
    details = {"held_by": {"host": holder.host, "pid": holder.pid,
                           "since": holder.acquired_at.isoformat(timespec="seconds")}} if holder else {}
    run_id = record_skipped(store, name, datetime.now(timezone.utc), details)
    log.warning("job %s not started: another run holds the lock (%s)", name, details.get("held_by"))
    return RunResult(name, "skipped_locked", run_id, details=details)


def _run_locked(job: Job, lock: JobLock, settings: Settings, job_settings: JobSettings, store: Engine,
                engine: SearchEngine | None, refs: Referentials | None,
                ft_client: france_travail_api.FranceTravailClient | None, force: bool) -> RunResult:
    started_at = datetime.now(timezone.utc)
    ctx = JobContext(job=job.name, settings=settings, job_settings=job_settings, store=store, started_at=started_at,
                     engine_factory=lambda: build_engine(settings),
                     refs_factory=lambda: get_referentials(settings.data_dir), ft_client=ft_client,
                     _engine=engine, _refs=refs)
    if lock.recovered is not None:
        ctx.details["recovered_lock_of"] = {"host": lock.recovered.host, "pid": lock.recovered.pid}
    run_id = record_start(store, job.name, started_at)
    clock = time.perf_counter()
    outcome, error = "success", None
    try:
        if job.kind is not None:
            _build_and_publish(job, ctx, force)
        else:
            assert job.run is not None
            job.run(ctx)
    except (ThresholdRefused, referentials_refresh.RefreshRefused) as exc:
        outcome, error = "refused_threshold", str(exc)
        log.error("job %s refused: %s", job.name, exc)
    except Exception as exc:  # a failed run is recorded and reported, never fatal to the scheduler
        outcome, error = "failed", f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed", job.name)
    except BaseException as exc:  # interrupted (Ctrl-C, SIGTERM): record it, then let it propagate
        _finish(ctx, run_id, "failed", f"interrupted ({type(exc).__name__})", time.perf_counter() - clock)
        raise
    finally:
        if engine is None and ctx._engine is not None:
            ctx._engine.close()
    return _finish(ctx, run_id, outcome, error, time.perf_counter() - clock)


def _finish(ctx: JobContext, run_id: int, outcome: str, error: str | None, seconds: float) -> RunResult:
    read, indexed, rejected = ctx.totals()
    if outcome == "success" and "documents" in ctx.details:
        indexed = ctx.details["documents"]  # what the published generation holds
    elif outcome != "success" and ctx.generation is not None and ctx.job in JOBS and JOBS[ctx.job].kind:
        indexed = 0  # nothing of this run was published
        ctx.details["mapped"] = ctx.totals()[1]
    ctx.details["sources"] = {name: stats.as_dict() for name, stats in ctx.sources.items()}
    warnings: Counter = Counter()
    for stats in ctx.sources.values():
        warnings.update(stats.warnings)
    ctx.details["warnings"] = dict(sorted(warnings.items()))
    record_finish(ctx.store, run_id, outcome=outcome, finished_at=datetime.now(timezone.utc), duration_s=seconds,
                  read=read, indexed=indexed, rejected=rejected, details=ctx.details, generation=ctx.generation,
                  error=error)
    log.info("job %s: %s, read %d, indexed %d, rejected %d in %.1f s", ctx.job, outcome, read, indexed,
             sum(rejected.values()), seconds)
    return RunResult(ctx.job, outcome, run_id, read, indexed, dict(rejected), seconds, ctx.generation, error,
                     dict(ctx.details))
