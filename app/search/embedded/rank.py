"""The ranking formula of `ranking.score` over every candidate of one kind, in numpy."""
from __future__ import annotations

import numpy as np

from app.search.columns import Postings
from app.search.embedded.scan import Candidates
from app.search.geo import EARTH_RADIUS_KM
from ranking.linear import LinearSpec

_R2 = 2 * EARTH_RADIUS_KM  # km_from_chord2 multiplies 2 * R first: the same constant, the same rounding


def _clamp(values: np.ndarray) -> np.ndarray:
    return np.minimum(1.0, np.maximum(0.0, values))


def scores(cands: Candidates, spec: LinearSpec, decoder: Postings, ts: np.ndarray | None) -> np.ndarray:
    """The total of `ranking.score.score` for every candidate, written with numpy operation for operation.

    Same constants, same order of operations, components summed in COMPONENT_FIELDS order and those
    that do not apply left out (they add 0 in Python), so totals match `score()`.
    """
    w = spec.weights
    total = np.zeros(len(cands))
    if w["distance"] and spec.located and cands.c2 is not None:
        km = _R2 * np.arcsin(np.minimum(1.0, np.sqrt(cands.c2) / 2))
        total = total + w["distance"] * _clamp(np.power(spec.distance_edge_value,
                                                         np.maximum(km, 0.0) / spec.distance_scale_km))
    if w["text"]:
        raw = ts if ts is not None else np.zeros(len(cands))
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(raw > 0, _clamp(raw / (raw + spec.text_half_score)), 0.0)
        total = total + w["text"] * value
    if w["freshness"]:
        today = spec.today.toordinal()
        age = np.maximum(today - cands.pday.astype(np.int64), 0)
        value = np.where(cands.pday == 0, spec.freshness_unknown,
                         _clamp(np.power(0.5, age / spec.freshness_half_life_days)))
        value = np.where((cands.expday != 0) & (cands.expday < today), 0.0, value)
        total = total + w["freshness"] * value
    if w["hiring"]:
        total = total + w["hiring"] * _clamp(cands.score / spec.rome_score_max)
    if w["saturation"]:
        total = total + w["saturation"] * _clamp(1.0 - np.maximum(cands.apps, 0) / spec.application_cap)
    if w["prior"]:
        priors = np.array([spec.priors.get(name, spec.prior_other) for name in decoder.sources] or [0.0])
        total = total + w["prior"] * priors[cands.source]
    return total
