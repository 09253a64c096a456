"""Usage counters on SQLite and PostgreSQL: additive upserts, buffering, several writing processes, the report."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.services.statistics import month_keys, searches_per_month
from app.services.usage import MAX_POSITION, UsageCounters, UsageError, position_report, searches_by_day
from app.store import get_store, usage_counters

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 3, 14)


def _rows(url: str) -> dict[tuple, int]:
    with get_store(url).connect() as conn:
        return {(r.day, r.event, r.surface, r.kind, r.position): r.count
                for r in conn.execute(sa.select(usage_counters))}


def test_counts_add_up_across_flushes(store_url: str) -> None:
    usage = UsageCounters(get_store(store_url), lambda: DAY, flush_seconds=0)
    usage.record_search("site", [{"kind": "offer"}, {"kind": "company"}, {"kind": "offer"}])
    usage.record_search("site", [{"kind": "offer"}])
    usage.record("click", "site", "offer", 1)
    usage.record("click", "site", "offer", 1, n=2)
    usage.record("application", "api", "company", 0)
    rows = _rows(store_url)
    assert rows[(DAY, "search", "site", "", 0)] == 2
    assert rows[(DAY, "impression", "site", "offer", 1)] == 2
    assert rows[(DAY, "impression", "site", "company", 2)] == 1
    assert rows[(DAY, "click", "site", "offer", 1)] == 3
    assert rows[(DAY, "application", "api", "company", 0)] == 1
    report = position_report(get_store(store_url))
    assert report["searches"] == {"site": 2}
    first = next(r for r in report["positions"] if (r.surface, r.kind, r.position) == ("site", "offer", 1))
    assert (first.impressions, first.clicks, first.ctr) == (2, 3, 1.5)


def test_api_searches_have_no_impressions_and_pages_beyond_one_no_search(store_url: str) -> None:
    usage = UsageCounters(get_store(store_url), lambda: DAY, flush_seconds=0)
    usage.record_search("api", [{"kind": "offer"}] * 10)
    usage.record_search("site", [{"kind": "formation"}] * 2, first_position=21, new_search=False)
    rows = _rows(store_url)
    assert rows == {(DAY, "search", "api", "", 0): 1, (DAY, "impression", "site", "formation", 21): 1,
                    (DAY, "impression", "site", "formation", 22): 1}


def test_buffered_counts_wait_for_the_flush_and_deep_positions_share_a_bucket(store_url: str) -> None:
    ticks = [0.0]
    usage = UsageCounters(get_store(store_url), lambda: DAY, flush_seconds=10, clock=lambda: ticks[0])
    for _ in range(5):
        usage.record("click", "widget", "formation", 3)
    usage.record("click", "widget", "formation", 999)
    assert _rows(store_url) == {}
    ticks[0] = 11.0
    usage.record("click", "widget", "formation", 3)  # due: this event's request writes them all
    assert _rows(store_url) == {(DAY, "click", "widget", "formation", 3): 6,
                                (DAY, "click", "widget", "formation", MAX_POSITION): 1}
    assert usage.flush() == 0  # nothing pending


def test_unknown_events_are_refused(store_url: str) -> None:
    usage = UsageCounters(get_store(store_url), lambda: DAY, flush_seconds=0)
    for bad in [("view", "site", "offer"), ("click", "mobile", "offer"), ("click", "site", "person")]:
        with pytest.raises(UsageError):
            usage.record(*bad, 1)
    assert _rows(store_url) == {}


WRITER = r"""
import sys
from datetime import date
from app.services.usage import UsageCounters
from app.store import get_store
url, n, flush = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
usage = UsageCounters(get_store(url), lambda: date(2026, 3, 14), flush_seconds=flush, max_pending=7)
for i in range(n):
    usage.record_search("site", [{"kind": "offer"}, {"kind": "company"}, {"kind": "formation"}])
    usage.record("click", "site", ("offer", "company", "formation")[i % 3], 1 + i % 3)
usage.flush()
print("done")
"""


@pytest.mark.parametrize("flush_seconds", [0, 3600])
def test_several_processes_counting_at_once_lose_nothing(store_url: str, flush_seconds: float) -> None:
    processes, each = 5, 120
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, store_url, str(each), str(flush_seconds)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0 and "done" in out, err[-2000:]
    rows = _rows(store_url)
    total = processes * each
    assert rows[(DAY, "search", "site", "", 0)] == total
    for position, kind in enumerate(("offer", "company", "formation"), start=1):
        assert rows[(DAY, "impression", "site", kind, position)] == total
        assert rows[(DAY, "click", "site", kind, position)] == total // 3


def test_searches_per_month_equal_sql_counts(store_url: str) -> None:
    store = get_store(store_url)
    days = [date(2025, 11, 30), date(2025, 12, 1), date(2025, 12, 31), date(2026, 1, 15), date(2026, 3, 1),
            date(2026, 3, 14), date(2024, 1, 1)]
    for n, day in enumerate(days):
        usage = UsageCounters(store, lambda day=day: day, flush_seconds=0)
        for surface in ("api", "site", "widget")[: 1 + n % 3]:
            usage.record("search", surface, n=n + 1)
        usage.record("click", "site", "offer", 1, n=50)  # clicks are not searches
    now = datetime(2026, 3, 20, tzinfo=timezone.utc)
    months = month_keys(now)
    since = datetime(int(months[0][:4]), int(months[0][5:]), 1, tzinfo=timezone.utc)
    with store.connect() as conn:
        series = searches_per_month(conn, since, months)
        expected = {}
        for month in months:
            start = date(int(month[:4]), int(month[5:]), 1)
            end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
            expected[month] = conn.execute(sa.text(
                "SELECT COALESCE(SUM(count), 0) FROM usage_counters WHERE event = 'search' AND day >= :a AND day < :b"),
                {"a": start, "b": end}).scalar_one()
    assert series == expected
    assert series["2025-12"] == 2 * 2 + 3 * 3 and series["2026-03"] == 5 * 2 + 6 * 3
    assert sum(searches_by_day(store).values()) == sum(
        (n + 1) * (1 + n % 3) for n in range(len(days)))
