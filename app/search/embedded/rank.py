"""The ranking formula over every candidate of one kind, in numpy, rendered from the terms of `ranking.linear`."""
from __future__ import annotations

from typing import Any

import numpy as np

from app.search.columns import Postings
from app.search.embedded.scan import Candidates
from app.search.geo import EARTH_RADIUS_KM
from ranking.linear import LinearSpec, render_numpy

_R2 = 2 * EARTH_RADIUS_KM  # km_from_chord2 multiplies 2 * R first: the same constant, the same rounding

#: How each input of a term is read from the candidate columns `c` (0 stands for a missing day).
NUMPY_INPUTS = {
    # Written like geo.km_from_chord2, so distances are bit-identical to Python's.
    "distance_km": "R2 * np.arcsin(np.minimum(1.0, np.sqrt(c.c2) / 2))",
    "text_score": "ts if ts is not None else np.zeros(n)",
    "published_day": "c.pday",
    "expires_day": "c.expday",
    "rome_score": "c.score",
    "applications": "c.apps",
    "source": "c.source",
}
SOURCE = render_numpy(NUMPY_INPUTS, point_guard="c.c2 is not None")


def _clamp(values: np.ndarray) -> np.ndarray:
    return np.minimum(1.0, np.maximum(0.0, values))


def _compile(source: str) -> Any:
    namespace: dict[str, Any] = {"np": np, "clamp": _clamp, "R2": _R2}
    exec(compile(source, "<ranking.linear rendered in numpy>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace["linear_totals"]


_linear_totals = _compile(SOURCE)


def scores(cands: Candidates, spec: LinearSpec, decoder: Postings, ts: np.ndarray | None) -> np.ndarray:
    """The total of `ranking.score.score` for every candidate, written with numpy operation for operation.

    Same constants, same order of operations, components summed in COMPONENT_FIELDS order and those
    that do not apply left out (they add 0 in Python), so totals match `score()`.
    """
    return _linear_totals(cands, spec, ts, decoder.sources, len(cands))
