"""The weighted tables every generator draws from (communes, NAF and ROME codes, sizes), built once."""
from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.referentials import Referentials
from app.referentials.csvfile import read_rows

JITTER_KM = 2.0

# Headcount bands as the algorithm writes them, with the share of apprentice-hiring companies
# in each (mostly very small companies, as in the DARES apprenticeship statistics).
SIZES: list[tuple[str, float, float]] = [
    ("1-2", 1.5, 0.20), ("3-5", 4, 0.18), ("6-9", 7.5, 0.15), ("10-19", 14.5, 0.15), ("20-49", 34.5, 0.13),
    ("50-99", 74.5, 0.07), ("100-199", 149.5, 0.05), ("200-249", 224.5, 0.015), ("250-499", 374.5, 0.02),
    ("500-999", 749.5, 0.01), ("1000-1999", 1499.5, 0.005), ("2000-4999", 3499.5, 0.003),
    ("5000-9999", 7499.5, 0.001), ("10000+", 12000, 0.0005),
]
# France Travail education labels (france_travail_niveaux_formation.csv codes) and how often offers ask them.
FT_LEVEL_WEIGHTS = {"AFS": 1, "CFG": 1, "C3A": 1, "C12": 1, "NV5": 27, "NV4": 30, "NV3": 24, "NV2": 10, "NV1": 5}


def jitter(rng: random.Random, lat: float, lon: float, km: float = JITTER_KM) -> tuple[float, float]:
    """A point uniformly spread within `km` of (lat, lon)."""
    distance = km * math.sqrt(rng.random())
    angle = rng.random() * 2 * math.pi
    dlat = distance * math.cos(angle) / 111.2
    dlon = distance * math.sin(angle) / (111.2 * max(0.1, math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


class Weighted:
    """Items drawn with given weights (cumulative weights + bisect: O(log n) per draw)."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        pairs = [(item, weight) for item, weight in zip(items, weights) if weight > 0]
        self.items = [item for item, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random) -> Any:
        """One item."""
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.total)]


@dataclass
class World:
    """Everything the generators draw from, computed once from the referentials."""

    refs: Referentials
    places: Weighted  # communes by population
    nafs: Weighted  # NAF codes by total hirings
    romes: Weighted  # parent ROME codes by total hirings
    romes_by_letter: dict[str, Weighted]
    nafs_of_rome: dict[str, Weighted]
    shares: dict[str, list[tuple[str, float]]]  # NAF → ROME shares, largest first
    children: dict[str, list[str]]  # parent → child codes (itself excluded)
    appellations: dict[str, list[Any]]
    ft_labels: Weighted
    sizes: Weighted


def build_world(refs: Referentials) -> World:
    """The weighted tables of the generators."""
    # Paris, Lyon and Marseille appear as their arrondissements, the codes SIRENE and France Travail use.
    split = {c.parent for c in refs.communes if c.kind == "arrondissement-municipal"}
    communes = sorted((c for c in refs.communes if c.zone in ("metro", "drom") and c.insee not in split
                       and c.population > 0 and c.postcodes), key=lambda c: c.insee)
    naf_totals = {naf: sum(romes.values()) for naf, romes in refs.naf.romes_of_naf.items()}
    nafs = sorted(naf_totals)
    rome_totals = {rome: sum(nafs_.values()) for rome, nafs_ in refs.naf.nafs_of_rome.items()}
    parents = sorted(rome_totals)
    by_letter: dict[str, list[str]] = {}
    for rome in parents:
        by_letter.setdefault(rome[0], []).append(rome)
    appellations: dict[str, list[Any]] = {}
    for appellation in sorted(refs.rome.appellations.values(), key=lambda a: int(a.code_ogr)):
        appellations.setdefault(appellation.rome, []).append(appellation)
    ft_codes = {row["code"]: row["libelle"] for _, row in read_rows(
        refs.data_dir / "diplomes" / "france_travail_niveaux_formation.csv", ["code", "libelle"])}
    return World(
        refs=refs,
        places=Weighted(communes, [c.population for c in communes]),
        nafs=Weighted(nafs, [naf_totals[n] for n in nafs]),
        romes=Weighted(parents, [rome_totals[r] for r in parents]),
        romes_by_letter={letter: Weighted(codes, [rome_totals[r] for r in codes])
                         for letter, codes in by_letter.items()},
        nafs_of_rome={rome: Weighted(sorted(nafs_), [nafs_[n] for n in sorted(nafs_)])
                      for rome, nafs_ in refs.naf.nafs_of_rome.items()},
        shares={naf: sorted(refs.naf.rome_shares(naf).items(), key=lambda kv: (-kv[1], kv[0])) for naf in nafs},
        children={parent: [c for c in refs.rome.children_of(parent) if c != parent] for parent in parents},
        appellations=appellations,
        ft_labels=Weighted([ft_codes[c] for c in FT_LEVEL_WEIGHTS], list(FT_LEVEL_WEIGHTS.values())),
        sizes=Weighted(SIZES, [s[2] for s in SIZES]),
    )
