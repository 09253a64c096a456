"""Per-ROME split of predicted hires, 0–100 scores, exclusions, and the predicted-recruiters file for the importer.

Split: a company's predicted apprenticeship hires h (next six months, all jobs) go to each parent
ROME code r mapped to its NAF code n in proportion to r's share of n's hirings in La Bonne
Boite's ROME↔NAF table: h_r = h × hirings(r, n) / hirings(n).

Score: the chance that the company hires at least one apprentice for that job within six months,
if its hires are Poisson: score_r = 100 × (1 − exp(−h_r)). 50 means h_r ≈ 0.69, 90 means h_r ≈ 2.3.
A probability is what a young person needs ("is it worth writing to them?") and, unlike raw
hires, it does not let the biggest employers crush every other score.

Thresholds: a (company, ROME) pair is written when its score is at least MIN_ROME_SCORE; a company
is written when at least one pair passes, with its MAX_ROMES best pairs. Companies that are closed,
opted out, nameless or whose NAF code has no ROME are never written.

The importer (indexers/recruiters.py) turns `normalized_score` into a 0–100 score on a log scale
(1e-4 → 0, 1e-1 → 100); `normalized_score` is written as the value that scale maps back to our
score, so the index shows exactly the score computed here.
"""
from __future__ import annotations

import math
import os
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from app.referentials import Referentials
from indexers.hiring.codes import HEADCOUNT_BANDS
from indexers.hiring.history import Companies
from indexers.recruiters import SCORE_DECADES, SCORE_FLOOR, projection_of

#: A pair below a 10 % chance of a hire for that job within six months is not worth a spontaneous
#: application; on the national synthetic data this keeps about a quarter of the companies.
MIN_ROME_SCORE = 10.0
#: La bonne alternance keeps a company's six best jobs for display; a few more keep the index small
#: while letting multi-trade companies be found for their secondary jobs.
MAX_ROMES = 10
CHUNK = 20_000  # companies projected and serialised together


@dataclass
class OutputStats:
    """What one output run wrote and left out, by reason."""

    companies: int = 0
    written: int = 0
    pairs: int = 0
    excluded: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {"companies": self.companies, "written": self.written, "rome_pairs": self.pairs,
                "excluded": dict(sorted(self.excluded.items()))}


def rome_score(hires: np.ndarray | float) -> np.ndarray:
    """0–100 chance of at least one hire given expected hires (Poisson), rounded to 0.01."""
    return np.round(100.0 * (1.0 - np.exp(-np.asarray(hires, dtype=float))), 2)


def normalized_score(score: float) -> float:
    """The `normalized_score` the importer's log scale turns back into `score` (0–100)."""
    return round(SCORE_FLOOR * 10.0 ** (score * SCORE_DECADES / 100.0), 12)


def split_by_rome(hires: float, naf: str, refs: Referentials) -> dict[str, float]:
    """Expected hires of one company per parent ROME code of its NAF code (empty when the NAF has none)."""
    return {rome: hires * share for rome, share in refs.naf.rome_shares(naf).items()}


@dataclass(frozen=True)
class RomePairs:
    """Every (company, ROME) pair allowed by the NAF mapping, as parallel arrays."""

    company: np.ndarray  # company row
    rome: np.ndarray  # index into `codes`
    share: np.ndarray  # ROME's share of the company's NAF hirings
    codes: list[str]


def rome_pairs(nafs: np.ndarray, refs: Referentials, rows: np.ndarray | None = None) -> RomePairs:
    """The (company, ROME, share) pairs of the companies `rows` (default all), vectorised over NAF codes."""
    rows = np.arange(len(nafs)) if rows is None else rows
    codes = sorted(refs.naf.nafs_of_rome)
    position = {code: i for i, code in enumerate(codes)}
    companies, romes, shares = [], [], []
    naf_of_rows = nafs[rows]
    for naf in np.unique(naf_of_rows).tolist():
        members = rows[naf_of_rows == naf]
        for rome, share in sorted(refs.naf.rome_shares(naf).items()):
            companies.append(members)
            romes.append(np.full(members.size, position[rome], dtype=np.int32))
            shares.append(np.full(members.size, share))
    if not companies:
        return RomePairs(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0), codes)
    return RomePairs(np.concatenate(companies), np.concatenate(romes), np.concatenate(shares), codes)


