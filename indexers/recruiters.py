"""Output of the "recruteurs LBA" hiring-prediction algorithm (companies likely to hire) → company documents."""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextlib import closing
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Transformer

from app.referentials import Referentials
from indexers import (
    ImportStats,
    Rejected,
    as_float,
    commune_of,
    first_of_each_key,
    guarded,
    place_at,
    plausible,
    stream_items,
    text,
)
from mappings.common import Place
from mappings.company import Company, to_document

SOURCE = "recruteurs_lba"
WGS84 = 4326
LAMBERT_93 = 2154
#: Projection of SIRENE coordinates by territory (INSEE / postal code prefix). Overseas values are
#: those of DOMAIN.md (Guadeloupe and Martinique RGAF09 / UTM 20N, Guyane RGFG95 / UTM 22N,
#: La Réunion RGR92 / UTM 40S, Mayotte RGM04 / UTM 38S); the COM that SIRENE also covers use
#: their own UTM zone: Saint-Pierre-et-Miquelon RGSPM06 / UTM 21N, Saint-Barthélemy and
#: Saint-Martin the Guadeloupe system.
PROJECTION_BY_PREFIX = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "975": 4467, "976": 4471,
                        "977": 5490, "978": 5490}
SCORE_FLOOR = 1e-4  # normalized_score shown as 0
SCORE_DECADES = 3.0  # decades from the floor to a score of 100 (1e-1)
BATCH = 2000  # items projected together: pyproj is ~100× faster per point on arrays than one by one

Warn = Callable[[str], None]


def _ignore(_: str) -> None:
    """Default warning sink of the pure mapper."""


@lru_cache(maxsize=None)
def _transformer(epsg: int) -> Transformer:
    # always_xy: projected x/y in, lon/lat out, whatever the axis order the EPSG definitions declare.
    return Transformer.from_crs(epsg, WGS84, always_xy=True)


def projection_of(zip_code: str, insee: str) -> int:
    """EPSG code of a company's coordinates: from the postal code's prefix, else the INSEE code's.

    Falling back to Lambert-93 when the postal code is missing put overseas companies in the
    North Sea in the public service; the INSEE code has the same territorial prefix.
    """
    for code in (zip_code, insee):
        code = code.strip()
        if len(code) == 5:
            return PROJECTION_BY_PREFIX.get(code[:3], LAMBERT_93)
    return LAMBERT_93


def to_wgs84(x: float, y: float, epsg: int) -> tuple[float, float] | None:
    """(lat, lon) of projected coordinates, or None when they do not project to a finite point."""
    lon, lat = _transformer(epsg).transform(x, y)
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    return lat, lon


def to_wgs84_many(xs: list[float], ys: list[float], epsgs: list[int]) -> list[tuple[float, float] | None]:
    """`to_wgs84` over many points, one vectorised pyproj call per projection."""
    out: list[tuple[float, float] | None] = [None] * len(xs)
    x_arr, y_arr, e_arr = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), np.asarray(epsgs)
    for epsg in np.unique(e_arr):
        index = np.nonzero(e_arr == epsg)[0]
        lon, lat = _transformer(int(epsg)).transform(x_arr[index], y_arr[index])
        for i, la, lo in zip(index.tolist(), np.asarray(lat).tolist(), np.asarray(lon).tolist()):
            if math.isfinite(la) and math.isfinite(lo):
                out[i] = (la, lo)
    return out


def rome_score(normalized_score: Any) -> float:
    """0–100 score of the algorithm's per-ROME `normalized_score`, on a logarithmic scale.

    `normalized_score` is a hiring propensity whose values span orders of magnitude (about 1e-4 to
    1e-1; the published sample has 0.0094 and 0.0107), so a linear scale would crush most companies
    near 0: 1e-4 (or less) → 0, 1e-3 → 33.33, 1e-2 → 66.67, 1e-1 (or more) → 100, rounded to 0.01.
    A company's `hiring_score` is the best of its per-ROME scores.
    """
    value = as_float(normalized_score)
    if value is None or value <= SCORE_FLOOR:
        return 0.0
    scaled = 100.0 * (math.log10(value) - math.log10(SCORE_FLOOR)) / SCORE_DECADES
    return round(min(100.0, scaled), 2)


