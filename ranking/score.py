"""Score one candidate for a query: one function per signal, combined by a renormalised weighted sum."""
from __future__ import annotations

import datetime
import math
from typing import NamedTuple
from zoneinfo import ZoneInfo

from ranking.model import Candidate, Component, RankingContext, RawInput, ScoredCandidate
from ranking.weights import DEFAULT_WEIGHTS, ROME_SCORE_MAX, Weights

#: Where the public service's days begin and end (la-bonne-alternance.md): an offer "expires on" a
#: Paris calendar day, whatever the server's zone. app.clock counts "today" in this same zone.
DAY_ZONE = ZoneInfo("Europe/Paris")

# Kinds whose application count is meaningful: people apply to offers and companies, not to formations.
SATURATING_KINDS = ("offer", "company")


def clamp_unit(value: float) -> float:
    """`value` forced into [0, 1]; NaN counts as 0 so a bad input can never rank first."""
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))


def distance_score(
    distance_km: float | None, radius_km: float, weights: Weights = DEFAULT_WEIGHTS
) -> float:
    """1 at the point, `distance_edge_value` at the radius, decaying smoothly beyond; 0 when unknown."""
    if distance_km is None or not math.isfinite(distance_km):
        return 0.0
    scale = max(radius_km, weights.min_radius_km)
    # Exponential decay relative to the radius: 15 km is near in a 100 km search and far in a 10 km one.
    return clamp_unit(weights.distance_edge_value ** (max(distance_km, 0.0) / scale))


def parse_day(value: str | None) -> datetime.date | None:
    """The Paris calendar day of an ISO date or datetime string; None when missing or unreadable.

    A bare date is that day. A datetime is an instant: with an offset or 'Z' as written, without
    one in UTC (the indexers' convention), and its day is the one it falls on in Europe/Paris, so
    "2026-03-29T22:30:00Z" is 30 March (00:30 in Paris, summer time).
    """
    if not value:
        return None
    text = value.strip()
    try:
        if len(text) <= 10:
            return datetime.date.fromisoformat(text)
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            return datetime.date.fromisoformat(text[:10])
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(DAY_ZONE).date()


def freshness_score(
    published_at: str | None,
    expires_at: str | None,
    today: datetime.date,
    weights: Weights = DEFAULT_WEIGHTS,
) -> float:
    """Half-life decay of an offer's age in days; 0 once expired, `freshness_unknown` without a date."""
    expires = parse_day(expires_at)
    if expires is not None and expires < today:
        return 0.0
    published = parse_day(published_at)
    if published is None:
        return weights.freshness_unknown
    # A future date (scheduled publication, clock skew) counts as today rather than scoring above 1.
    age_days = max((today - published).days, 0)
    return clamp_unit(0.5 ** (age_days / weights.freshness_half_life_days))


def hiring_score(rome_score: float) -> float:
    """A company's predicted hiring score for the asked jobs, from its 0-100 scale to [0, 1]."""
    return clamp_unit(rome_score / ROME_SCORE_MAX)


def text_score(raw_score: float, weights: Weights = DEFAULT_WEIGHTS) -> float:
    """Saturating map of an unbounded BM25-like score: 0 for no match, 0.5 at `text_half_score`."""
    if math.isnan(raw_score) or raw_score <= 0:
        return 0.0
    if math.isinf(raw_score):
        return 1.0
    return clamp_unit(raw_score / (raw_score + weights.text_half_score))


def saturation_score(application_count: int, cap: float) -> float:
    """1 with no application, falling linearly to 0 at `cap` applications, where chances are gone."""
    return clamp_unit(1.0 - max(application_count, 0) / cap)


def application_cap(kind: str, weights: Weights = DEFAULT_WEIGHTS) -> float:
    """Applications at which a result of `kind` is considered saturated."""
    return weights.company_application_cap if kind == "company" else weights.offer_application_cap


def source_priors(weights: Weights = DEFAULT_WEIGHTS) -> dict[str, float]:
    """The prior of every named source; any other partner source gets `weights.prior_other`."""
    return {
        "deposited": weights.prior_deposited,
        "france_travail": weights.prior_france_travail,
        "catalogue": weights.prior_catalogue,
        "recruteurs_lba": weights.prior_recruteurs_lba,
    }


def prior_score(source: str, weights: Weights = DEFAULT_WEIGHTS) -> float:
    """The preference for results of `source`; partner sources not listed get `prior_other`."""
    return source_priors(weights).get(source, weights.prior_other)


class _Part(NamedTuple):
    """A component before renormalisation: whether it applies decides if its weight counts."""

    name: str
    raw: RawInput
    value: float
    base_weight: float
    applies: bool


def _parts(c: Candidate, ctx: RankingContext, w: Weights) -> tuple[_Part, ...]:
    """Every component of candidate `c`, in explain order."""
    located = c.distance_km is not None and math.isfinite(c.distance_km)
    distance = distance_score(c.distance_km, ctx.radius_km, w)
    freshness = freshness_score(c.published_at, c.expires_at, ctx.today, w)
    saturation = saturation_score(c.application_count, application_cap(c.kind, w))
    return (
        _Part("distance", c.distance_km, distance, w.distance, located),
        _Part("text", c.text_score, text_score(c.text_score, w), w.text, ctx.has_text),
        _Part("freshness", c.published_at, freshness, w.freshness, c.kind == "offer"),
        _Part("hiring", c.rome_score, hiring_score(c.rome_score), w.hiring, c.kind == "company"),
        _Part("saturation", c.application_count, saturation, w.saturation, c.kind in SATURATING_KINDS),
        _Part("prior", c.source, prior_score(c.source, w), w.prior, True),
    )


def score(
    candidate: Candidate, ctx: RankingContext, weights: Weights = DEFAULT_WEIGHTS
) -> ScoredCandidate:
    """The candidate's total in [0, 1] with every component; pure and deterministic.

    A weighted sum rather than a product: each contribution is additive, so the explain view says
    exactly how many points distance or freshness gave, and one weak signal (a missing date, a
    crowded offer) lowers a result without zeroing it as a product would. Components carrying no
    information for this candidate (distance without a location, text without words, freshness
    except for offers, hiring except for companies, saturation for formations) get weight 0 and the
    others are rescaled to sum to 1, so totals stay comparable across kinds; the per-source prior
    is what tunes one kind against another.
    """
    parts = _parts(candidate, ctx, weights)
    active = sum(part.base_weight for part in parts if part.applies)
    components = []
    for part in parts:
        # A component that does not apply shows value 0, so the explain view never displays a
        # made-up number (e.g. a freshness for a company) that took no part in the total.
        value = part.value if part.applies else 0.0
        weight = part.base_weight / active if part.applies and active > 0 else 0.0
        components.append(Component(part.name, part.raw, value, weight, weight * value))
    # Summed in a fixed order so equal inputs give bit-identical totals, whatever the input order.
    total = sum(component.contribution for component in components)
    return ScoredCandidate(candidate, total, tuple(components))
