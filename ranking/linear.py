"""The ranking formula reduced to per-kind constants, so an engine can compute the same totals itself."""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field

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
