"""The scheduler process: APScheduler runs each job on its cron (Europe/Paris), never inside web workers."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from indexers.jobs import JOBS
from indexers.pipeline import RunResult, run_job

log = logging.getLogger(__name__)

TIMEZONE = "Europe/Paris"


@dataclass(frozen=True)
class Schedule:
    """When a job runs, and why then."""

    job: str
    trigger: dict[str, Any]
    why: str


#: Night slots follow the public service's (la-bonne-alternance.md §6.1) so upstream exports are ready.
SCHEDULES = (
    Schedule("offers", {"type": "cron", "hour": 1, "minute": 0},
             "daily, at night: France Travail's API is quiet and the day's offers are in"),
    Schedule("formations", {"type": "cron", "hour": 2, "minute": 15},
             "nightly, after the catalogue's own nightly publication"),
    Schedule("hiring", {"type": "cron", "day_of_week": "sun", "hour": 8, "minute": 0},
             "weekly, two hours before the recruiters import that reads the file it writes"),
    Schedule("recruiters", {"type": "cron", "day_of_week": "sun", "hour": 10, "minute": 0},
             "weekly: the prediction algorithm publishes its file once a week"),
    Schedule("deposited", {"type": "interval", "minutes": 10},
             "every 10 minutes: catches deposits whose immediate indexing failed, and expiries"),
    Schedule("exports", {"type": "cron", "hour": 3, "minute": 0},
             "daily at 03:00, the public service's v3 export slot; France Travail collects the file in the morning"),
    Schedule("referentials", {"type": "cron", "day_of_week": "sun", "hour": 15, "minute": 0},
             "weekly: ROME, communes and NAF change a few times a year"),
)


def trigger_of(schedule: Schedule) -> CronTrigger | IntervalTrigger:
    """The APScheduler trigger of a schedule, in Paris time."""
    spec = dict(schedule.trigger)
    kind = spec.pop("type")
    if kind == "interval":
        return IntervalTrigger(timezone=TIMEZONE, **spec)
    return CronTrigger(timezone=TIMEZONE, **spec)


def _runner(name: str, run: Callable[[str], RunResult]) -> Callable[[], None]:
    def job() -> None:
        result = run(name)
        level = logging.INFO if result.outcome == "success" else logging.ERROR
        log.log(level, "job %s: %s (read %d, indexed %d, rejected %d, %.1f s)%s", name, result.outcome, result.read,
                result.indexed, sum(result.rejected.values()), result.duration_s,
                f": {result.error}" if result.error else "")
    job.__name__ = f"run_{name}"
    return job


def build_scheduler(blocking: bool = True, run: Callable[[str], RunResult] = run_job) -> BaseScheduler:
    """A scheduler with every job of SCHEDULES; `run` is injectable for tests.

    One instance per job at a time (the store lock also guards against other processes); a run
    missed while the process was down is run once at restart if less than an hour late.
    """
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(timezone=TIMEZONE, job_defaults={
        "max_instances": 1, "coalesce": True, "misfire_grace_time": 3600})
    for schedule in SCHEDULES:
        if schedule.job not in JOBS:
            raise ValueError(f"schedule for unknown job {schedule.job!r}")
        scheduler.add_job(_runner(schedule.job, run), trigger_of(schedule), id=schedule.job, name=schedule.job,
                          replace_existing=True)
    return scheduler
