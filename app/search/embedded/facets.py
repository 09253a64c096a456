"""Facet counts of one kind's candidates: diploma level, contract type, distance band."""
from __future__ import annotations

import numpy as np

from app.search.embedded.scan import Candidates
from app.search.geo import max_chord2
from ranking.weights import DISTANCE_BANDS_KM

DIPLOMA_LEVELS = (1, 2, 3, 4, 5, 6, 7, 8)
BAND_NAMES = ("0-10", "10-30", "30-60", "60+")
BAND_EDGES = np.array([max_chord2(edge) for edge in DISTANCE_BANDS_KM])


def facets(cands: Candidates) -> dict[str, dict[str, int]]:
    """Counts by diploma level, contract type and distance band over every candidate of one kind."""
    total = len(cands)
    levels = np.bincount(np.clip(cands.diploma, 0, len(DIPLOMA_LEVELS) + 1).astype(np.intp),
                         minlength=len(DIPLOMA_LEVELS) + 2)
    diploma = {"unknown": int(levels[0]), **{str(level): int(levels[level]) for level in DIPLOMA_LEVELS}}
    contract = {"apprentissage": int(np.count_nonzero(cands.contracts & 1)),
                "professionnalisation": int(np.count_nonzero(cands.contracts & 2))}
    if cands.c2 is None:
        distance = {"unknown": total}
    else:
        edges = BAND_EDGES
        # side="left": a candidate exactly on an edge belongs to the band below, as `<=` says.
        bands = np.bincount(np.searchsorted(edges, cands.c2, side="left"), minlength=len(edges) + 1)
        distance = dict(zip(BAND_NAMES, (int(b) for b in bands)))
    out = {"diploma": diploma, "contract": contract, "distance": distance}
    return {name: {k: v for k, v in counts.items() if v} for name, counts in out.items()}
