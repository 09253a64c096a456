"""HTTP sessions with the service's one retry policy: urllib3's `Retry` mounted on a requests Session.

Every external client (company search, France Travail, source downloads) retries through this
policy, so 429/5xx and lost connections are counted and backed off in one place. A client that
must honour Retry-After on any retried status, draw its jitter from a seeded random or run its
tests on a fake clock gives `wait` (how long before attempt n) and `pause` (how to wait).
Neutral module: no Flask, no service, importable by the indexers as by the services.
"""
from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable, Collection
from datetime import datetime, timezone
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

#: How long to wait before the next attempt, from the policy (its history counts the failures) and the answer.
Wait = Callable[["Policy", "BaseHTTPResponse | None"], float]


class Policy(Retry):
    """urllib3's Retry whose waits may be chosen by `wait` and slept by `pause` (urllib3's own otherwise)."""

    wait: Wait | None = None
    pause: Callable[[float], None] = staticmethod(time.sleep)

    def new(self, **kw: Any) -> Policy:
        """The next state of the policy (urllib3 builds one per failure); it keeps the wait and the pause."""
        retry = super().new(**kw)
        retry.wait, retry.pause = self.wait, self.pause
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        """Wait before the next attempt."""
        if self.wait is None:
            super().sleep(response)
            return
        self.pause(self.wait(self, response))

    @property
    def attempt(self) -> int:
        """How many failures the policy has counted so far."""
        return len(self.history)


def policy(retries: int, backoff_s: float, *, statuses: Collection[int] = RETRY_STATUSES,
           methods: Collection[str] = ("GET",), wait: Wait | None = None,
           pause: Callable[[float], None] | None = None) -> Policy:
    """`retries` retries after the first attempt on `statuses` and connection errors, for `methods` only.

    Without `wait`, urllib3's backoff (`backoff_s` × 2^(n−1) from the 2nd retry) and its reading
    of Retry-After (413/429/503) apply; with it, `wait` alone decides.
    """
    retry = Policy(total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff_s,
                   status_forcelist=frozenset(statuses), allowed_methods=frozenset(methods),
                   respect_retry_after_header=wait is None, raise_on_status=False)
    retry.wait = wait
    if pause is not None:
        retry.pause = pause
    return retry


def retrying_session(retry: Retry, user_agent: str = "") -> requests.Session:
    """A requests Session whose HTTP and HTTPS requests go through `retry`."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if user_agent:
        session.headers["User-Agent"] = user_agent
    return session


def retry_after_seconds(value: str, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), else None."""
    value = value.strip()
    if not value:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def jittered_backoff(backoff_s: float, max_backoff_s: float, *, rng: random.Random | None = None,
                     now: Callable[[], datetime] | None = None, retry_after: bool = True) -> Wait:
    """Retry-After when the answer gives one (any retried status), else backoff_s × 2^(n−1) with equal jitter.

    The n-th wait is drawn in [ceiling/2, ceiling], ceiling = min(max_backoff_s, backoff_s × 2^(n−1)):
    parallel clients refused together do not come back together. Retry-After is capped at max_backoff_s.
    """
    draw = rng or random.Random()
    clock = now or (lambda: datetime.now(timezone.utc))

    def wait(retry: Policy, response: BaseHTTPResponse | None) -> float:
        if retry_after and response is not None:
            after = retry_after_seconds(response.headers.get("Retry-After", ""), clock())
            if after is not None:
                return min(after, max_backoff_s)
        ceiling = min(max_backoff_s, backoff_s * 2 ** (retry.attempt - 1))
        return draw.uniform(ceiling / 2, ceiling)

    return wait
