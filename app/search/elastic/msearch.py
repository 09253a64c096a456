"""Searches: several kinds in one `_msearch` round trip, or one `_search`, both retried; None for a missing index."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.search.elastic.aliases import Aliases
from app.search.elastic.errors import HttpError, SearchRequestError, Transient, reason
from app.search.elastic.retry import RETRY_STATUSES, check_shards


class Searches(Aliases):
    """The engine's `_msearch`, `_answers` and `_search`."""

    def _msearch(self, requests: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any] | None]:
        """Several searches in one round trip; None for a target that does not exist (no published index)."""
        if not requests:
            return []
        lines: list[dict[str, Any]] = []
        for target, body in requests:
            lines.extend(({"index": target}, body))

        def attempt() -> list[dict[str, Any] | None]:
            try:
                answers = self._once("POST", "/_msearch", None, lines, True)["responses"]
            except HttpError as exc:
                raise SearchRequestError(f"{self.flavor} rejected a search: {exc}") from exc
            out: list[dict[str, Any] | None] = []
            for answer in answers:
                status = answer.get("status", 200)
                if "error" in answer:
                    if status == 404:
                        out.append(None)
                        continue
                    if status in RETRY_STATUSES:
                        raise Transient(reason(answer))
                    raise SearchRequestError(f"{self.flavor} rejected a search: {reason(answer)}")
                check_shards(answer)
                out.append(answer)
            return out

        return self._retrying(attempt, "POST /_msearch")

    def _answers(self, kinds: list[str], body_for: Callable[[str], dict[str, Any]]) -> list[dict[str, Any] | None]:
        """First pages of every kind in one _msearch; None for a kind without a published index.

        A 404 for a kind whose alias exists means its index was deleted between the alias
        resolution and the search (two swaps in a few ms): that kind is asked again.
        """
        answers = self._msearch([(self.alias(kind), body_for(kind)) for kind in kinds])
        for position, kind in enumerate(kinds):
            if answers[position] is None and self._alias_targets(kind):
                answers[position] = self._search(self.alias(kind), body_for(kind))
        return answers

    def _search(self, target: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """One search, retried like the others; None when the target index or alias does not exist."""
        def attempt() -> dict[str, Any] | None:
            try:
                answer = self._once("POST", f"/{target}/_search", None, body, False)
            except HttpError as exc:
                if exc.status == 404:
                    return None
                raise SearchRequestError(f"{self.flavor} rejected a search: {exc}") from exc
            check_shards(answer)
            return answer

        return self._retrying(attempt, f"POST /{target}/_search")