def _day(text: str) -> str:
    # `YYYY-MM` reads as the first of the month.
    return text if len(text) >= 10 else f"{text}-01"


def exclusion_reasons(companies: Companies, refs: Referentials, as_of: date,
                      opted_out: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Per company, why it must not be written ('' when it may be), in order of precedence.

    `opted_out` are the SIRETs of the store's opt-out list (the companies' own requests), the same
    list the recruiters import excludes; the history's `opt_out` column is the extract's flag.
    """
    mapped = set(refs.naf.romes_of_naf)
    today = as_of.isoformat()
    reasons = []
    for i in range(len(companies)):
        closed_on = companies.closed_on[i]
        if closed_on and _day(closed_on) <= today:
            reasons.append("closed")
        elif companies.opt_out[i] or companies.siret[i] in opted_out:
            reasons.append("opted out")
        elif not (companies.name[i] or companies.trade_name[i]):
            reasons.append("no name")
        elif companies.naf[i] not in mapped:
            reasons.append("no ROME for NAF")
        else:
            reasons.append("")
    return reasons


def fold_upper(name: str) -> str:
    """Upper case without accents, as SIRENE writes commune names."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


def _projected(companies: Companies, rows: list[int]) -> list[tuple[float, float] | None]:
    """SIRENE-style projected (x, y) of each row, None without coordinates.

    The projection per territory is the importer's own (`projection_of`), so it projects back exactly.
    """
    out: list[tuple[float, float] | None] = [None] * len(rows)
    by_epsg: dict[int, list[int]] = {}
    for slot, row in enumerate(rows):
        if not math.isnan(companies.latitude[row]):
            by_epsg.setdefault(projection_of(companies.postcode[row], companies.insee[row]), []).append(slot)
    for epsg, slots in by_epsg.items():
        lats = companies.latitude[[rows[s] for s in slots]]
        lons = companies.longitude[[rows[s] for s in slots]]
        x, y = _from_wgs84(epsg).transform(lons, lats)
        for slot, xi, yi in zip(slots, np.asarray(x).tolist(), np.asarray(y).tolist()):
            if math.isfinite(xi) and math.isfinite(yi):
                out[slot] = (round(xi, 3), round(yi, 3))
    return out


_FROM_WGS84: dict[int, Any] = {}


def _from_wgs84(epsg: int) -> Any:
    if epsg not in _FROM_WGS84:
        from pyproj import Transformer

        # always_xy: lon/lat in, projected x/y out, whatever axis order the EPSG definitions declare.
        _FROM_WGS84[epsg] = Transformer.from_crs(4326, epsg, always_xy=True)
    return _FROM_WGS84[epsg]


def ranked_shares(naf: str, refs: Referentials) -> list[tuple[str, float]]:
    """(ROME, share) of a NAF code, largest share first (ties by code)."""
    return sorted(refs.naf.rome_shares(naf).items(), key=lambda pair: (-pair[1], pair[0]))


def romes_from_shares(hires: float, shares: list[tuple[str, float]], min_score: float = MIN_ROME_SCORE,
                      max_romes: int = MAX_ROMES) -> list[tuple[str, float]]:
    """(ROME, score) pairs passing `min_score`, at most `max_romes`, from `ranked_shares` (best first)."""
    kept = []
    for rome, share in shares[:max_romes]:
        score = round(100.0 * (1.0 - math.exp(-hires * share)), 2)
        if score < min_score:
            break  # shares only decrease from here
        kept.append((rome, score))
    return kept


def company_romes(hires: float, naf: str, refs: Referentials, min_score: float = MIN_ROME_SCORE,
                  max_romes: int = MAX_ROMES) -> list[tuple[str, float]]:
    """(ROME, score) pairs a company is shown for, best first; empty when none passes the threshold."""
    return romes_from_shares(hires, ranked_shares(naf, refs), min_score, max_romes)


