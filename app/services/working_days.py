"""French working days: Monday to Friday except the eleven national public holidays (Easter computed)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, valid for every Gregorian year)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """The national public holidays of `year` (Code du travail L3133-1).

    Alsace-Moselle's two extra days (Good Friday, 26 December) are not counted: a CFA there gets
    its reminder one day earlier on those two days, which is harmless.
    """
    easter = easter_sunday(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    movable = [easter + timedelta(days=1), easter + timedelta(days=39), easter + timedelta(days=50)]
    return frozenset([date(year, m, d) for m, d in fixed] + movable)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.weekday() < 5 and day not in public_holidays(day.year)


def add_working_days(moment: datetime, days: int) -> datetime:
    """`moment` moved forward by `days` working days in Paris time, keeping the time of day.

    A request sent on Friday at 15:00 with 3 working days is due on Wednesday at 15:00; one sent
    on Saturday counts Monday as its first working day.
    """
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    local = moment.astimezone(PARIS)
    day = local.date()
    left = days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    # Rebuilt from the wall-clock time so a daylight-saving change in between keeps 15:00 at 15:00.
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=PARIS).astimezone(moment.tzinfo)
