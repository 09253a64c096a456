"""Ranking scenarios on realistic hand-built results, asserting the top order with readable failures."""
from __future__ import annotations

import datetime
from collections.abc import Sequence

import pytest

from ranking.blend import blend, rank
from ranking.model import CandidateData, RankingContext

TODAY = datetime.date(2025, 3, 1)

# A "boulanger" search around Lyon on 1 March 2025 within 30 km. The public service would list these
# by distance per source (la-bonne-alternance.md §2.1), putting a two-month-old offer with 72
# applications and an unlikely recruiter at the top.
BOULANGER_LYON = [
    CandidateData(
        "offer", "deposited-3km", "deposited", 3.0, published_at="2025-02-27", application_count=2
    ),
    CandidateData("offer", "ft-3km", "france_travail", 3.0, published_at="2025-02-27", application_count=2),
    CandidateData(
        "offer", "ft-old-crowded-1.5km", "france_travail", 1.5,
        published_at="2024-12-28", application_count=72,
    ),
    CandidateData("offer", "ft-fresh-22km", "france_travail", 22.0, published_at="2025-02-28T07:12:00Z"),
    CandidateData("company", "likely-hirer-1km", "recruteurs_lba", 1.0, rome_score=90.0),
    CandidateData(
        "company", "unlikely-hirer-1km", "recruteurs_lba", 1.0, rome_score=15.0, application_count=25
    ),
    CandidateData("formation", "cap-6km", "catalogue", 6.0, diploma_level=3),
    CandidateData("formation", "bp-27km", "catalogue", 27.0, diploma_level=4),
]


def check_scenario(actual: Sequence[str], expected: Sequence[str]) -> None:
    """Assert `actual` starts with `expected`, naming every position that differs."""
    differences = [
        f"  #{position + 1}: expected {want!r}, got {got!r}"
        for position, (want, got) in enumerate(zip(expected, list(actual) + [None] * len(expected)))
        if want != got
    ]
    message = "\n".join(["ranking differs from the scenario:", *differences, f"full order: {list(actual)}"])
    assert not differences, message


def test_boulanger_near_lyon_by_relevance() -> None:
    ranked = rank(BOULANGER_LYON, RankingContext(radius_km=30.0, today=TODAY))
    check_scenario(
        [s.candidate.id for s in ranked],
        [
            "deposited-3km",  # fresh, untouched, recruiter reachable directly
            "ft-3km",  # same offer through France Travail: just below
            "likely-hirer-1km",  # nearest, and very likely to hire: the hidden market earns its place
            "cap-6km",  # the nearby course
            "ft-fresh-22km",  # fresh offer far inside the radius beats the near but exhausted ones
            "unlikely-hirer-1km",
            "ft-old-crowded-1.5km",  # nearest offer, but two months old and 72 applications: almost closed
            "bp-27km",
        ],
    )


def test_boulanger_first_page_of_five_shows_every_kind() -> None:
    context = RankingContext(radius_km=30.0, today=TODAY)
    page = blend(rank(BOULANGER_LYON, context), context, page=1, page_size=5)
    assert {s.candidate.kind for s in page} == {"offer", "company", "formation"}


def test_boulanger_by_distance_keeps_pure_distance_order() -> None:
    ranked = rank(BOULANGER_LYON, RankingContext(radius_km=30.0, today=TODAY, sort="distance"))
    check_scenario(
        [s.candidate.id for s in ranked],
        # The two companies tie at 1 km: the likelier hirer scores higher, so it comes first.
        ["likely-hirer-1km", "unlikely-hirer-1km", "ft-old-crowded-1.5km", "deposited-3km", "ft-3km"],
    )


@pytest.mark.parametrize(
    ("text_far_km", "expected_first"),
    [
        (15.0, "text-match"),  # a strong word match halfway to the edge beats a near non-match
        (30.0, "near-no-text-match"),  # at the edge, distance wins back
    ],
)
def test_typed_words_against_distance(text_far_km: float, expected_first: str) -> None:
    candidates = [
        CandidateData("offer", "near-no-text-match", "france_travail", 2.0, published_at="2025-02-27"),
        CandidateData(
            "offer", "text-match", "france_travail", text_far_km, published_at="2025-02-27", text_score=20.0
        ),
    ]
    ranked = rank(candidates, RankingContext(radius_km=30.0, today=TODAY, has_text=True))
    check_scenario([s.candidate.id for s in ranked], [expected_first])
