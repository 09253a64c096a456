"""The table of terms is the formula's one engine-side copy: every component is a row, and both renderings follow it."""
from __future__ import annotations

import datetime
from dataclasses import replace

import numpy as np
import pytest

from ranking.linear import TERMS, Term, linear_spec, painless_params, render_numpy, render_painless
from ranking.model import RankingContext
from ranking.weights import COMPONENT_FIELDS

NUMPY_INPUTS = {"distance_km": "c.km", "text_score": "c.text", "published_day": "c.pday", "expires_day": "c.expday",
                "rome_score": "c.score", "applications": "c.apps", "source": "c.source"}
PAINLESS_INPUTS = {name: f"double {name} = doc['{name}'].value;" for name in NUMPY_INPUTS}
EXTRA = Term("extra", ("applications",), numpy="clamp(applications / 10.0)",
             painless="Math.min(1.0, Math.max(0.0, applications / 10.0))", params=lambda s: {"extra_cap": 10.0})


def _spec(kind: str = "offer", located: bool = True):
    ctx = RankingContext(radius_km=30, today=datetime.date(2026, 3, 1), has_text=True)
    return linear_spec(kind, located, ctx)


def test_every_component_of_the_formula_is_one_term_in_summing_order():
    assert tuple(term.name for term in TERMS) == COMPONENT_FIELDS


def test_a_term_added_to_the_table_appears_in_both_renderings():
    terms = (*TERMS, EXTRA)
    numpy_source = render_numpy(NUMPY_INPUTS, "c.km is not None", terms)
    painless_source = render_painless(PAINLESS_INPUTS, terms)
    assert "w['extra'] * (clamp(applications / 10.0))" in numpy_source
    assert "t += params.w_extra * (Math.min(1.0, Math.max(0.0, applications / 10.0)));" in painless_source
    spec = _spec()
    spec = replace(spec, weights={**spec.weights, "extra": 0.25})
    params = painless_params(spec, terms)
    assert params["w_extra"] == 0.25 and params["extra_cap"] == 10.0
    assert {f"w_{name}" for name in COMPONENT_FIELDS} <= set(params)


def test_the_numpy_rendering_adds_a_new_term_with_its_weight():
    terms = (*TERMS, EXTRA)
    namespace = {"np": np, "clamp": lambda v: np.minimum(1.0, np.maximum(0.0, v)), "R2": 2 * 6371.0088}
    exec(compile(render_numpy(NUMPY_INPUTS, "c.km is not None", TERMS), "<base>", "exec"), namespace)
    base = namespace["linear_totals"]
    exec(compile(render_numpy(NUMPY_INPUTS, "c.km is not None", terms), "<extra>", "exec"), namespace)
    extended = namespace["linear_totals"]

    class Columns:
        km = np.array([1.0, 12.0, 40.0])
        text = np.array([0.0, 3.0, 9.0])
        pday = np.array([0, 739000, 739300])
        expday = np.array([0, 0, 739200])
        score = np.array([0.0, 50.0, 90.0])
        apps = np.array([0, 4, 25])
        source = np.array([0, 1, 0])

    spec = _spec()
    spec = replace(spec, weights={**spec.weights, "extra": 0.25})
    got = extended(Columns, spec, None, ["france_travail", "deposited"], 3) - base(Columns, spec, None,
                                                                               ["france_travail", "deposited"], 3)
    assert got == pytest.approx(0.25 * np.minimum(1.0, Columns.apps / 10.0))


def test_an_input_an_engine_does_not_give_fails_the_rendering():
    lonely = Term("lonely", ("unknown_input",), numpy="unknown_input", painless="unknown_input",
                  params=lambda s: {})
    with pytest.raises(KeyError, match="unknown_input"):
        render_numpy(NUMPY_INPUTS, "True", (*TERMS, lonely))
    with pytest.raises(KeyError, match="unknown_input"):
        render_painless(PAINLESS_INPUTS, (*TERMS, lonely))
