"""Requests with retries: one client per thread, transient failures (429, 5xx, no answer) retried with backoff.

Retries live here, once, rather than in either client, under one policy: urllib3's `Retry` (the
one the service's other HTTP clients use), which counts the attempts and gives the exponential
backoff with jitter, so a cluster shedding load is not hit in lockstep. After them the engine
raises EngineUnavailable, which the API turns into a 503.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from app.http_client import RETRY_STATUSES
from app.search.contract import EngineUnavailable
from app.search.elastic.clients import Connection, ConnectionConfig
from app.search.elastic.errors import HttpError, Transient, Unreachable

log = logging.getLogger(__name__)



def retry_policy(retries: int, backoff_s: float) -> Retry:
    """`retries` retries after the first attempt; waits 0, 2, 4, 8… × `backoff_s` plus up to `backoff_s` of jitter.

    The first retry is immediate: on a cluster of several nodes it goes to another node at once.
    """
    return Retry(total=retries, connect=None, read=None, redirect=None, status=None, other=None,
                 backoff_factor=backoff_s, backoff_jitter=backoff_s, raise_on_status=False)


def next_try(retry: Retry, what: str, failure: Exception) -> Retry | None:
    """The policy after one more failure of `what`, or None once the retries are spent."""
    try:
        return retry.increment(method=what.split(" ", 1)[0], url=what, error=failure)
    except MaxRetryError:
        return None


class Transport:
    """The engine's request plumbing: this thread's client, and every request through the retry policy."""

    config: ConnectionConfig
    flavor: str
    retries: int
    backoff_s: float
    _factory: Callable[[ConnectionConfig], Connection]
    _local: threading.local

    def _connection(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._factory(self.config)
        return conn

    def close(self) -> None:
        """Close this thread's client."""
        conn = self._local.__dict__.pop("conn", None)
        if conn is not None:
            conn.close()

    def _call(self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None,
              ndjson: bool = False) -> Any:
        """One request with retries; EngineUnavailable once they are spent, HttpError for other statuses."""
        return self._retrying(lambda: self._once(method, path, params, body, ndjson), f"{method} {path}")

    def _once(self, method: str, path: str, params: dict[str, str] | None, body: Any, ndjson: bool) -> Any:
        try:
            return self._connection().request(method, path, params=params, body=body, ndjson=ndjson)
        except HttpError as exc:
            if exc.status in RETRY_STATUSES:
                raise Transient(str(exc)) from exc
            if exc.status in (401, 403):
                raise EngineUnavailable(f"{self.flavor} refused the credentials: {exc}") from exc
            raise
        except Unreachable as exc:
            raise Transient(str(exc)) from exc

    def _retrying(self, attempt: Callable[[], Any], what: str) -> Any:
        """`attempt()` until it does not raise Transient, within the retry policy."""
        retry: Retry | None = retry_policy(self.retries, self.backoff_s)
        while True:
            try:
                return attempt()
            except Transient as exc:
                attempts = len(retry.history) + 1  # type: ignore[union-attr]
                retry = next_try(retry, what, exc)  # type: ignore[arg-type]
                if retry is None:
                    raise EngineUnavailable(f"{self.flavor} at {self.config.split_url()[0]} failed {what}"
                                            f" after {attempts} attempts: {exc}") from exc
                delay = retry.get_backoff_time()
                log.warning("%s failed (%s); retrying in %.2f s", what, exc, delay)
                time.sleep(delay)


def check_shards(answer: dict[str, Any]) -> None:
    """Partial answers (a shard failed, e.g. an index deleted mid-query) are retried, never returned."""
    shards = answer.get("_shards") or {}
    if shards.get("failed"):
        raise Transient(f"{shards['failed']} shard(s) failed: {shards.get('failures', [])[:1]}")
