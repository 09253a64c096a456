"""French working days: Easter, the eleven public holidays, weekends, and the time of day across DST."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from app.services.working_days import PARIS, add_working_days, easter_sunday, is_working_day, public_holidays


@pytest.mark.parametrize("year, expected", [
    (2000, date(2000, 4, 23)), (2008, date(2008, 3, 23)), (2019, date(2019, 4, 21)), (2024, date(2024, 3, 31)),
    (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)), (2038, date(2038, 4, 25)),
])
def test_easter_sunday_matches_the_published_dates(year: int, expected: date) -> None:
    assert easter_sunday(year) == expected


def test_the_2026_public_holidays() -> None:
    assert sorted(public_holidays(2026)) == [
        date(2026, 1, 1), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 8), date(2026, 5, 14),
        date(2026, 5, 25), date(2026, 7, 14), date(2026, 8, 15), date(2026, 11, 1), date(2026, 11, 11),
        date(2026, 12, 25)]


def test_weekends_and_holidays_are_not_working_days() -> None:
    assert is_working_day(date(2026, 3, 6))  # a Friday
    assert not is_working_day(date(2026, 3, 7)) and not is_working_day(date(2026, 3, 8))
    assert not is_working_day(date(2026, 4, 6))  # Easter Monday
    assert not is_working_day(date(2026, 5, 14))  # Ascension Thursday


def _paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize("start, expected", [
    (_paris(2026, 3, 2, 10, 0), _paris(2026, 3, 5, 10, 0)),     # Monday → Thursday
    (_paris(2026, 3, 6, 15, 0), _paris(2026, 3, 11, 15, 0)),    # Friday → Wednesday
    (_paris(2026, 3, 7, 11, 0), _paris(2026, 3, 11, 11, 0)),    # Saturday: Monday is the first working day
    (_paris(2026, 4, 30, 15, 0), _paris(2026, 5, 6, 15, 0)),    # Thursday before 1 May, then a weekend
    (_paris(2026, 5, 7, 9, 30), _paris(2026, 5, 13, 9, 30)),    # 8 May (Friday), then a weekend
    (_paris(2026, 5, 12, 9, 30), _paris(2026, 5, 18, 9, 30)),   # Ascension Thursday, then a weekend
    (_paris(2026, 3, 27, 10, 0), _paris(2026, 4, 1, 10, 0)),    # across the switch to summer time
])
def test_three_working_days_later(start: datetime, expected: datetime) -> None:
    due = add_working_days(start.astimezone(timezone.utc), 3)
    assert due == expected and due.astimezone(PARIS).hour == start.hour


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(datetime(2026, 3, 2, 10, 0), 3)
