"""The one clock: Paris calendar days across midnight and daylight-saving changes, and day parsing."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from app.clock import Clock, FixedClock, parse_day


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("instant, day", [
    ("2026-03-28T22:59:00", date(2026, 3, 28)),  # 23:59 in Paris (winter time, UTC+1)
    ("2026-03-28T23:01:00", date(2026, 3, 29)),  # 00:01 in Paris: the UTC date is still the 28th
    ("2026-03-29T21:59:00", date(2026, 3, 29)),  # 23:59 in Paris (summer time since 01:00 UTC, UTC+2)
    ("2026-03-29T22:01:00", date(2026, 3, 30)),  # 00:01 in Paris, two hours before UTC midnight
    ("2026-10-24T21:59:00", date(2026, 10, 24)),  # the night summer time ends
    ("2026-10-24T22:01:00", date(2026, 10, 25)),
    ("2026-10-25T22:59:00", date(2026, 10, 25)),  # back to UTC+1
    ("2026-10-25T23:01:00", date(2026, 10, 26)),
])
def test_today_is_the_paris_day(instant: str, day: date) -> None:
    assert FixedClock(utc(instant)).today() == day


def test_now_is_aware_utc_and_naive_clocks_are_refused() -> None:
    clock = FixedClock(datetime.fromisoformat("2026-03-29T03:00:00+02:00"))
    assert clock.now() == utc("2026-03-29T01:00:00") and clock.now().tzinfo == timezone.utc
    with pytest.raises(ValueError):
        Clock(lambda: datetime(2026, 1, 1)).now()
    assert Clock().now().tzinfo == timezone.utc


@pytest.mark.parametrize("value, day", [
    ("2026-03-29", date(2026, 3, 29)),  # a bare date is that Paris day
    ("2026-03-29T22:15:00Z", date(2026, 3, 30)),  # 00:15 in Paris (summer time)
    ("2026-03-28T23:30:00+00:00", date(2026, 3, 29)),  # 00:30 in Paris (winter time)
    ("2026-03-28T23:30:00", date(2026, 3, 29)),  # naive datetimes are UTC (indexers' convention)
    ("2026-03-29T01:30:00+02:00", date(2026, 3, 29)),
    ("2026-03-29T10:00:00.123Z", date(2026, 3, 29)),
    ("", None), (None, None), ("demain", None),
])
def test_days_of_documents_are_paris_days(value, day) -> None:
    assert parse_day(value) == day
