"""The `job_runs` record: one row per run with counts, rejections by reason, duration and outcome."""
from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.store import job_runs

OUTCOMES = ("running", "success", "failed", "refused_threshold", "skipped_locked")


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def record_start(store: Engine, job: str, started_at: datetime) -> int:
    """A "running" row for a run that has just taken its lock; returns its id."""
    with store.begin() as conn:
        result = conn.execute(sa.insert(job_runs).values(
            job=job, started_at=started_at, outcome="running", read_count=0, indexed_count=0, rejected_count=0,
            rejected={}, details={}, host=socket.gethostname(), pid=os.getpid()))
        return _key(result)


def record_finish(store: Engine, run_id: int, *, outcome: str, finished_at: datetime, duration_s: float,
                  read: int, indexed: int, rejected: Mapping[str, int], details: Mapping[str, Any],
                  generation: str | None = None, error: str | None = None) -> None:
    """Close a run with its outcome and figures."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    with store.begin() as conn:
        conn.execute(sa.update(job_runs).where(job_runs.c.id == run_id).values(
            outcome=outcome, finished_at=finished_at, duration_s=round(duration_s, 3), read_count=read,
            indexed_count=indexed, rejected_count=sum(rejected.values()), rejected=dict(sorted(rejected.items())),
            details=dict(details), generation=generation, error=error))


def record_skipped(store: Engine, job: str, at: datetime, details: Mapping[str, Any]) -> int:
    """A run that did not start because another run of the job holds the lock."""
    with store.begin() as conn:
        result = conn.execute(sa.insert(job_runs).values(
            job=job, started_at=at, finished_at=at, duration_s=0.0, outcome="skipped_locked", read_count=0,
            indexed_count=0, rejected_count=0, rejected={}, details=dict(details), host=socket.gethostname(),
            pid=os.getpid()))
        return _key(result)


def last_success(store: Engine, job: str) -> dict[str, Any] | None:
    """The latest successful run of `job` (the reference of the safety threshold), or None."""
    query = (sa.select(job_runs).where(job_runs.c.job == job, job_runs.c.outcome == "success")
             .order_by(job_runs.c.started_at.desc(), job_runs.c.id.desc()).limit(1))
    with store.connect() as conn:
        row = conn.execute(query).mappings().first()
    return _plain(row) if row else None


def recent_runs(store: Engine, limit: int = 20, job: str | None = None) -> list[dict[str, Any]]:
    """The latest runs, newest first, as JSON-friendly dicts (ISO 8601 UTC times)."""
    query = sa.select(job_runs).order_by(job_runs.c.started_at.desc(), job_runs.c.id.desc()).limit(limit)
    if job:
        query = query.where(job_runs.c.job == job)
    with store.connect() as conn:
        return [_json(_plain(row)) for row in conn.execute(query).mappings()]


def _key(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = dict(row)
    for name in ("started_at", "finished_at"):
        out[name] = _aware(out[name])
    return out


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat(timespec="seconds").replace("+00:00", "Z") if isinstance(value, datetime) else value
            for key, value in row.items()}
