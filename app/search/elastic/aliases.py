"""Aliases and generations: each kind's alias, its atomic swap to a new generation, and old generations' removal."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from app.search import es_queries as q
from app.search.contract import KINDS, EngineUnavailable
from app.search.elastic.errors import HttpError
from app.search.elastic.retry import Transport

#: An unpublished generation older than this belongs to a build that died; a younger one may be
#: another process's build in progress and is left alone.
ABANDONED_AFTER = timedelta(hours=24)


class Aliases(Transport):
    """The engine's alias and generation bookkeeping."""

    prefix: str

    def alias(self, kind: str) -> str:
        """The alias of `kind`."""
        return q.alias_name(self.prefix, kind)

    def _alias_targets(self, kind: str) -> list[str]:
        """Indices the alias of `kind` points at (one, or none before the first publication)."""
        # Asked of the generation pattern rather than of the alias, which answers 404 when absent.
        answer = self._call("GET", f"/{self.alias(kind)}-*/_alias",
                            params={"ignore_unavailable": "true", "allow_no_indices": "true"})
        return sorted(index for index, body in answer.items() if self.alias(kind) in body.get("aliases", {}))

    def _swap_alias(self, kind: str, index: str) -> list[str]:
        """Move the alias of `kind` to `index` in one atomic `_aliases` call; returns the indices it left."""
        previous = self._alias_targets(kind)
        self._call("POST", "/_aliases", body=q.alias_swap(self.alias(kind), index, previous))
        return previous

    def _require_alias(self, kind: str) -> str:
        check_kind(kind)
        if not self._alias_targets(kind):
            raise EngineUnavailable(f"no published {kind} index")
        return self.alias(kind)

    def _delete_index(self, index: str) -> None:
        try:
            self._call("DELETE", f"/{index}")
        except HttpError as exc:
            if exc.status != 404:
                raise

    def _generations(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every generation index of `kind` with its `_meta`."""
        mappings = self._call("GET", f"/{self.alias(kind)}-*/_mapping",
                              params={"ignore_unavailable": "true", "allow_no_indices": "true"})
        return {index: body.get("mappings", {}).get("_meta", {}) for index, body in mappings.items()}

    def _drop_old_generations(self, kind: str, keep: set[str]) -> None:
        """Delete generations other than `keep` (the new one and the one readers may still be on).

        A generation still building is kept unless it is older than ABANDONED_AFTER.
        """
        cutoff = datetime.now(timezone.utc) - ABANDONED_AFTER
        for index, meta in self._generations(kind).items():
            if index in keep:
                continue
            if meta.get("state") == "building" and created(meta) > cutoff:
                continue
            self._delete_index(index)

    def _drop_abandoned_builds(self, kind: str) -> None:
        """Delete generations whose build died long ago (still `building` after ABANDONED_AFTER)."""
        cutoff = datetime.now(timezone.utc) - ABANDONED_AFTER
        for index, meta in self._generations(kind).items():
            if meta.get("state") == "building" and created(meta) <= cutoff:
                self._delete_index(index)


def check_kind(kind: str) -> None:
    """ValueError for a kind the contract does not know."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")


def created(meta: dict[str, Any]) -> datetime:
    """When a generation was created, from its `_meta` (the oldest possible time when unreadable)."""
    try:
        return datetime.fromisoformat(meta["created_at"])
    except (KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)
