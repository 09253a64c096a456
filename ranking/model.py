"""Neutral types of ranking: what it reads (Candidate, RankingContext) and returns (ScoredCandidate)."""
from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Protocol, Union

KINDS = ("formation", "offer", "company")
SORTS = ("relevance", "distance", "date")

# What a component's raw input can be; all JSON-able so the explain view can show it as is.
RawInput = Union[float, int, str, None]


class Candidate(Protocol):
    """Anything the search engine returns for a query; read-only properties so frozen dataclasses match."""

    @property
    def kind(self) -> str: ...

    @property
    def id(self) -> str: ...

    @property
    def source(self) -> str: ...

    # Great-circle km from the query point; None when the query has no location.
    @property
    def distance_km(self) -> float | None: ...

    # Predicted hiring score 0-100 for the asked jobs (companies); 0 for other kinds.
    @property
    def rome_score(self) -> float: ...

    @property
    def diploma_level(self) -> int | None: ...

    @property
    def contract_types(self) -> tuple[str, ...]: ...

    # ISO date or datetime strings, as the documents carry them.
    @property
    def published_at(self) -> str | None: ...

    @property
    def expires_at(self) -> str | None: ...

    @property
    def application_count(self) -> int: ...

    # BM25-like relevance of the typed words, >= 0, higher is better; 0 without words.
    @property
    def text_score(self) -> float: ...


@dataclass(frozen=True)
class CandidateData:
    """A plain Candidate, for tests and for callers that have no engine hit at hand."""

    kind: str
    id: str
    source: str
    distance_km: float | None = None
    rome_score: float = 0.0
    diploma_level: int | None = None
    contract_types: tuple[str, ...] = ()
    published_at: str | None = None
    expires_at: str | None = None
    application_count: int = 0
    text_score: float = 0.0


@dataclass(frozen=True)
class RankingContext:
    """What ranking needs to know about the query; the engine has already filtered on everything else."""

    radius_km: float
    today: datetime.date
    has_text: bool = False
    sort: str = "relevance"
    kinds: tuple[str, ...] = KINDS

    def __post_init__(self) -> None:
        # Fail at construction so a bad context never yields a silently odd order.
        if not (math.isfinite(self.radius_km) and self.radius_km > 0):
            raise ValueError("radius_km must be a positive number")
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, not {self.sort!r}")
        unknown = sorted(set(self.kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown kinds: {unknown}")


@dataclass(frozen=True)
class Component:
    """One scoring component of one candidate, with everything the explain view shows."""

    name: str
    input: RawInput
    value: float
    weight: float
    contribution: float


@dataclass(frozen=True)
class ScoredCandidate:
    """A candidate, its total score and the components that add up to it."""

    candidate: Candidate
    total: float
    components: tuple[Component, ...]

    def component(self, name: str) -> Component:
        """The component called `name`; KeyError when there is none."""
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)
