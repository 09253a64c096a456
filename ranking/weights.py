"""Every ranking weight and threshold, with why it has its value, and loading overrides from TOML."""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Upper end of the predicted hiring score scale the company indexer writes (0-100).
ROME_SCORE_MAX = 100.0

# Facet edges: the widget only accepts radii of 10, 30, 60 and 100 km, so these bands line up with
# what partners already show; the last band is open because radii up to 200 km are accepted.
DISTANCE_BANDS_KM = (10.0, 30.0, 60.0)

# Last-resort tie-break between kinds at equal score and distance: an offer is a declared vacancy, a
# company a guess about one, and a formation is the half of the apprenticeship found more easily.
KIND_ORDER = ("offer", "company", "formation")


class WeightsError(ValueError):
    """A weights override is malformed: unknown key, wrong type or value out of range."""


@dataclass(frozen=True)
class Weights:
    """Score component weights and the thresholds shaping them; defaults are reasoned starting values."""

    # --- Component weights. They sum to 1 so a total reads as a share of a perfect match. Components
    # that do not apply to a candidate (no location, no text, not an offer...) are left out and the
    # others renormalised, so no kind is punished for a field it cannot have.

    # Distance is what a young person without a car cares about first (the public service orders by it
    # alone, la-bonne-alternance.md §2.1), so it keeps the largest share, but no longer the only one:
    # a near offer two months old with 70 applications must not beat a fresh one inside the radius.
    distance: float = 0.30
    # Typed words say precisely what the user wants; second only to distance because BM25 is noisy
    # on one-word queries and the ROME codes already guarantee the job matches.
    text: float = 0.20
    # Predicted hiring for companies: the only signal telling a likely recruiter from a mere
    # employer of the trade; it ranks the hidden market, which has no vacancy to show.
    hiring: float = 0.15
    # Recent offers are more likely still open; smaller than distance because the engine already
    # drops expired offers, so age only separates open ones.
    freshness: float = 0.10
    # Fewer applications = better odds for the applicant and a spread load for recruiters, which the
    # public service deliberately seeks (its tie-break by application count, §2.1); as much as hiring,
    # since an offer near its cap is about as hopeless as a company unlikely to hire.
    saturation: float = 0.15
    # Source/kind preference: a small nudge, large enough to break near-ties between sources, too
    # small to pull a far result above a near one.
    prior: float = 0.10

    # --- Distance decay: value = edge_value ** (distance / radius), 1 at the point.
    # Keeping 0.3 at the radius edge: the user accepted that radius, so an edge result is still a
    # valid answer and a strong text match or a fresh offer there may beat a weak one next door.
    distance_edge_value: float = 0.3
    # Floor on the radius used for scaling: below 1 km a commune centroid is not precise enough to
    # discriminate, and it keeps the decay finite for degenerate radii.
    min_radius_km: float = 1.0

    # --- Freshness of offers: value = 0.5 ** (age_days / half_life).
    # Offers live two months (la-bonne-alternance.md §10.9); with 15 days an offer near expiry
    # scores 1/16 while last week's still scores about 0.7, matching when most applications arrive.
    # An offer past its expiry date scores 0 (it only shows when expired offers were asked for).
    freshness_half_life_days: float = 15.0
    # An offer without a usable date scores as one half-life old: neither buried nor promoted.
    freshness_unknown: float = 0.5

    # --- Text relevance: value = s / (s + text_half_score), a saturating map of an unbounded BM25.
    # A one-word match on a title scores around 2-10 in FTS5 and Lucene; 5 puts a typical good
    # match at 0.5 and keeps headroom, with no per-query max that would make scores page-dependent.
    text_half_score: float = 5.0

    # --- Saturation by applications: value = max(0, 1 - count / cap).
    # The public service cancels an offer at 80 applications, so 80 is where its chances reach 0.
    offer_application_cap: float = 80.0
    # A company applied to spontaneously declared no vacancy and usually takes one or two
    # apprentices; half the offer cap makes it fade sooner so the hidden market is spread wider.
    company_application_cap: float = 40.0

    # --- Prior per source, in [0, 1].
    # Deposited offers: the recruiter is on this service and is reached directly.
    prior_deposited: float = 1.0
    # France Travail offers: a real vacancy, but the application goes through another service.
    prior_france_travail: float = 0.9
    # Formations: needed for the contract, but most users come for a job first.
    prior_catalogue: float = 0.8
    # Partner offers of any other source: less checked than France Travail ones (the public
    # service rates partners 0.5-0.7 against 0.66 for France Travail).
    prior_other: float = 0.75
    # Companies (spontaneous applications): no declared vacancy, so below every offer.
    prior_recruteurs_lba: float = 0.6

    # --- Blending: minimum share of page 1 reserved to each asked kind that has candidates.
    # 0.2 guarantees 2 of 10 results per kind: all three kinds stay visible and the score still
    # picks at least 4 of 10 freely.
    first_page_min_share: float = 0.2

    def __post_init__(self) -> None:
        _validate(self)


