"""Each score component on its boundary values, and how score() combines them."""
from __future__ import annotations

import datetime
import math
from dataclasses import replace

import pytest

from ranking.model import CandidateData, RankingContext
from ranking.score import (
    distance_score,
    freshness_score,
    hiring_score,
    parse_day,
    prior_score,
    saturation_score,
    score,
    text_score,
)
from ranking.weights import DEFAULT_WEIGHTS, Weights

TODAY = datetime.date(2025, 3, 1)
W = DEFAULT_WEIGHTS


def ctx(**overrides: object) -> RankingContext:
    """A 30 km relevance query on TODAY, with `overrides`."""
    values: dict[str, object] = {"radius_km": 30.0, "today": TODAY}
    values.update(overrides)
    return RankingContext(**values)  # type: ignore[arg-type]


def days_ago(days: int) -> str:
    """ISO date `days` before TODAY."""
    return (TODAY - datetime.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("distance_km", "radius_km", "expected"),
    [
        (0.0, 30.0, 1.0),  # at the point
        (30.0, 30.0, W.distance_edge_value),  # the radius edge keeps some score
        (60.0, 30.0, W.distance_edge_value**2),  # beyond the radius keeps decaying
        (15.0, 30.0, math.sqrt(W.distance_edge_value)),  # smooth, halfway in the exponent
        (10.0, 10.0, W.distance_edge_value),  # scaled to the radius: the edge is the edge
        (-2.0, 30.0, 1.0),  # a rounding-negative distance is the point itself
        (None, 30.0, 0.0),  # no location: no distance signal
        (math.nan, 30.0, 0.0),  # corrupt distance never ranks first
        (0.5, 0.1, W.distance_edge_value**0.5),  # tiny radius floored at min_radius_km
    ],
)
def test_distance_score(distance_km: float | None, radius_km: float, expected: float) -> None:
    assert distance_score(distance_km, radius_km) == pytest.approx(expected)


def test_distance_score_depends_on_distance_relative_to_radius() -> None:
    assert distance_score(10.0, 30.0) == pytest.approx(distance_score(20.0, 60.0))
    assert distance_score(5.0, 10.0) < distance_score(5.0, 100.0)


def test_distance_score_decreases_strictly_with_distance() -> None:
    values = [distance_score(d, 30.0) for d in (0, 1, 5, 10, 29, 30, 31, 100)]
    assert values == sorted(values, reverse=True)
    assert len(set(values)) == len(values)


@pytest.mark.parametrize(
    ("published_at", "expires_at", "expected"),
    [
        (days_ago(0), None, 1.0),  # published today
        (days_ago(int(W.freshness_half_life_days)), None, 0.5),  # one half-life
        (days_ago(2 * int(W.freshness_half_life_days)), None, 0.25),  # two half-lives
        (days_ago(730), None, 0.5 ** (730 / W.freshness_half_life_days)),  # very old: almost 0
        (None, None, W.freshness_unknown),  # missing date: neutral
        ("not-a-date", None, W.freshness_unknown),  # unreadable date: neutral
        ("2025-03-20", None, 1.0),  # future date counts as today, never above 1
        ("2025-02-14T08:30:00Z", None, 0.5),  # datetime with zone: only the day matters
        ("2025-02-14T23:59:59+02:00", None, 0.5),
        (days_ago(0), "2025-02-28", 0.0),  # expired yesterday
        (days_ago(0), "2025-03-01", 1.0),  # expires today: still open
        (None, "2025-01-01", 0.0),  # expired without publication date
    ],
)
def test_freshness_score(published_at: str | None, expires_at: str | None, expected: float) -> None:
    assert freshness_score(published_at, expires_at, TODAY) == pytest.approx(expected)


def test_freshness_of_very_old_offer_is_nearly_zero() -> None:
    assert freshness_score(days_ago(730), None, TODAY) < 1e-6


@pytest.mark.parametrize(
    ("count", "cap", "expected"),
    [
        (0, W.offer_application_cap, 1.0),
        (40, W.offer_application_cap, 0.5),
        (80, W.offer_application_cap, 0.0),  # the public service auto-closes offers here
        (250, W.offer_application_cap, 0.0),  # never negative
        (-3, W.offer_application_cap, 1.0),  # corrupt count never beats an untouched offer
        (20, W.company_application_cap, 0.5),
        (40, W.company_application_cap, 0.0),
    ],
)
def test_saturation_score(count: int, cap: float, expected: float) -> None:
    assert saturation_score(count, cap) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rome_score", "expected"),
    [(0.0, 0.0), (50.0, 0.5), (100.0, 1.0), (140.0, 1.0), (-5.0, 0.0), (math.nan, 0.0)],
)
def test_hiring_score(rome_score: float, expected: float) -> None:
    assert hiring_score(rome_score) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0.0, 0.0),  # no word matched
        (W.text_half_score, 0.5),
        (3 * W.text_half_score, 0.75),
        (1e6, 1.0),  # huge BM25 saturates instead of swamping everything
        (-2.0, 0.0),
        (math.inf, 1.0),
        (math.nan, 0.0),
    ],
)
def test_text_score(raw: float, expected: float) -> None:
    assert text_score(raw) == pytest.approx(expected, abs=1e-5)


def test_text_score_higher_is_better() -> None:
    values = [text_score(raw) for raw in (0.1, 1.0, 4.0, 12.0, 40.0)]
    assert values == sorted(values) and len(set(values)) == len(values)


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        ("deposited", "france_travail"),  # recruiter reachable directly
        ("france_travail", "recruteurs_lba"),  # a declared vacancy beats a spontaneous application
        ("deposited", "recruteurs_lba"),
        ("some_partner", "recruteurs_lba"),  # any offer beats a company
        ("france_travail", "some_partner"),
    ],
)
def test_prior_order(better: str, worse: str) -> None:
    assert prior_score(better) > prior_score(worse)


