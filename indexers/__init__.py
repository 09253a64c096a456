"""Source indexers and what they share: import statistics, rejections, JSON streaming and commune fallbacks."""
from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import ijson

from app.referentials import Commune, Referentials
from app.search.geo import distance_km
from mappings.common import Place

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Distance from the commune centre beyond which a source's own coordinates are not trusted.
#: The largest metropolitan communes (Arles, Saintes-Maries-de-la-Mer) reach ~25 km from their
#: centre; the LBA team measured that points more than 30 km from their commune were geocoding
#: errors (a town shown in another city), so 30 km separates "edge of a big commune" from "wrong".
MAX_KM_FROM_COMMUNE = 30.0
#: Guyane's communes are the size of French departments (Maripasoula: 18 000 km²).
MAX_KM_FROM_COMMUNE_GUYANE = 200.0

#: How many malformed-item tracebacks an import logs before only counting them.
_LOGGED_ERRORS = 5


class Rejected(Exception):
    """An item that cannot become a document; `reason` is a short stable label counted in the stats."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class ImportStats:
    """Counts of one import: items read, documents produced, rejections and warnings by reason."""

    source: str
    read: int = 0
    indexed: int = 0
    rejected: Counter = field(default_factory=Counter)
    # Items indexed after a correction (e.g. located at the commune centre): worth watching, not losing.
    warnings: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    _errors_logged: int = field(default=0, repr=False)

    @property
    def rejected_total(self) -> int:
        """Items rejected, all reasons together."""
        return sum(self.rejected.values())

    def reject(self, reason: str) -> None:
        """Count one rejected item."""
        self.rejected[reason] += 1

    def warn(self, reason: str) -> None:
        """Count one item indexed with a correction."""
        self.warnings[reason] += 1

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary for job logs and run records."""
        return {"source": self.source, "read": self.read, "indexed": self.indexed,
                "rejected": dict(sorted(self.rejected.items())), "warnings": dict(sorted(self.warnings.items())),
                "seconds": round(self.seconds, 3)}

    def __str__(self) -> str:
        reasons = ", ".join(f"{reason}: {count}" for reason, count in self.rejected.most_common()) or "none"
        return (f"{self.source}: read {self.read}, indexed {self.indexed}, rejected {self.rejected_total} "
                f"({reasons}) in {self.seconds:.1f} s")


def stream_items(path: str | Path, prefix: str = "item") -> Generator[Any, None, None]:
    """Items of the JSON array at `prefix` of a file, parsed one at a time (the C yajl2 backend when present).

    A truncated or invalid file raises ijson's error: the whole import must fail so the index
    generation being built is discarded rather than published half-filled.
    """
    with open(path, "rb") as handle:
        # use_float: coordinates and scores as floats, not Decimal (the engines and pyproj want floats).
        yield from ijson.items(handle, prefix, use_float=True)


def guarded(stats: ImportStats, mapper: Callable[..., T], item: Any, *args: Any, **kwargs: Any) -> T | None:
    """`mapper(item, ...)`, or None with the rejection counted; one bad item never stops an import."""
    if not isinstance(item, dict):
        stats.reject("not an object")
        return None
    try:
        return mapper(item, *args, **kwargs)
    except Rejected as rejection:
        stats.reject(rejection.reason)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as error:
        # A field of an unexpected type: count it under the exception's name and log the first few
        # so a format change upstream is visible without flooding the log.
        stats.reject(f"malformed item ({type(error).__name__})")
        if stats._errors_logged < _LOGGED_ERRORS:
            stats._errors_logged += 1
            log.warning("%s: malformed item %r", stats.source, str(item.get("id") or item.get("siret") or "")[:40],
                        exc_info=True)
    return None


def first_of_each_key(stats: ImportStats, items: Iterable[Any], record_of: Callable[[Any], T | None],
                      key: Callable[[T], str], duplicate: str) -> Iterator[T]:
    """The records of `items`, each item counted as read and the first record of a key winning.

    `record_of` gives None for an item it rejected (already counted); a later record of a key seen
    is rejected as `duplicate`; every record yielded counts as indexed.
    """
    seen: set[str] = set()
    for item in items:
        stats.read += 1
        record = record_of(item)
        if record is None:
            continue
        record_key = key(record)
        if record_key in seen:
            stats.reject(duplicate)
            continue
        seen.add(record_key)
        stats.indexed += 1
        yield record


def text(value: Any) -> str:
    """A source value as stripped text; None and non-scalar values become ''."""
    if type(value) is str:  # the common case first: this runs ~20 times per item
        return value.strip()
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value).strip()


def obj(value: Any) -> dict[str, Any]:
    """A source value that should be a JSON object, or {} when it is anything else."""
    return value if isinstance(value, dict) else {}


def as_float(value: Any) -> float | None:
    """A finite float from a number or numeric string, else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def commune_of(refs: Referentials, insee: str = "", postcode: str = "") -> Commune | None:
    """The commune of an INSEE code (former codes followed), else the most populous one of a postal code."""
    if insee:
        found = refs.communes.get(insee)
        if found is not None:
            return found
    if postcode:
        candidates = refs.communes.for_postcode(postcode)
        if candidates:
            return candidates[0]
    return None


def max_km_from(commune: Commune) -> float:
    """How far from `commune`'s centre a point of that commune may plausibly be."""
    return MAX_KM_FROM_COMMUNE_GUYANE if commune.department == "973" else MAX_KM_FROM_COMMUNE


def plausible(lat: float, lon: float, commune: Commune | None) -> bool:
    """Whether a point is a valid coordinate, not (0, 0), and near its commune when the commune is known."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return False
    if commune is None:
        return True
    return distance_km(lat, lon, commune.latitude, commune.longitude) <= max_km_from(commune)


def place_at(lat: float, lon: float, commune: Commune | None, *, address: str = "", city: str = "",
             postcode: str = "", insee: str = "", department: str = "") -> Place:
    """A Place at a point: address and postal code from the source, commune fields from the resolved commune.

    The resolved commune wins for INSEE code, name and department because sources write former
    INSEE codes and upper-case or abbreviated town names; the source's labels are kept when no
    commune is known.
    """
    if commune is not None:
        city, insee, department = commune.name, commune.insee, commune.department
        postcode = postcode or (commune.postcodes[0] if commune.postcodes else "")
    return Place(latitude=lat, longitude=lon, address=address, city=city, postcode=postcode, insee=insee,
                 department=department)


def iso_utc(value: Any) -> str | None:
    """An ISO 8601 date-time as UTC `YYYY-MM-DDTHH:MM:SSZ` (so it sorts and compares as text), else None.

    Sources write offsets (`+02:00`), `Z`, milliseconds or a bare date; a bare date or a
    date-time without offset is taken as UTC.
    """
    parsed = parse_datetime(value)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else None


def parse_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string, else None."""
    raw = text(value)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
