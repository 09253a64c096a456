"""The errors of the cluster engine, and the engine's own words for an error body."""
from __future__ import annotations

from typing import Any


class HttpError(Exception):
    """The engine answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {reason(body)}")
        self.status = status
        self.body = body


class Unreachable(Exception):
    """No answer: connection refused or reset, DNS failure, timeout."""


class SearchRequestError(RuntimeError):
    """The engine rejected a request (a bug or a mapping mismatch, not an outage)."""


class IndexingError(RuntimeError):
    """Documents the engine refused to index; the message lists the first reasons."""


class Transient(Exception):
    """A failure worth retrying."""


def reason(body: Any) -> str:
    """The engine's own words for an error: type, reason and the first root cause."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        text = f"{error.get('type')}: {error.get('reason')}"
        causes = error.get("root_cause") or [f.get("reason") for f in error.get("failed_shards", [])]
        if causes and isinstance(causes[0], dict):
            cause = causes[0]
            text += f" (root cause {cause.get('type')}: {cause.get('reason')}"
            script = cause.get("script_stack") or (cause.get("caused_by") or {}).get("reason")
            text += f"; {script})" if script else ")"
        return text
    return str(body)[:300]