def valid_siret(siret: str) -> bool:
    """14 digits with a valid Luhn check (La Poste's establishments: digit sum multiple of 5)."""
    if not re.fullmatch(r"\d{14}", siret):
        return False
    if siret.startswith("356000000"):
        return sum(int(d) for d in siret) % 5 == 0
    total = 0
    for position, char in enumerate(reversed(siret)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def rome_scores(item: dict[str, Any], refs: Referentials, warn: Warn = _ignore) -> dict[str, float]:
    """0–100 score per known ROME code of the item; Rejected when no known code is left."""
    scores: dict[str, float] = {}
    for entry in item.get("rome_codes") or []:
        code, raw = (entry.get("rome_code"), entry.get("normalized_score")) if isinstance(entry, dict) else (entry, 0)
        code = text(code).upper()
        if code not in refs.rome:
            if code:
                warn("unknown ROME code dropped")
            continue
        scores[code] = max(scores.get(code, 0.0), rome_score(raw))
    if not scores:
        raise Rejected("no known ROME code")
    return scores


def _coordinates(item: dict[str, Any]) -> tuple[float, float] | None:
    x = as_float(item.get("coordonneeLambertAbscisseEtablissement"))
    y = as_float(item.get("coordonneeLambertOrdonneeEtablissement"))
    # 0 is how the source writes "not geocoded".
    return (x, y) if x and y else None


def locate(item: dict[str, Any], refs: Referentials, warn: Warn = _ignore,
           projected: tuple[float, float] | None = None) -> Place:
    """The establishment: its projected coordinates, else the centre of its commune.

    `projected` is the (lat, lon) already computed for the item by a batch projection.
    """
    insee, zip_code = text(item.get("insee_city_code")), text(item.get("zip_code"))
    commune = commune_of(refs, insee, zip_code)
    labels: dict[str, Any] = {
        "address": " ".join(filter(None, [text(item.get("street_number")), text(item.get("street_name"))])),
        "city": text(item.get("libelleCommuneEtablissement")),
        "postcode": zip_code, "insee": insee,
    }
    xy = _coordinates(item)
    if xy is not None:
        point = projected or to_wgs84(*xy, projection_of(zip_code, insee))
        if point is not None and plausible(*point, commune):
            return place_at(*point, commune, **labels)
    if commune is None:
        raise Rejected("no location")
    warn("coordinates far from commune" if xy is not None else "located at commune centre")
    return place_at(commune.latitude, commune.longitude, commune, **labels)


def map_company(item: dict[str, Any], refs: Referentials, warn: Warn = _ignore,
                projected: tuple[float, float] | None = None) -> Company:
    """One algorithm output row as a Company record; raises Rejected with the reason when it cannot be one."""
    siret = re.sub(r"\s", "", text(item.get("siret")))
    if not valid_siret(siret):
        raise Rejected("invalid siret", siret)
    legal_name = text(item.get("raison_sociale"))
    name = text(item.get("enseigne")) or legal_name
    if not name:
        raise Rejected("missing name")
    scores = rome_scores(item, refs, warn)
    place = locate(item, refs, warn, projected)
    naf = (text(item.get("naf_code")) or text(item.get("activitePrincipaleEtablissement"))).replace(".", "").upper()
    naf_label = (text(item.get("naf_label")) or text(item.get("labelActivitePrincipaleEtablissement"))
                 or refs.naf.label(naf))
    return Company(
        siret=siret,
        name=name,
        place=place,
        rome_scores=scores,
        rome_index_codes=refs.rome.index_codes(scores),
        legal_name=legal_name,
        naf=naf,
        naf_label=naf_label,
        size=text(item.get("company_size")),
        hiring_score=max(scores.values()),
        website=text(item.get("site_web")),
        email=text(item.get("email")),
        phone=text(item.get("phone")),
    )


def _project_batch(items: list[Any]) -> list[tuple[float, float] | None]:
    """(lat, lon) of every item of a batch that has coordinates, computed per projection in one go."""
    slots, xs, ys, epsgs = [], [], [], []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        xy = _coordinates(item)
        if xy is None:
            continue
        slots.append(position)
        xs.append(xy[0])
        ys.append(xy[1])
        epsgs.append(projection_of(text(item.get("zip_code")), text(item.get("insee_city_code"))))
    projected: list[tuple[float, float] | None] = [None] * len(items)
    if slots:
        for position, point in zip(slots, to_wgs84_many(xs, ys, epsgs)):
            projected[position] = point
    return projected


def _projected(items: Iterator[Any]) -> Iterator[tuple[Any, tuple[float, float] | None]]:
    """Each item with its (lat, lon), the items read and projected BATCH at a time."""
    while batch := list(islice(items, BATCH)):
        yield from zip(batch, _project_batch(batch))


def iter_documents(path: str | Path, refs: Referentials, stats: ImportStats) -> Iterator[dict[str, Any]]:
    """Company documents of the algorithm's JSON array, streamed in batches; the first row of a SIRET wins."""
    # closing(): a consumer that stops early (a failed build) must not leave the file open.
    with closing(stream_items(path)) as items:
        for record in first_of_each_key(
                stats, _projected(items),
                lambda pair: guarded(stats, map_company, pair[0], refs, stats.warn, pair[1]),
                key=lambda record: record.siret, duplicate="duplicate siret"):
            yield to_document(record)
