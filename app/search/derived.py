"""Fields both engines derive from a document the same way: unit vector, per-code hiring scores, Paris days."""
from __future__ import annotations

from typing import Any, NamedTuple

from app.search.geo import unit_vector
from ranking.score import parse_day


class Derived(NamedTuple):
    """What an engine indexes besides the document's own fields, computed once for both engines.

    A named tuple: it is made for every document of every build, and a frozen dataclass costs more.
    """

    lat: float
    lon: float
    x: float
    y: float
    z: float
    code_scores: list[tuple[str, float]]  # (ROME index code, hiring score or 0.0), codes once, in order
    published_day: int | None  # date.toordinal() of the Paris day, as ranking.score.parse_day reads it
    expires_day: int | None


def derive(doc: dict[str, Any]) -> Derived:
    """The derived fields of one document (which is not modified)."""
    lat = float(doc["location"]["lat"])
    lon = float(doc["location"]["lon"])
    scores = doc.get("rome_scores") or {}
    codes = dict.fromkeys(doc.get("rome_index_codes") or doc.get("romes") or [])
    x, y, z = unit_vector(lat, lon)
    published = parse_day(doc.get("published_at"))
    expires = parse_day(doc.get("expires_at"))
    return Derived(lat, lon, x, y, z, [(code, float(scores.get(code, 0.0))) for code in codes],
                   published.toordinal() if published else None, expires.toordinal() if expires else None)


def ordinal_day(value: str | None) -> int | None:
    """Day number (date.toordinal) of an ISO date or datetime, read as ranking.score.parse_day reads it."""
    day = parse_day(value)
    return day.toordinal() if day else None


def paris_day(value: str | None) -> str | None:
    """The Paris calendar day (YYYY-MM-DD) of an ISO date or datetime, as hits carry an expiry."""
    day = parse_day(value)
    return day.isoformat() if day else None
