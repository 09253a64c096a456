"""Public statistics: searchable documents (by source, region), applications and callbacks per month, answer rates."""
from __future__ import annotations

import logging
import statistics as stats_lib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from app.config import Settings
from app.referentials.communes import fold
from app.referentials.csvfile import ReferenceDataError
from app.referentials.regions import UNKNOWN, Regions, get_regions
from app.search.contract import KINDS, SearchEngine
from app.store import deposited_offers, job_runs
from app.store.applications import applications
from app.store.contact import callback_requests

log = logging.getLogger(__name__)

#: How long figures are served before they are computed again: they change slowly, and every hit
#: would otherwise count whole tables.
CACHE_SECONDS = 300
#: How many months the monthly series show (the current one included).
MONTHS = 12
#: The index job whose latest successful run recorded each kind's documents by source and region
#: (indexers/pipeline.py writes them in the run's details as `breakdown`).
BREAKDOWN_JOBS = {"formation": "formations", "offer": "offers", "company": "recruiters"}
#: Offers deposited on the service: counted live from the store (the index follows them within minutes).
DEPOSITED_SOURCE = "deposited"


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


def _latest_breakdown(conn: sa.Connection, kind: str) -> tuple[str | None, dict[str, dict[str, int]]]:
    """When the latest successful index run of `kind` finished, and what it published by source and region."""
    row = conn.execute(sa.select(job_runs.c.finished_at, job_runs.c.details)
                       .where(job_runs.c.job == BREAKDOWN_JOBS[kind], job_runs.c.outcome == "success")
                       .order_by(job_runs.c.started_at.desc(), job_runs.c.id.desc()).limit(1)).first()
    breakdown = (row.details or {}).get("breakdown") if row is not None else None
    if row is None or not isinstance(breakdown, dict) or breakdown.get("kind") != kind:
        return None, {}  # never indexed by the pipeline, or by a version that did not count
    counts = {str(source): {str(region): int(n) for region, n in per_region.items()}
              for source, per_region in (breakdown.get("counts") or {}).items()}
    finished = _aware(row.finished_at).astimezone(timezone.utc).isoformat(timespec="seconds") \
        if row.finished_at else None
    return finished, counts


def _live_deposited(conn: sa.Connection, regions: Regions, now: datetime) -> dict[str, int]:
    """Live deposited offers (active, not expired) by region code."""
    counts: dict[str, int] = {}
    table = deposited_offers
    query = sa.select(table.c.department, table.c.insee, table.c.postcode).where(
        table.c.status == "active", table.c.expires_at > now)
    for department, insee, postcode in conn.execute(query):
        region = regions.region_of(department or "", insee or "", postcode or "")
        counts[region] = counts.get(region, 0) + 1
    return counts


def searchable_breakdown(conn: sa.Connection, regions: Regions, now: datetime) -> dict[str, Any]:
    """Documents searchable by kind and source, and by region and kind.

    Imported documents are those the latest successful index run of each kind published (the
    index is rebuilt from its sources, so that is what search holds until the next run);
    deposited offers are counted from the store as of `now`.
    """
    counted_at: dict[str, str | None] = {}
    per_kind: dict[str, dict[str, dict[str, int]]] = {}
    for kind in KINDS:
        counted_at[kind], per_kind[kind] = _latest_breakdown(conn, kind)
    per_kind["offer"].pop(DEPOSITED_SOURCE, None)  # counted live below, never twice
    live = _live_deposited(conn, regions, now)
    if live:
        per_kind["offer"][DEPOSITED_SOURCE] = live
    by_source = [{"kind": kind, "source": source, "documents": sum(per_region.values())}
                 for kind in KINDS
                 for source, per_region in sorted(per_kind[kind].items(), key=lambda item: (-sum(item[1].values()),
                                                                                            item[0]))]
    by_region: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        for per_region in per_kind[kind].values():
            for region, count in per_region.items():
                row = by_region.setdefault(region, {"region": region,
                                                    "name": regions.names.get(region, "") if region else "",
                                                    **dict.fromkeys(KINDS, 0)})
                row[kind] += count
    # Regions by name, accents folded ("Île-de-France" among the I), places of unknown department last.
    ordered = sorted(by_region.values(), key=lambda r: (r["region"] == UNKNOWN, fold(r["name"]), r["region"]))
    return {"counted_at": counted_at, "by_source": by_source, "by_region": ordered}


class StatisticsService:
    """Figures from the store and the indexes, computed at most every CACHE_SECONDS, never about a person."""

    def __init__(self, store: sa.Engine, engine: SearchEngine, now: Callable[[], datetime],
                 cache_seconds: int = CACHE_SECONDS, regions: Callable[[], Regions] | None = None) -> None:
        self.store, self.engine, self.now, self.cache_seconds = store, engine, now, cache_seconds
        # A callable: the referentials may be reloaded while the app runs.
        self.regions = regions or (lambda: get_regions(Settings.from_env().data_dir))
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

    def _regions(self) -> Regions:
        try:
            return self.regions()
        except ReferenceDataError as exc:
            # A data directory without the regions files: the figures still show, places by unknown region.
            log.warning("statistics without region names: %s", exc)
            return Regions({}, {})

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
            breakdown = searchable_breakdown(conn, self._regions(), now)
            searches = searches_per_month(conn, since, months)
        return {
            "computed_at": now.astimezone(timezone.utc).isoformat(timespec="seconds"),
            "searchable": searchable,
            "searchable_breakdown": breakdown,
            "months": [{"month": m, "searches": searches[m], "applications": sent[m], "callback_requests": callbacks[m]}
                       for m in months],
            "application_answers": application_answers,
            "callback_answers": callback_answers,
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
        extensions = current_app.extensions
        service = extensions["lba.statistics"] = StatisticsService(
            extensions["lba.store"], extensions["lba.engine"], clock.now,
            regions=lambda: get_regions(extensions["lba.refs"].data_dir))
    return service
