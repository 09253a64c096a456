"""The predicted recruiters file: companies La Bonne Boite's rule shows, in SIRENE projected coordinates."""
from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Transformer

from app.referentials import Commune
from scripts.demo_data.identifiers import make_siret, phone
from scripts.demo_data.names import STREETS, company_name, fold_upper, slug
from scripts.demo_data.rejections import broken_positions, count_by_reason
from scripts.demo_data.world import World, jitter
from scripts.demo_data.writing import CHUNK, write_lines

#: La Bonne Boite's visibility rule: share(NAF, ROME) × predicted hires ≥ 0.2 hires a year.
ROME_THRESHOLD = 0.2
MAX_ROMES = 6
#: normalized_score = score × this, which puts scores in the sample's range (~0.001–0.1).
NORMALIZED_PER_HIRE = 0.005

# Projected systems of SIRENE coordinates, by department (same table as indexers/recruiters.py).
EPSG_BY_DEPARTMENT = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
LAMBERT_93 = 2154


def _company(world: World, rng: random.Random, sirets: set[str]) -> tuple[dict[str, Any], Commune, int] | None:
    """One company row (coordinates not yet projected), or None when no ROME would pass the threshold."""
    naf = world.nafs.draw(rng)
    size, headcount, _ = world.sizes.draw(rng)
    # Predicted apprentice-related hirings a year grow less than linearly with headcount.
    predicted = 0.5 * headcount ** 0.45 * rng.lognormvariate(0.0, 0.6)
    romes = [(rome, share * predicted) for rome, share in world.shares[naf] if share * predicted >= ROME_THRESHOLD]
    if not romes:
        return None
    romes = romes[:MAX_ROMES]
    commune = world.places.draw(rng)
    naf_code = world.refs.naf.codes[naf]
    name, legal = company_name(rng, naf, naf_code.division, commune)
    siret = make_siret(rng)
    while siret in sirets:
        siret = make_siret(rng)
    sirets.add(siret)
    row = {
        "siret": siret,
        "enseigne": name.upper() if rng.random() < 0.7 else None,
        "activitePrincipaleEtablissement": naf,
        "labelActivitePrincipaleEtablissement": naf_code.label,
        "naf_code": naf,
        "naf_label": naf_code.label,
        "raison_sociale": legal,
        "street_number": str(rng.randrange(1, 200)) if rng.random() < 0.7 else None,
        "street_name": rng.choice(STREETS) if rng.random() < 0.9 else None,
        "insee_city_code": commune.insee,
        "zip_code": rng.choice(commune.postcodes),
        "email": f"contact.{slug(name)}@example.org" if rng.random() < 0.3 else None,
        "phone": phone(rng) if rng.random() < 0.4 else None,
        "company_size": size,
        "coordonneeLambertAbscisseEtablissement": None,
        "coordonneeLambertOrdonneeEtablissement": None,
        "libelleCommuneEtablissement": fold_upper(commune.name),
        "rome_codes": [{"rome_code": rome, "normalized_score": round(score * NORMALIZED_PER_HIRE, 10)}
                       for rome, score in romes],
    }
    return row, commune, EPSG_BY_DEPARTMENT.get(commune.department, LAMBERT_93)


def _project(rows: list[tuple[dict[str, Any], tuple[float, float], int]]) -> None:
    """Fill the projected coordinates of rows in place, one vectorised pyproj call per projection."""
    epsgs = np.array([epsg for _, _, epsg in rows])
    lats = np.array([point[0] for _, point, _ in rows])
    lons = np.array([point[1] for _, point, _ in rows])
    for epsg in np.unique(epsgs):
        index = np.nonzero(epsgs == epsg)[0]
        x, y = _to_projected(int(epsg)).transform(lons[index], lats[index])
        for i, xi, yi in zip(index.tolist(), np.round(x, 6).tolist(), np.round(y, 6).tolist()):
            rows[i][0]["coordonneeLambertAbscisseEtablissement"] = xi
            rows[i][0]["coordonneeLambertOrdonneeEtablissement"] = yi


_transformers: dict[int, Transformer] = {}


def _to_projected(epsg: int) -> Transformer:
    if epsg not in _transformers:
        _transformers[epsg] = Transformer.from_crs(4326, epsg, always_xy=True)
    return _transformers[epsg]


def _break_company(rng: random.Random, row: dict[str, Any], kind: str) -> None:
    """Damage a company row so the indexer must reject it for reason `kind`."""
    if kind == "no location":
        row.update({"insee_city_code": None, "zip_code": None, "coordonneeLambertAbscisseEtablissement": None,
                    "coordonneeLambertOrdonneeEtablissement": None})
    elif kind == "invalid siret":
        last = int(row["siret"][-1])
        row["siret"] = row["siret"][:-1] + str((last + 1 + rng.randrange(8)) % 10)
    elif kind == "no known ROME code":
        row["rome_codes"] = []


def generate_companies(world: World, path: Path, count: int, seed: int, tick: Callable[[int], None]) -> dict[str, int]:
    """Write `count` company rows; returns the rejections the indexer should report, by reason."""
    rng = random.Random(f"{seed}:companies")
    broken = broken_positions(rng, count, ["no location", "invalid siret", "no known ROME code"], per=2000)
    sirets: set[str] = set()
    written = 0
    with path.open("wb") as handle:
        handle.write(b"[\n")
        while written < count:
            rows: list[tuple[dict[str, Any], tuple[float, float], int]] = []
            while len(rows) < min(CHUNK, count - written):
                drawn = _company(world, rng, sirets)
                if drawn is None:
                    continue
                row, commune, epsg = drawn
                rows.append((row, jitter(rng, commune.latitude, commune.longitude), epsg))
            _project(rows)
            for offset, (row, _, _) in enumerate(rows):
                position = written + offset
                if position in broken:
                    _break_company(rng, row, broken[position])
                elif rng.random() < 0.005:
                    # Not geocoded: the indexer falls back to the commune centre.
                    row["coordonneeLambertAbscisseEtablissement"] = row["coordonneeLambertOrdonneeEtablissement"] = None
            write_lines(handle, [row for row, _, _ in rows], first=written == 0)
            written += len(rows)
            tick(len(rows))
        handle.write(b"\n]\n")
    return count_by_reason(broken)