# In the order score() and the explain view list them.
COMPONENT_FIELDS = ("distance", "text", "freshness", "hiring", "saturation", "prior")
_UNIT_FIELDS = (
    "freshness_unknown", "prior_deposited", "prior_france_travail", "prior_catalogue",
    "prior_other", "prior_recruteurs_lba", "first_page_min_share",
)
_POSITIVE_FIELDS = (
    "min_radius_km", "freshness_half_life_days", "text_half_score",
    "offer_application_cap", "company_application_cap",
)


def _validate(weights: Weights) -> None:
    """Raise WeightsError on any value that would make scores meaningless."""
    values = dataclasses.asdict(weights)
    for name, value in values.items():
        if not math.isfinite(value):
            raise WeightsError(f"{name} must be a finite number, not {value!r}")
    _require(values, COMPONENT_FIELDS, lambda v: v >= 0, "must be >= 0")
    if sum(values[name] for name in COMPONENT_FIELDS) <= 0:
        raise WeightsError(f"at least one of {COMPONENT_FIELDS} must be > 0")
    _require(values, _UNIT_FIELDS, lambda v: 0 <= v <= 1, "must be between 0 and 1")
    _require(values, _POSITIVE_FIELDS, lambda v: v > 0, "must be > 0")
    _require(values, ("distance_edge_value",), lambda v: 0 < v < 1, "must be strictly between 0 and 1")


def _require(
    values: Mapping[str, float], names: tuple[str, ...], ok: Callable[[float], bool], rule: str
) -> None:
    """Raise WeightsError naming the first of `names` whose value fails `ok`."""
    for name in names:
        if not ok(values[name]):
            raise WeightsError(f"{name} {rule}, not {values[name]!r}")


DEFAULT_WEIGHTS = Weights()


def weights_from_mapping(overrides: Mapping[str, Any], origin: str = "overrides") -> Weights:
    """Defaults with `overrides` applied; bad keys or values raise a WeightsError naming `origin`."""
    known = [f.name for f in dataclasses.fields(Weights)]
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise WeightsError(f"unknown key(s) in {origin}: {_describe_unknown(unknown, known)}")
    numbers: dict[str, float] = {}
    for name, value in overrides.items():
        # bool is an int in Python; `distance = true` is a typo, not a weight.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise WeightsError(f"{name} in {origin} must be a number, not {value!r}")
        numbers[name] = float(value)
    try:
        return dataclasses.replace(DEFAULT_WEIGHTS, **numbers)
    except WeightsError as error:
        raise WeightsError(f"{origin}: {error}") from None


def _describe_unknown(unknown: list[str], known: list[str]) -> str:
    """List unknown keys, each with a close known key when there is one, so typos stand out."""
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        parts.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    return ", ".join(parts) + f"; known keys: {', '.join(known)}"


def load_weights(path: str | os.PathLike[str]) -> Weights:
    """Weights from a flat TOML file of `name = number` overrides; missing keys keep their default."""
    with open(path, "rb") as handle:
        try:
            data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise WeightsError(f"{os.fspath(path)} is not valid TOML: {error}") from None
    return weights_from_mapping(data, origin=os.fspath(path))


def weights_from_toml(text: str, origin: str = "TOML text") -> Weights:
    """Weights from TOML text, checked exactly as load_weights checks a file (its errors name the line)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise WeightsError(f"{origin} is not valid TOML: {error}") from None
    return weights_from_mapping(data, origin=origin)
