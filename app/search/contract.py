"""The SearchEngine protocol and the neutral types it speaks: MatchQuery in, Hit and SearchResult out."""
from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# The one tuple of document kinds, in listing order: ranking defines it, the contract speaks it.
from ranking.model import KINDS


class EngineUnavailable(RuntimeError):
    """The engine cannot answer (down, unreachable, or no index published yet)."""


@dataclass(frozen=True)
class MatchQuery:
    """What to look for: ROME codes near a point, with optional filters, one page at a time.

    `romes` are matched as given; a parent code also matches documents carrying its child codes.
    Without a point every matching document is a candidate and distances are None.
    `page_size=None` returns every candidate (the ranking layer wants them all).
    """

    romes: tuple[str, ...]
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float = 30.0
    kinds: tuple[str, ...] = KINDS
    diploma_level: int | None = None
    contract_types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    text: str = ""
    include_expired: bool = False
    #: Département codes: a document passes when its place's department is one of them or its
    #: postcode starts with one (how the public service matches them, so "2A" and "20" both work).
    departments: tuple[str, ...] = ()
    #: OPCO names a document's organisation must have (compared case-insensitively); "" means none.
    opcos: tuple[str, ...] = ()
    #: OPCO names a document's organisation must not have (compared case-insensitively).
    exclude_opcos: tuple[str, ...] = ()
    #: Sources left out (the v3 `partners_to_exclude`).
    exclude_sources: tuple[str, ...] = ()
    page: int = 1
    page_size: int | None = 20

    def __post_init__(self) -> None:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        if self.latitude is not None:
            if not (math.isfinite(self.latitude) and math.isfinite(self.longitude)):  # type: ignore[arg-type]
                raise ValueError("coordinates must be finite")
            if not (-90 <= self.latitude <= 90 and -180 <= self.longitude <= 180):  # type: ignore[operator]
                raise ValueError("coordinates out of range")
        if not (math.isfinite(self.radius_km) and self.radius_km > 0):
            raise ValueError("radius_km must be a positive number")
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kinds: {sorted(unknown)}")
        if self.page < 1 or (self.page_size is not None and self.page_size < 1):
            raise ValueError("page and page_size start at 1")

    @property
    def located(self) -> bool:
        """Whether the query has a point."""
        return self.latitude is not None


@dataclass(frozen=True, slots=True)
class Hit:
    """One candidate with the fields ranking needs; the full document is fetched with `get_many`."""

    kind: str
    id: str
    source: str
    distance_km: float | None
    latitude: float
    longitude: float
    rome_score: float  # best per-ROME hiring score among the asked codes (companies), else 0
    diploma_level: int | None
    contract_types: tuple[str, ...]
    published_at: str | None
    expires_at: str | None
    application_count: int
    text_score: float = 0.0
    rank_score: float | None = None  # the engine's own total of the ranking formula, when it ranked


@dataclass(frozen=True)
class SearchResult:
    """One page of candidates sorted by distance (then id), with the total count per kind."""

    hits: list[Hit]
    totals: dict[str, int]
    generation: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Candidates over all kinds."""
        return sum(self.totals.values())


@dataclass(frozen=True)
class RankedCandidates:
    """Per kind, the best candidates by the ranking formula, with totals and facets over all of them."""

    hits: list[Hit]
    totals: dict[str, int]
    facets: dict[str, dict[str, dict[str, int]]]
    generation: dict[str, str] = field(default_factory=dict)


class PublishOnSuccess:
    """Context-manager behaviour shared by every engine's builder: publish on success, discard on error."""

    def publish(self) -> None:  # pragma: no cover - implemented by each builder
        raise NotImplementedError

    def discard(self) -> None:  # pragma: no cover - implemented by each builder
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.publish()
        else:
            self.discard()


class IndexBuilder(Protocol):
    """A new index generation being filled; invisible to readers until `publish()`."""

    kind: str
    generation: str

    def add(self, documents: Iterable[dict[str, Any]]) -> int:
        """Add documents in bulk; returns how many were added."""

    def publish(self) -> None:
        """Make this generation the one readers see, atomically, and drop older ones."""

    def discard(self) -> None:
        """Delete this generation; the published one keeps serving."""

    def __enter__(self) -> "IndexBuilder": ...

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Publish on success, discard on any exception (which propagates)."""


class SearchEngine(Protocol):
    """What the match service and the indexers need from a search engine."""

    def new_generation(self, kind: str) -> IndexBuilder:
        """Start building a new generation of the `kind` index."""

    def upsert(self, kind: str, documents: Iterable[dict[str, Any]]) -> int:
        """Add or replace documents in the published generation (deposited offers)."""

    def delete(self, kind: str, ids: Iterable[str]) -> int:
        """Delete documents from the published generation; returns how many existed."""

    def search(self, query: MatchQuery) -> SearchResult:
        """Candidates of `query`, exact great-circle distances, sorted by distance then id."""

    def rank(self, query: MatchQuery, specs: dict[str, Any], sort: str, limit: int) -> RankedCandidates:
        """Per asked kind, the `limit` best candidates under `ranking.linear` specs, totals and facets."""

    def iter_candidates(self, query: MatchQuery) -> Iterator[Hit]:
        """Every candidate of `query` in no particular order (for ranking and facets)."""

    def get_many(self, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Full documents by id; missing ids are absent from the answer."""

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per kind: published generation, document count, publication time."""

    def health(self) -> bool:
        """Whether the engine answers."""

    def close(self) -> None:
        """Release connections."""


def distance_key(hit: Hit) -> tuple[float, int, str]:
    """The contract's order: distance (none counts as 0), then kind in KINDS order, then id."""
    return (hit.distance_km if hit.distance_km is not None else 0.0, KINDS.index(hit.kind), hit.id)


def merge_page(per_kind: Sequence[list[Hit]], query: MatchQuery) -> list[Hit]:
    """Merge per-kind lists already in `distance_key` order and cut the query's page."""
    merged = list(heapq.merge(*per_kind, key=distance_key))
    if query.page_size is None:
        return merged
    start = (query.page - 1) * query.page_size
    return merged[start:start + query.page_size]
