"""What the métier index answers: the ROME families a text means (with the place it names) and autocomplete lines."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.metiers.places import PlaceInText


@dataclass(frozen=True)
class RomeMatch:
    """One ROME code family a query means: the most specific matching code, its parent, label and score."""

    code: str
    parent: str
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the API."""
        return {"code": self.code, "parent": self.parent, "label": self.label, "score": self.score}


class Resolution(list):
    """The résolveur's answer: RomeMatch items best first, and the place the text named, if any."""

    def __init__(self, matches=(), place: PlaceInText | None = None) -> None:
        super().__init__(matches)
        self.place = place


@dataclass(frozen=True)
class Suggestion:
    """One autocomplete line: a job title, its appellation code, ROME code and parent code."""

    label: str
    appellation_code: str | None
    rome: str
    parent: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the API."""
        return {"label": self.label, "appellation_code": self.appellation_code, "rome": self.rome,
                "parent": self.parent, "score": self.score}
