"""The one clock of the service: UTC instants, and calendar days counted in Europe/Paris as the public service does."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone

from flask import Flask, current_app

from ranking.score import DAY_ZONE, parse_day

__all__ = ["Clock", "DAY_ZONE", "FixedClock", "SYSTEM_CLOCK", "get_clock", "init_app", "parse_day"]


class Clock:
    """Now as an aware UTC datetime, and today as the Paris calendar day of that instant.

    Engines (expiry filters), the match service (freshness) and the detail pages (410 once expired)
    all ask this one object, so they agree on which day it is; tests inject one that tells any time.
    """

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(timezone.utc))

    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        moment = self._now()
        if moment.tzinfo is None:
            raise ValueError("a clock tells aware datetimes")
        return moment.astimezone(timezone.utc)

    def today(self) -> date:
        """The calendar day it is in Europe/Paris (where the public service's days begin and end)."""
        return self.now().astimezone(DAY_ZONE).date()


class FixedClock(Clock):
    """A clock stopped at one instant (tests, replays); `set()` moves it."""

    def __init__(self, moment: datetime) -> None:
        super().__init__(lambda: self.moment)
        self.moment = moment

    def set(self, moment: datetime) -> None:
        """Move the clock to `moment`."""
        self.moment = moment


SYSTEM_CLOCK = Clock()


def init_app(app: Flask, clock: Clock | None = None) -> Clock:
    """Attach the app's clock (`lba.clock`): the given one, else the system clock."""
    app.extensions["lba.clock"] = clock or SYSTEM_CLOCK
    return app.extensions["lba.clock"]


def get_clock() -> Clock:
    """The current app's clock (the system clock outside an app)."""
    try:
        return current_app.extensions.get("lba.clock", SYSTEM_CLOCK)
    except RuntimeError:
        return SYSTEM_CLOCK
