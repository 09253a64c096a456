"""Usage counters: searches, impressions, clicks, applications and callbacks per day, surface, kind and rank."""
from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app.store import usage_counters, write_tx

log = logging.getLogger(__name__)

EVENTS = ("search", "impression", "click", "application", "callback")
SURFACES = ("api", "site", "widget")
KINDS = ("offer", "company", "formation")
#: Highest position counted as itself; deeper ranks (page 3 and beyond) add up in this one bucket, so a
#: crafted beacon cannot grow the table row by row.
MAX_POSITION = 50
_KEY = ("day", "event", "surface", "kind", "position")

Key = tuple[date, str, str, str, int]
#: This process's counters, flushed together when a worker exits.
_LIVE: "weakref.WeakSet[UsageCounters]" = weakref.WeakSet()


class UsageError(ValueError):
    """An event outside EVENTS/SURFACES/KINDS."""


def _upsert(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """count = count + n for each row, in one statement per batch (SQLite ≥ 3.24 and PostgreSQL share the syntax)."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(usage_counters)
    statement = statement.on_conflict_do_update(index_elements=list(_KEY),
                                                set_={"count": usage_counters.c.count + statement.excluded["count"]})
    conn.execute(statement, list(rows))


class UsageCounters:
    """Counts events in this process and adds them to the store's rows every `flush_seconds` (0: at once).

    A search costs a dict update under a lock; the write (one upsert of a few dozen rows) happens at most
    every `flush_seconds` in the request that finds it due, and when a gunicorn worker exits (flush_all).
    Rows are written in key order, so concurrent flushes of several workers take the rows' locks in one
    order (no deadlock on PostgreSQL); the upsert adds, so they never overwrite each other's counts. A failed
    write keeps the counts for the next flush: counting must never fail a search.
    """

    def __init__(self, store: Engine, today: Callable[[], date], flush_seconds: float = 10.0,
                 max_pending: int = 2000, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self._today = today
        self._flush_seconds = flush_seconds
        self._max_pending = max_pending
        self._clock = clock
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: Counter[Key] = Counter()
        self._flushed_at = clock()
        _LIVE.add(self)

    def record(self, event: str, surface: str, kind: str = "", position: int = 0, n: int = 1) -> None:
        """Count `n` events; UsageError for an unknown event, surface or kind."""
        self.record_many([(event, surface, kind, position, n)])

    def record_many(self, events: Iterable[tuple[str, str, str, int, int]]) -> None:
        """Count several (event, surface, kind, position, n) at once."""
        day = self._today()
        keys = []
        for event, surface, kind, position, n in events:
            if event not in EVENTS or surface not in SURFACES or (kind and kind not in KINDS):
                raise UsageError(f"unknown usage event {event}/{surface}/{kind}")
            keys.append(((day, event, surface, kind, max(0, min(int(position), MAX_POSITION))), int(n)))
        with self._lock:
            for key, n in keys:
                self._pending[key] += n
            due = (self._clock() - self._flushed_at >= self._flush_seconds
                   or len(self._pending) >= self._max_pending)
        if due:
            self.flush()

    def record_search(self, surface: str, items: Sequence[Mapping[str, Any]], first_position: int = 1,
                      new_search: bool = True) -> None:
        """A search (unless `new_search` is False: another page of it), and on our own pages one impression per
        result shown, at its rank (the CTR's denominator); API answers have no impressions (no click is seen)."""
        events = [("search", surface, "", 0, 1)] if new_search else []
        if surface != "api":
            events += [("impression", surface, item["kind"], position, 1)
                       for position, item in enumerate(items, start=first_position) if item.get("kind") in KINDS]
        self.record_many(events)

    def flush(self) -> int:
        """Write the pending counts; returns the number of rows written (0 when another flush runs)."""
        if not self._flush_lock.acquire(blocking=False):
            return 0
        try:
            with self._lock:
                pending, self._pending = self._pending, Counter()
                self._flushed_at = self._clock()
            if not pending:
                return 0
            rows = [dict(zip(_KEY, key), count=n) for key, n in sorted(pending.items()) if n]
            try:
                with write_tx(self.store) as conn:
                    _upsert(conn, rows)
            except sa.exc.SQLAlchemyError as error:
                log.warning("usage counters not written, kept for the next flush: %s", error)
                with self._lock:
                    self._pending.update(pending)
                return 0
            return len(rows)
        finally:
            self._flush_lock.release()



def flush_all() -> int:
    """Flush every counter of this process (gunicorn's worker_exit hook calls it); rows written."""
    return sum(counter.flush() for counter in list(_LIVE))


@dataclass(frozen=True)
class PositionRow:
    """Counts of one (surface, kind, position) over a period."""

    surface: str
    kind: str
    position: int
    impressions: int
    clicks: int
    applications: int
    callbacks: int

    @property
    def ctr(self) -> float | None:
        """Clicks per impression; None without impressions."""
        return self.clicks / self.impressions if self.impressions else None


def position_report(store: Engine, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Searches per surface and, per surface, kind and position, impressions, clicks and applications."""
    table = usage_counters
    where = []
    if since is not None:
        where.append(table.c.day >= since)
    if until is not None:
        where.append(table.c.day <= until)
    query = (sa.select(table.c.event, table.c.surface, table.c.kind, table.c.position, sa.func.sum(table.c.count))
             .where(*where).group_by(table.c.event, table.c.surface, table.c.kind, table.c.position))
    with store.connect() as conn:
        rows = conn.execute(query).all()
    searches: Counter[str] = Counter()
    cells: dict[tuple[str, str, int], Counter[str]] = {}
    for event, surface, kind, position, total in rows:
        if event == "search":
            searches[surface] += int(total)
        else:
            cells.setdefault((surface, kind, int(position)), Counter())[event] += int(total)
    positions = [PositionRow(surface, kind, position, c["impression"], c["click"], c["application"], c["callback"])
                 for (surface, kind, position), c in sorted(cells.items(), key=lambda item: (
                     SURFACES.index(item[0][0]), item[0][1], item[0][2]))]
    return {"searches": dict(searches), "positions": positions}


def searches_by_day(store: Engine, since: date | None = None) -> dict[date, int]:
    """Searches (every surface) per day."""
    table = usage_counters
    query = (sa.select(table.c.day, sa.func.sum(table.c.count)).where(table.c.event == "search")
             .group_by(table.c.day).order_by(table.c.day))
    if since is not None:
        query = query.where(table.c.day >= since)
    with store.connect() as conn:
        return {day: int(total) for day, total in conn.execute(query).all()}
