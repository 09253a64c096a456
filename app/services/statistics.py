"""Public statistics: documents searchable today, applications and callback requests per month, answer rates."""
from __future__ import annotations

import statistics as stats_lib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from app.search.contract import KINDS, SearchEngine
from app.store.applications import applications
from app.store.contact import callback_requests

#: How long figures are served before they are computed again: they change slowly, and every hit
#: would otherwise count whole tables.
CACHE_SECONDS = 300
#: How many months the monthly series show (the current one included).
MONTHS = 12


def month_keys(now: datetime, count: int = MONTHS) -> list[str]:
    """The `count` months ending with the month of `now`, oldest first, as "YYYY-MM"."""
    year, month = now.year, now.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _aware(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; the store writes UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _per_month(conn: sa.Connection, column: sa.Column, since: datetime, months: list[str]) -> dict[str, int]:
    """Rows per UTC month of `column` since `since` (counted in Python: portable across SQLite and PostgreSQL)."""
    counts = dict.fromkeys(months, 0)
    for (moment,) in conn.execute(sa.select(column).where(column >= since)):
        key = _aware(moment).astimezone(timezone.utc).strftime("%Y-%m")
        if key in counts:
            counts[key] += 1
    return counts


def _answers(conn: sa.Connection, created: sa.Column, answered: sa.Column) -> dict[str, Any]:
    """How many requests, how many answered, the share, and the median answer time in hours."""
    total = conn.execute(sa.select(sa.func.count()).select_from(created.table)).scalar_one()
    delays = [(_aware(a) - _aware(c)).total_seconds() / 3600
              for c, a in conn.execute(sa.select(created, answered).where(answered.is_not(None)))]
    return {"requests": total, "answered": len(delays),
            "answered_share": round(len(delays) / total, 4) if total else None,
            "median_answer_hours": round(stats_lib.median(delays), 1) if delays else None}


class StatisticsService:
    """Figures from the store and the indexes, computed at most every CACHE_SECONDS, never about a person."""

    def __init__(self, store: sa.Engine, engine: SearchEngine, now: Callable[[], datetime],
                 cache_seconds: int = CACHE_SECONDS) -> None:
        self.store, self.engine, self.now, self.cache_seconds = store, engine, now, cache_seconds
        self._cached: tuple[datetime, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def figures(self) -> dict[str, Any]:
        """The public figures (cached)."""
        now = self.now()
        with self._lock:
            if self._cached and now - self._cached[0] < timedelta(seconds=self.cache_seconds):
                return self._cached[1]
        figures = self.compute(now)
        with self._lock:
            self._cached = (now, figures)
        return figures

    def compute(self, now: datetime) -> dict[str, Any]:
        """The figures as of `now`, uncached."""
        months = month_keys(now)
        since = datetime(int(months[0][:4]), int(months[0][5:]), 1, tzinfo=timezone.utc)
        indexes = self.engine.stats()
        searchable = {kind: int((indexes.get(kind) or {}).get("documents") or 0) for kind in KINDS}
        with self.store.connect() as conn:
            sent = _per_month(conn, applications.c.created_at, since, months)
            callbacks = _per_month(conn, callback_requests.c.created_at, since, months)
            application_answers = _answers(conn, applications.c.created_at, applications.c.intention_at)
            callback_answers = _answers(conn, callback_requests.c.created_at, callback_requests.c.answered_at)
            searches = searches_per_month(conn, since, months)
        return {
            "computed_at": now.astimezone(timezone.utc).isoformat(timespec="seconds"),
            "searchable": searchable,
            "months": [{"month": m, "applications": sent[m], "callback_requests": callbacks[m]} for m in months],
            "application_answers": application_answers,
            "callback_answers": callback_answers,
            "searches_per_month": [{"month": m, "searches": searches[m]} for m in months],
        }


# ----- searches per month, from the usage counters (app/services/usage.py; revision 0005) -------------------

def searches_per_month(conn: sa.Connection, since: datetime, months: list[str]) -> dict[str, int]:
    """Searches of every surface (API, site, widget) per month since `since`, from the daily usage counters."""
    from app.store.usage import usage_counters

    counts = dict.fromkeys(months, 0)
    query = (sa.select(usage_counters.c.day, sa.func.sum(usage_counters.c.count))
             .where(usage_counters.c.event == "search", usage_counters.c.day >= since.date())
             .group_by(usage_counters.c.day))
    for day, total in conn.execute(query):
        key = day.strftime("%Y-%m")
        if key in counts:
            counts[key] += int(total)
    return counts


def get_statistics() -> StatisticsService:
    """The current app's statistics service, made on first use (one per process: its cache is per process)."""
    from flask import current_app

    from app.clock import get_clock

    service = current_app.extensions.get("lba.statistics")
    if service is None:
        clock = get_clock()
        service = current_app.extensions["lba.statistics"] = StatisticsService(
            current_app.extensions["lba.store"], current_app.extensions["lba.engine"], clock.now)
    return service