def test_prior_of_unknown_source_is_prior_other() -> None:
    assert prior_score("jobboard_x") == W.prior_other


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-02-01", datetime.date(2025, 2, 1)),
        ("2025-02-01T10:00:00.123Z", datetime.date(2025, 2, 1)),
        (" 2025-02-01 ", datetime.date(2025, 2, 1)),
        ("", None),
        (None, None),
        ("01/02/2025", None),
        ("2025-13-01", None),
    ],
)
def test_parse_day(value: str | None, expected: datetime.date | None) -> None:
    assert parse_day(value) == expected


# --- combination ---------------------------------------------------------------------------------

OFFER = CandidateData("offer", "o1", "france_travail", 5.0, published_at=days_ago(3), application_count=5)
COMPANY = CandidateData("company", "c1", "recruteurs_lba", 5.0, rome_score=60.0, application_count=2)
FORMATION = CandidateData("formation", "f1", "catalogue", 5.0)


@pytest.mark.parametrize(
    ("candidate", "has_text", "applying"),
    [
        (OFFER, False, {"distance", "freshness", "saturation", "prior"}),
        (OFFER, True, {"distance", "text", "freshness", "saturation", "prior"}),
        (COMPANY, False, {"distance", "hiring", "saturation", "prior"}),
        (COMPANY, True, {"distance", "text", "hiring", "saturation", "prior"}),
        (FORMATION, False, {"distance", "prior"}),
        (FORMATION, True, {"distance", "text", "prior"}),
        (CandidateData("offer", "o2", "deposited", None), False, {"freshness", "saturation", "prior"}),
    ],
)
def test_only_applying_components_weigh_and_weights_sum_to_one(
    candidate: CandidateData, has_text: bool, applying: set[str]
) -> None:
    scored = score(candidate, ctx(has_text=has_text))
    weighted = {c.name for c in scored.components if c.weight > 0}
    assert weighted == applying
    assert sum(c.weight for c in scored.components) == pytest.approx(1.0)
    assert 0.0 <= scored.total <= 1.0


@pytest.mark.parametrize(
    ("better", "worse", "has_text"),
    [
        (OFFER, replace(OFFER, distance_km=20.0), False),  # nearer
        (OFFER, replace(OFFER, published_at=days_ago(40)), False),  # fresher
        (OFFER, replace(OFFER, application_count=60), False),  # less crowded
        (OFFER, replace(OFFER, expires_at="2025-02-01"), False),  # not expired
        (replace(OFFER, source="deposited"), OFFER, False),  # recruiter reachable
        (replace(COMPANY, rome_score=90.0), COMPANY, False),  # likelier hiring
        (replace(OFFER, text_score=8.0), OFFER, True),  # words matched
    ],
)
def test_each_signal_moves_the_total_the_right_way(
    better: CandidateData, worse: CandidateData, has_text: bool
) -> None:
    context = ctx(has_text=has_text)
    assert score(better, context).total > score(worse, context).total


def test_text_score_is_ignored_when_query_has_no_words() -> None:
    matched = CandidateData("offer", "o", "france_travail", 5.0, text_score=50.0)
    plain = CandidateData("offer", "o", "france_travail", 5.0, text_score=0.0)
    assert score(matched, ctx(has_text=False)).total == score(plain, ctx(has_text=False)).total


def test_offer_outranks_company_of_average_hiring_score_at_same_place() -> None:
    offer = CandidateData("offer", "o", "france_travail", 5.0, published_at=days_ago(0))
    company = CandidateData("company", "c", "recruteurs_lba", 5.0, rome_score=50.0)
    assert score(offer, ctx()).total > score(company, ctx()).total


def test_total_is_the_sum_of_contributions_and_deterministic() -> None:
    first = score(COMPANY, ctx(has_text=True))
    again = score(COMPANY, ctx(has_text=True))
    assert first == again
    assert first.total == sum(c.contribution for c in first.components)
    assert all(c.contribution == pytest.approx(c.weight * c.value) for c in first.components)


def test_single_component_weights_make_total_equal_that_component() -> None:
    only_distance = Weights(distance=1.0, text=0, hiring=0, freshness=0, saturation=0, prior=0)
    scored = score(OFFER, ctx(), only_distance)
    assert scored.total == pytest.approx(distance_score(5.0, 30.0))


def test_candidate_with_no_weighted_component_scores_zero_without_error() -> None:
    only_hiring = Weights(distance=0, text=0, hiring=1.0, freshness=0, saturation=0, prior=0)
    scored = score(FORMATION, ctx(), only_hiring)
    assert scored.total == 0.0
    assert all(c.weight == 0.0 for c in scored.components)


def test_components_that_do_not_apply_show_zero_value() -> None:
    scored = score(COMPANY, ctx())
    assert scored.component("freshness").value == 0.0
    assert scored.component("hiring").value == pytest.approx(0.6)


@pytest.mark.parametrize("distance_km", [None, -1.0, 0.0, 30.0, 5000.0, math.nan, math.inf])
@pytest.mark.parametrize("applications", [-1, 0, 79, 80, 10_000])
def test_total_stays_in_unit_interval_for_odd_inputs(distance_km: float | None, applications: int) -> None:
    odd = CandidateData(
        "offer", "x", "unknown", distance_km, rome_score=1e9, published_at="2099-01-01",
        application_count=applications, text_score=math.inf,
    )
    scored = score(odd, ctx(has_text=True))
    assert 0.0 <= scored.total <= 1.0
    assert all(0.0 <= c.value <= 1.0 for c in scored.components)
