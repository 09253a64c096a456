"""A per-job lock held as a row of the store, so two runs of one job never overlap across processes or machines."""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.store import job_locks, job_runs

log = logging.getLogger(__name__)

#: How often a holder proves it is alive.
HEARTBEAT_S = 30.0
#: A lock whose holder has not beaten for this long is taken over, even from another machine
#: (where the holder's pid cannot be checked). Twenty missed heartbeats: not a slow disk.
STALE_AFTER = timedelta(minutes=10)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime) -> datetime:
    # SQLite returns the naive UTC value it was given; PostgreSQL an aware one.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as the row says."""

    owner: str
    host: str
    pid: int
    acquired_at: datetime
    heartbeat_at: datetime

    def stale(self, now: datetime, stale_after: timedelta = STALE_AFTER) -> bool:
        """Dead for sure (same machine, no such process) or silent for longer than `stale_after`."""
        if self.host == socket.gethostname() and not pid_alive(self.pid):
            return True
        return now - self.heartbeat_at > stale_after


class JobLock:
    """`with JobLock(store, "offers") as lock: if lock.acquired: ...`; released on exit, whatever happens."""

    def __init__(self, store: Engine, job: str, heartbeat_s: float = HEARTBEAT_S,
                 stale_after: timedelta = STALE_AFTER) -> None:
        self.store = store
        self.job = job
        self.owner = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.heartbeat_s = heartbeat_s
        self.stale_after = stale_after
        self.acquired = False
        self.holder: Holder | None = None  # the other holder, when refused
        self.recovered: Holder | None = None  # the dead holder taken over, if any
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    def acquire(self) -> bool:
        """Take the lock; take it over from a dead or silent holder; False when someone alive holds it."""
        now = _now()
        row = {"job": self.job, "owner": self.owner, "host": self.host, "pid": self.pid, "acquired_at": now,
               "heartbeat_at": now}
        try:
            with self.store.begin() as conn:
                conn.execute(sa.insert(job_locks).values(**row))
        except IntegrityError:
            current = self._current()
            if current is None:
                return self.acquire()  # released between our insert and our read: try again
            if not current.stale(now, self.stale_after):
                self.holder = current
                return False
            # Compare-and-swap on the owner: of two processes recovering the same stale lock, one wins.
            with self.store.begin() as conn:
                taken = conn.execute(sa.update(job_locks).where(
                    job_locks.c.job == self.job, job_locks.c.owner == current.owner).values(**row)).rowcount
                if taken:
                    self._abandon_runs(conn, current)
            if not taken:
                self.holder = self._current()
                return False
            self.recovered = current
            log.warning("job %s: took over the lock of dead holder %s pid %d", self.job, current.host, current.pid)
        self.acquired = True
        self._beater = threading.Thread(target=self._beat, name=f"lock-{self.job}", daemon=True)
        self._beater.start()
        return True

    def release(self) -> None:
        """Give the lock back (only ours: a holder that took over after we went silent keeps it)."""
        if not self.acquired:
            return
        self._stop.set()
        if self._beater is not None:
            self._beater.join()
        with self.store.begin() as conn:
            conn.execute(sa.delete(job_locks).where(job_locks.c.job == self.job, job_locks.c.owner == self.owner))
        self.acquired = False

    def _current(self) -> Holder | None:
        with self.store.connect() as conn:
            row = conn.execute(sa.select(job_locks).where(job_locks.c.job == self.job)).mappings().first()
        if row is None:
            return None
        return Holder(row["owner"], row["host"], row["pid"], _aware(row["acquired_at"]), _aware(row["heartbeat_at"]))

    def _abandon_runs(self, conn: sa.Connection, dead: Holder) -> None:
        """Close the runs the dead holder left "running": they will never finish."""
        conn.execute(sa.update(job_runs).where(
            job_runs.c.job == self.job, job_runs.c.outcome == "running", job_runs.c.host == dead.host,
            job_runs.c.pid == dead.pid).values(outcome="failed", finished_at=_now(),
                                               error=f"abandoned: process {dead.pid} on {dead.host} died"))

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                with self.store.begin() as conn:
                    conn.execute(sa.update(job_locks).where(
                        job_locks.c.job == self.job, job_locks.c.owner == self.owner).values(heartbeat_at=_now()))
            except sa.exc.SQLAlchemyError:
                log.warning("job %s: lock heartbeat failed", self.job, exc_info=True)

    def __enter__(self) -> "JobLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
