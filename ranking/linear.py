"""The ranking formula reduced to per-kind constants and one table of terms every engine renders in its language.

`ranking.score` is the reference. `TERMS` writes each of its weighted components once more, as
the value expression an engine evaluates over many candidates, in numpy (the embedded engine)
and in Painless (Elasticsearch/OpenSearch), side by side in one row; `render_numpy` and
`render_painless` build each engine's whole formula from that table. A component added to the
formula is one new row, and both engines get it; the engine tests prove both renderings equal
`score()` on the same candidates.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ranking.model import RankingContext
from ranking.score import SATURATING_KINDS, application_cap, source_priors
from ranking.weights import COMPONENT_FIELDS, DEFAULT_WEIGHTS, ROME_SCORE_MAX, Weights


@dataclass(frozen=True)
class LinearSpec:
    """Everything `score()` uses for candidates of one kind in one query, as plain numbers.

    An engine that computes `sum(weight[c] * value[c])` with these constants, value functions
    written exactly as in `ranking.score`, gets the totals `score()` gets; the engine tests prove
    it on the same data. Weights are already renormalised over the components that apply.
    """

    kind: str
    located: bool
    has_text: bool
    weights: dict[str, float]
    today: datetime.date
    distance_edge_value: float
    distance_scale_km: float
    freshness_half_life_days: float
    freshness_unknown: float
    text_half_score: float
    application_cap: float
    rome_score_max: float
    priors: dict[str, float] = field(default_factory=dict)
    prior_other: float = 0.0


def applicable(kind: str, located: bool, has_text: bool) -> dict[str, bool]:
    """Which components count for a candidate of `kind` (the same rule as `score._parts`)."""
    return {
        "distance": located,
        "text": has_text,
        "freshness": kind == "offer",
        "hiring": kind == "company",
        "saturation": kind in SATURATING_KINDS,
        "prior": True,
    }


def effective_weights(kind: str, located: bool, has_text: bool, weights: Weights = DEFAULT_WEIGHTS) -> dict[str, float]:
    """Component weights renormalised over the applicable components, computed as `score()` does."""
    applies = applicable(kind, located, has_text)
    base = {name: getattr(weights, name) for name in COMPONENT_FIELDS}
    active = sum(base[name] for name in COMPONENT_FIELDS if applies[name])
    return {name: base[name] / active if applies[name] and active > 0 else 0.0 for name in COMPONENT_FIELDS}


def linear_spec(kind: str, located: bool, ctx: RankingContext, weights: Weights = DEFAULT_WEIGHTS) -> LinearSpec:
    """The constants of the formula for candidates of `kind` under query context `ctx`."""
    return LinearSpec(
        kind=kind,
        located=located,
        has_text=ctx.has_text,
        weights=effective_weights(kind, located, ctx.has_text, weights),
        today=ctx.today,
        distance_edge_value=weights.distance_edge_value,
        distance_scale_km=max(ctx.radius_km, weights.min_radius_km),
        freshness_half_life_days=weights.freshness_half_life_days,
        freshness_unknown=weights.freshness_unknown,
        text_half_score=weights.text_half_score,
        application_cap=application_cap(kind, weights),
        rome_score_max=ROME_SCORE_MAX,
        priors=source_priors(weights),
        prior_other=weights.prior_other,
    )


@dataclass(frozen=True)
class Term:
    """One weighted component as an engine computes it: `weight[name] * value`, skipped when the weight is 0.

    `inputs` are the candidate values the expressions read, under these names; each engine says
    how it reads each input (`render_numpy` / `render_painless` refuse an input they are not given).
    Numpy expressions also see `s` (the LinearSpec), `today` (its day number), `sources` (source
    names by number), `np` and `clamp`; Painless ones see `params` (from `params(spec)`).
    """

    name: str
    inputs: tuple[str, ...]
    numpy: str
    painless: str
    params: Callable[[LinearSpec], dict[str, Any]]
    painless_setup: str = ""  # statements before the value (Painless has no conditional blocks in expressions)
    needs_point: bool = False  # only for a query with a point


_CLAMP_PL = "Math.min(1.0, Math.max(0.0, {}))"

#: The formula of `ranking.score.score`, in COMPONENT_FIELDS order (the order totals are summed in).
TERMS: tuple[Term, ...] = (
    Term("distance", ("distance_km",),
         numpy="clamp(np.power(s.distance_edge_value, np.maximum(distance_km, 0.0) / s.distance_scale_km))",
         painless=_CLAMP_PL.format("Math.pow(params.edge, Math.max(distance_km, 0.0) / params.dscale)"),
         params=lambda s: {"edge": float(s.distance_edge_value), "dscale": float(s.distance_scale_km)},
         needs_point=True),
    Term("text", ("text_score",),
         numpy="np.where(text_score > 0, clamp(text_score / (text_score + s.text_half_score)), 0.0)",
         painless=f"(text_score > 0 ? {_CLAMP_PL.format('text_score / (text_score + params.text_half)')} : 0.0)",
         params=lambda s: {"text_half": float(s.text_half_score)}),
    Term("freshness", ("published_day", "expires_day"),
         numpy="np.where((expires_day != 0) & (expires_day < today), 0.0,"
               " np.where(published_day == 0, s.freshness_unknown,"
               " clamp(np.power(0.5, np.maximum(today - published_day.astype(np.int64), 0)"
               " / s.freshness_half_life_days))))",
         painless_setup="double f;\n"
                        "if (expires_day != 0 && expires_day < params.today) {\n  f = 0.0;\n"
                        "} else if (published_day == 0) {\n  f = params.f_unknown;\n} else {\n"
                        "  double age = Math.max((double) (params.today - published_day), 0.0);\n"
                        f"  f = {_CLAMP_PL.format('Math.pow(0.5, age / params.half_life)')};\n}}",
         painless="f",
         params=lambda s: {"today": s.today.toordinal(), "half_life": float(s.freshness_half_life_days),
                           "f_unknown": float(s.freshness_unknown)}),
    Term("hiring", ("rome_score",),
         numpy="clamp(rome_score / s.rome_score_max)",
         painless=_CLAMP_PL.format("rome_score / params.score_max"),
         params=lambda s: {"score_max": float(s.rome_score_max)}),
    Term("saturation", ("applications",),
         numpy="clamp(1.0 - np.maximum(applications, 0) / s.application_cap)",
         painless=_CLAMP_PL.format("1.0 - Math.max((double) applications, 0.0) / params.cap"),
         params=lambda s: {"cap": float(s.application_cap)}),
    Term("prior", ("source",),
         numpy="np.array([s.priors.get(name, s.prior_other) for name in sources] or [0.0])[source]",
         painless_setup="def prior = params.priors.get(source);",
         painless="(prior == null ? params.prior_other : ((Number) prior).doubleValue())",
         params=lambda s: {"priors": {name: float(value) for name, value in sorted(s.priors.items())},
                           "prior_other": float(s.prior_other)}),
)


def _inputs_of(term: Term, inputs: Mapping[str, str], language: str) -> list[str]:
    missing = [name for name in term.inputs if name not in inputs]
    if missing:
        raise KeyError(f"the {language} rendering has no input {missing} of term {term.name!r}")
    return [inputs[name] for name in term.inputs]


def render_numpy(inputs: Mapping[str, str], point_guard: str, terms: Sequence[Term] = TERMS) -> str:
    """Python source of `linear_totals(c, s, ts, sources, n)`: the total of every candidate, as numpy arrays.

    `inputs` maps each input name to the numpy expression reading it (over `c`, `ts`, `n`);
    `point_guard` is the condition under which a term `needs_point` can be computed.
    Components are added in table order, those with weight 0 left out (they add 0 in Python).
    """
    lines = ["def linear_totals(c, s, ts, sources, n):",
             "    w = s.weights",
             "    today = s.today.toordinal()",
             "    total = np.zeros(n)",
             '    with np.errstate(invalid="ignore", divide="ignore"):']
    for term in terms:
        guard = f"w[{term.name!r}]" + (f" and s.located and {point_guard}" if term.needs_point else "")
        lines.append(f"        if {guard}:")
        lines.extend(f"            {name} = {source}" for name, source in zip(term.inputs,
                                                                               _inputs_of(term, inputs, "numpy")))
        lines.append(f"            total = total + w[{term.name!r}] * ({term.numpy})")
    lines.append("    return total")
    return "\n".join(lines) + "\n"


def render_painless(inputs: Mapping[str, str], terms: Sequence[Term] = TERMS) -> str:
    """Painless source returning one document's total; weights come in `params.w_<name>`.

    `inputs` maps each input name to the Painless statements declaring it from the document.
    One constant source for every query, so the node compiles it once.
    """
    lines = ["double t = 0.0;"]
    for term in terms:
        guard = f"params.w_{term.name} != 0.0" + (" && params.located" if term.needs_point else "")
        lines.append(f"if ({guard}) {{")
        for source in _inputs_of(term, inputs, "Painless"):
            lines.extend(f"  {line}" for line in source.splitlines())
        if term.painless_setup:
            lines.extend(f"  {line}" for line in term.painless_setup.splitlines())
        lines.append(f"  t += params.w_{term.name} * ({term.painless});")
        lines.append("}")
    lines.append("return t;")
    return "\n".join(lines) + "\n"


def painless_params(spec: LinearSpec, terms: Sequence[Term] = TERMS) -> dict[str, Any]:
    """The parameters every term's Painless reads: its weight `w_<name>` and its constants."""
    params: dict[str, Any] = {f"w_{term.name}": float(spec.weights[term.name]) for term in terms}
    for term in terms:
        params.update(term.params(spec))
    return params