def recruiter_item(companies: Companies, row: int, hires: float, romes: list[tuple[str, float]],
                   refs: Referentials, xy: tuple[float, float] | None) -> dict[str, Any]:
    """One element of the predicted-recruiters file, in the field names the importer reads."""
    naf = str(companies.naf[row])
    label = refs.naf.label(naf)

    def nullable(text: str) -> str | None:
        return text or None

    return {
        "siret": companies.siret[row],
        "enseigne": nullable(companies.trade_name[row]),
        "raison_sociale": nullable(companies.name[row]),
        "activitePrincipaleEtablissement": naf,
        "labelActivitePrincipaleEtablissement": label,
        "naf_code": naf,
        "naf_label": label,
        "street_number": nullable(companies.street_number[row]),
        "street_name": nullable(companies.street_name[row]),
        "insee_city_code": companies.insee[row],
        "zip_code": companies.postcode[row],
        "libelleCommuneEtablissement": fold_upper(companies.city[row]),
        "email": nullable(companies.email[row]),
        "phone": nullable(companies.phone[row]),
        "site_web": nullable(companies.website[row]),
        "company_size": HEADCOUNT_BANDS[str(companies.band[row])][0],
        "coordonneeLambertAbscisseEtablissement": xy[0] if xy else None,
        "coordonneeLambertOrdonneeEtablissement": xy[1] if xy else None,
        "rome_codes": [{"rome_code": rome, "normalized_score": normalized_score(score)} for rome, score in romes],
        # Our extension (ignored by the importer today): expected apprenticeship hires in six months, all jobs.
        "predicted_hires": round(float(hires), 4),
    }


def recruiter_items(companies: Companies, predicted: np.ndarray, refs: Referentials, as_of: date,
                    stats: OutputStats | None = None, min_score: float = MIN_ROME_SCORE,
                    max_romes: int = MAX_ROMES,
                    opted_out: frozenset[str] | set[str] = frozenset()) -> Iterator[dict[str, Any]]:
    """Items of the predicted-recruiters file for every company that passes the exclusions and thresholds."""
    stats = stats if stats is not None else OutputStats()
    reasons = exclusion_reasons(companies, refs, as_of, opted_out)
    stats.companies += len(companies)
    shares = {naf: ranked_shares(naf, refs) for naf in refs.naf.romes_of_naf}
    nafs = companies.naf.tolist()
    for start in range(0, len(companies), CHUNK):
        kept: list[tuple[int, list[tuple[str, float]]]] = []
        for row in range(start, min(start + CHUNK, len(companies))):
            if reasons[row]:
                stats.excluded[reasons[row]] += 1
                continue
            romes = romes_from_shares(float(predicted[row]), shares[nafs[row]], min_score, max_romes)
            if not romes:
                stats.excluded["below threshold"] += 1
                continue
            kept.append((row, romes))
        points = _projected(companies, [row for row, _ in kept])
        for (row, romes), xy in zip(kept, points):
            stats.written += 1
            stats.pairs += len(romes)
            yield recruiter_item(companies, row, float(predicted[row]), romes, refs, xy)


def write_recruiters(path: str | Path, items: Iterator[dict[str, Any]],
                     accept: Callable[[int], bool] | None = None) -> int | None:
    """Write a JSON array, one item per line, atomically (a temporary file renamed over `path`).

    Returns the number of items, or None when `accept(count)` refused the new file: it is then
    deleted and `path` left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    count = 0
    try:
        with temporary.open("wb") as handle:
            handle.write(b"[\n")
            for item in items:
                if count:
                    handle.write(b",\n")
                handle.write(orjson.dumps(item))
                count += 1
            handle.write(b"\n]\n")
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if accept is not None and not accept(count):
        temporary.unlink()
        return None
    # The importer reads the whole file; it must never see half of a new one.
    os.replace(temporary, target)
    return count
