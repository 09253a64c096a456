"""Cluster health: the quick check behind /healthz, and the bounded wait for a new generation's replicas."""
from __future__ import annotations

import logging
import time
from typing import Any

from app.search.elastic.errors import HttpError, Unreachable
from app.search.elastic.retry import Transport

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 3.0
#: How long a publication waits for the replicas of a new generation before swapping anyway (yellow).
REPLICA_WAIT_S = 60.0


class Health(Transport):
    """The engine's `health` and `_wait_for_green`."""

    def _wait_for_green(self, index: str) -> dict[str, Any]:
        """The health of `index` once every copy is allocated, or after REPLICA_WAIT_S (then `timed_out`).

        Asked in server-side waits shorter than the client timeout: one long wait would end in a
        client timeout, and retrying a wait as a failure only multiplies it.
        """
        deadline = time.monotonic() + REPLICA_WAIT_S
        while True:
            wait_s = max(1, int(min(deadline - time.monotonic(), self.config.timeout_s / 2)))
            try:
                health = self._call("GET", f"/_cluster/health/{index}",
                                    params={"wait_for_status": "green", "timeout": f"{wait_s}s"})
            except HttpError as exc:
                if exc.status != 408 or not isinstance(exc.body, dict):  # 408: the wait ran out, body says so
                    raise
                health = exc.body
            if not health.get("timed_out") or time.monotonic() >= deadline:
                return health

    def health(self) -> bool:
        """True when the cluster answers quickly and is not red (no retries: /healthz must answer fast)."""
        try:
            answer = self._connection().request("GET", "/_cluster/health", timeout_s=HEALTH_TIMEOUT_S)
        except (HttpError, Unreachable) as exc:
            log.warning("%s health check failed: %s", self.flavor, exc)
            return False
        return answer.get("status") in ("green", "yellow")
