"""Paging with search_after: later pages read from the first page's concrete index, so a swap cannot mix generations."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from app.search import es_queries as q
from app.search.contract import EngineUnavailable, MatchQuery
from app.search.elastic.msearch import Searches
from ranking.linear import LinearSpec


class Paging(Searches):
    """The engine's `_collect` and `_generation_of`."""

    def _collect(self, kind: str, first: dict[str, Any], want: int | None, size: int,
                 body_for: Callable[[list[Any] | None], dict[str, Any]]) -> list[dict[str, Any]]:
        """Hits of `first` and of the following pages of `size` (search_after), up to `want` (None: all).

        Later pages go to the concrete index of the first answer, not to the alias, so a swap in
        between cannot mix two generations; if that index is gone (two swaps since), start again.
        """
        for _ in range(3):
            raw = list(first["hits"]["hits"])
            index = raw[0]["_index"] if len(raw) == size else None  # a short page is the last one
            complete = True
            while index and (want is None or len(raw) < want):
                answer = self._search(index, body_for(raw[-1]["sort"]))
                if answer is None:
                    complete = False
                    break
                page = answer["hits"]["hits"]
                raw.extend(page)
                if len(page) < size:
                    break
            if complete:
                return raw if want is None else raw[:want]
            restarted = self._search(self.alias(kind), body_for(None))
            if restarted is None:
                return []
            first = restarted
        raise EngineUnavailable(f"{self.alias(kind)} kept changing generation while being read")

    def _generation_of(self, kind: str, raw: list[dict[str, Any]]) -> str | None:
        """The generation that answered: from the hits, else from the alias."""
        if raw:
            return q.generation_of(self.prefix, kind, raw[0]["_index"])
        targets = self._alias_targets(kind)
        return q.generation_of(self.prefix, kind, targets[0]) if targets else None


def next_rank_body(query: MatchQuery, spec: LinearSpec, sort: str, today: date, size: int,
                   after: list[Any] | None) -> dict[str, Any]:
    """A following page of `rank`: facets were counted with the first one."""
    return q.rank_body(query, spec, sort, today, size, after, with_facets=False)


def total_position(query: MatchQuery, sort: str) -> int:
    """Where the ranking total sits among a rank hit's sort values (see es_queries.rank_sort)."""
    if sort == "distance" and query.located:
        return 1
    return 1 if sort == "date" else 0
