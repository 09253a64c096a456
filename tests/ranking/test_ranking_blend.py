"""Sorting, deterministic tie-breaks, blending of kinds on page 1, paging and distance facets."""
from __future__ import annotations

import datetime
import random
from types import SimpleNamespace

import pytest

from ranking.blend import (
    blend,
    blended_order,
    facet_distance_band,
    first_page_quota,
    rank,
    rank_by_totals,
    with_components,
)
from ranking.model import CandidateData, RankingContext, ScoredCandidate
from ranking.score import score
from ranking.weights import KIND_ORDER, Weights

TODAY = datetime.date(2025, 3, 1)
ONLY_DISTANCE = Weights(distance=1.0, text=0, hiring=0, freshness=0, saturation=0, prior=0)


def ctx(**overrides: object) -> RankingContext:
    """A 30 km relevance query on TODAY asking every kind, with `overrides`."""
    values: dict[str, object] = {"radius_km": 30.0, "today": TODAY}
    values.update(overrides)
    return RankingContext(**values)  # type: ignore[arg-type]


def ids(items: list[ScoredCandidate]) -> list[str]:
    """Candidate ids, in order."""
    return [item.candidate.id for item in items]


def offers(count: int, start_km: float = 1.0) -> list[CandidateData]:
    """`count` fresh France Travail offers, one km apart, nearest first."""
    return [
        CandidateData("offer", f"o{i:02d}", "france_travail", start_km + i, published_at="2025-02-28")
        for i in range(count)
    ]


def far(kind: str, source: str, count: int) -> list[CandidateData]:
    """`count` weak candidates of `kind` near the radius edge, which alone would miss page 1."""
    return [CandidateData(kind, f"{kind[0]}{i:02d}", source, 28.0 + i, rome_score=10.0) for i in range(count)]


MIXED = offers(30) + far("company", "recruteurs_lba", 5) + far("formation", "catalogue", 3)


# --- sorting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["relevance", "distance", "date"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_order_does_not_depend_on_input_order(sort: str, seed: int) -> None:
    # Identical candidates but for the id: every score ties, so only the tie-break orders them.
    twins = [CandidateData(kind, f"id{i}", "x", 7.0) for i in range(6) for kind in KIND_ORDER]
    shuffled = twins[:]
    random.Random(seed).shuffle(shuffled)
    assert ids(rank(shuffled, ctx(sort=sort))) == ids(rank(twins, ctx(sort=sort)))


@pytest.mark.parametrize("sort", ["relevance", "distance", "date"])
def test_engine_totals_give_the_order_of_full_scoring_and_components_come_back_for_the_page(sort: str) -> None:
    context = ctx(sort=sort)
    pool = MIXED + [CandidateData("offer", "undated", "partner", 3.0)]
    shuffled = pool[:]
    random.Random(9).shuffle(shuffled)
    light = rank_by_totals(((c, score(c, context).total) for c in shuffled), context)
    full = rank(pool, context)
    assert ids(light) == ids(full)
    assert all(item.components == () for item in light)
    page = blend(light, context, 1, 10)
    filled = with_components(page, context)
    assert ids(filled) == ids(blend(full, context, 1, 10))
    assert [item.total for item in filled] == [item.total for item in blend(full, context, 1, 10)]
    assert all(len(item.components) == 6 for item in filled)
    assert with_components(filled, context) == filled  # already scored: kept as they are


def test_equal_scores_break_ties_by_distance_then_kind_then_id() -> None:
    # With distance as the only weight, a far candidate can tie only with one at the same distance.
    candidates = [
        CandidateData("formation", "b", "catalogue", 5.0),
        CandidateData("company", "a", "recruteurs_lba", 5.0),
        CandidateData("offer", "z", "deposited", 5.0),
        CandidateData("offer", "y", "deposited", 5.0),
        CandidateData("offer", "n", "deposited", None),
    ]
    ranked = rank(candidates, ctx(sort="relevance"), ONLY_DISTANCE)
    assert [(s.candidate.kind, s.candidate.id) for s in ranked[:4]] == [
        ("offer", "y"), ("offer", "z"), ("company", "a"), ("formation", "b"),
    ]
    assert ranked[-1].candidate.id == "n"


def test_relevance_sort_is_total_descending() -> None:
    ranked = rank(MIXED, ctx(sort="relevance"))
    totals = [s.total for s in ranked]
    assert totals == sorted(totals, reverse=True)
    assert len(ranked) == len(MIXED)


def test_distance_sort_is_nearest_first_and_unlocated_last() -> None:
    candidates = [
        CandidateData("offer", "unlocated", "deposited", None),
        CandidateData("company", "far", "recruteurs_lba", 25.0, rome_score=100.0),
        CandidateData("formation", "near", "catalogue", 0.5),
        CandidateData("offer", "mid", "france_travail", 9.0),
    ]
    assert ids(rank(candidates, ctx(sort="distance"))) == ["near", "mid", "far", "unlocated"]


def test_date_sort_is_newest_first_undated_last_then_by_score() -> None:
    candidates = [
        CandidateData("offer", "old", "deposited", 1.0, published_at="2025-01-02"),
        CandidateData("offer", "new", "deposited", 20.0, published_at="2025-02-27T09:00:00Z"),
        CandidateData("offer", "new-near", "deposited", 2.0, published_at="2025-02-27"),
        CandidateData("company", "company", "recruteurs_lba", 0.5, rome_score=100.0),
        CandidateData("formation", "formation", "catalogue", 0.5),
    ]
    order = ids(rank(candidates, ctx(sort="date")))
    # Same day: the better-scored (nearer) offer first; undated kinds after every offer.
    assert order[:3] == ["new-near", "new", "old"]
    assert set(order[3:]) == {"company", "formation"}


def test_rank_accepts_any_object_with_the_candidate_attributes() -> None:
    hit = SimpleNamespace(
        kind="offer", id="ns", source="deposited", distance_km=3.0, rome_score=0.0, diploma_level=4,
        contract_types=("apprentissage",), published_at="2025-02-27", expires_at=None,
        application_count=1, text_score=0.0,
    )
    ranked = rank([hit, CandidateData("offer", "far", "deposited", 25.0, published_at="2025-02-27")], ctx())
    assert ids(ranked) == ["ns", "far"]


def test_rank_of_nothing_is_empty() -> None:
    assert rank([], ctx()) == []


# --- blending --------------------------------------------------------------------------------------


def test_score_alone_would_leave_kinds_off_page_one() -> None:
    # Guards the blending tests below: they would prove nothing if the score already mixed kinds.
    top = rank(MIXED, ctx())[:10]
    assert {s.candidate.kind for s in top} == {"offer"}


@pytest.mark.parametrize("sort", ["relevance", "distance", "date"])
def test_each_asked_kind_gets_its_quota_on_page_one(sort: str) -> None:
    context = ctx(sort=sort)
    page = blend(rank(MIXED, context), context, page=1, page_size=10)
    kinds = [s.candidate.kind for s in page]
    assert len(page) == 10
    assert kinds.count("company") == first_page_quota(10) == 2
    assert kinds.count("formation") == 2
    # The lifted items are each kind's best, not arbitrary ones.
    assert {"c00", "c01", "f00", "f01"} <= set(ids(page))


@pytest.mark.parametrize("sort", ["relevance", "distance", "date"])
def test_page_one_keeps_the_requested_order(sort: str) -> None:
    context = ctx(sort=sort)
    ranked = rank(MIXED, context)
    position = {id(item): i for i, item in enumerate(ranked)}
    page = blend(ranked, context, page=1, page_size=10)
    assert [position[id(item)] for item in page] == sorted(position[id(item)] for item in page)


def test_kind_with_fewer_candidates_than_its_quota_gives_back_the_slots() -> None:
    candidates = offers(30) + far("formation", "catalogue", 1)
    page = blend(rank(candidates, ctx()), ctx(), page=1, page_size=10)
    assert [s.candidate.kind for s in page].count("formation") == 1
    assert len(page) == 10


def test_asked_kind_with_zero_candidates_breaks_nothing() -> None:
    candidates = offers(12) + far("company", "recruteurs_lba", 3)  # formations asked, none found
    ranked = rank(candidates, ctx())
    page = blend(ranked, ctx(), page=1, page_size=10)
    assert len(page) == 10
    assert [s.candidate.kind for s in page].count("company") == 2
    assert blend(ranked, ctx(), page=2, page_size=10) == blended_order(ranked, ctx(), 10)[10:]


def test_page_one_unchanged_when_kinds_are_already_visible() -> None:
    candidates = offers(20) + [
        CandidateData("company", "c-near", "recruteurs_lba", 0.1, rome_score=100.0),
        CandidateData("company", "c-near2", "recruteurs_lba", 0.2, rome_score=100.0),
        CandidateData("formation", "f-near", "catalogue", 0.1),
        CandidateData("formation", "f-near2", "catalogue", 0.2),
    ]
    ranked = rank(candidates, ctx())
    assert blend(ranked, ctx(), page=1, page_size=10) == ranked[:10]


def test_kinds_not_asked_get_no_quota() -> None:
    context = ctx(kinds=("offer",))
    ranked = rank(MIXED, context)
    assert blend(ranked, context, page=1, page_size=10) == ranked[:10]


def test_zero_share_disables_blending() -> None:
    no_quota = Weights(first_page_min_share=0.0)
    ranked = rank(MIXED, ctx(), no_quota)
    assert blend(ranked, ctx(), page=1, page_size=10, weights=no_quota) == ranked[:10]


@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_pages_smaller_than_the_kinds_show_the_best_ranked_kinds(page_size: int) -> None:
    ranked = rank(MIXED, ctx())
    kinds_by_best_item = list(dict.fromkeys(s.candidate.kind for s in ranked))
    assert len(kinds_by_best_item) == 3
    page = blend(ranked, ctx(), page=1, page_size=page_size)
    assert [s.candidate.kind for s in page] == kinds_by_best_item[:page_size]
    # Each kind is represented by its own best item.
    best_of_kind = {kind: next(s for s in ranked if s.candidate.kind == kind) for kind in kinds_by_best_item}
    assert page == [best_of_kind[kind] for kind in kinds_by_best_item[:page_size]]


@pytest.mark.parametrize("page_size", [1, 2, 3, 4, 7, 10, 25, 38, 100])
@pytest.mark.parametrize("sort", ["relevance", "distance", "date"])
def test_pages_partition_the_blended_order(page_size: int, sort: str) -> None:
    context = ctx(sort=sort)
    ranked = rank(MIXED, context)
    order = blended_order(ranked, context, page_size)
    pages = []
    page_number = 1
    while page := blend(ranked, context, page_number, page_size):
        assert len(page) <= page_size
        pages.append(page)
        page_number += 1
    flat = [item for page in pages for item in page]
    assert flat == order  # concatenation of the pages is the whole blended order
    assert len({id(item) for item in flat}) == len(ranked)  # nothing twice, nothing lost
    assert page_number == -(-len(ranked) // page_size) + 1  # stopped right after the last page


@pytest.mark.parametrize("page", [5, 6, 1000])
def test_page_beyond_the_end_is_empty(page: int) -> None:
    ranked = rank(MIXED, ctx())  # 38 candidates: 4 pages of 10
    assert blend(ranked, ctx(), page=page, page_size=10) == []


def test_blending_no_candidate_gives_empty_pages() -> None:
    assert blend([], ctx(), page=1, page_size=10) == []


@pytest.mark.parametrize(("page", "page_size"), [(0, 10), (-1, 10), (1, 0), (2, -5)])
def test_invalid_paging_is_rejected(page: int, page_size: int) -> None:
    with pytest.raises(ValueError):
        blend(rank(MIXED, ctx()), ctx(), page=page, page_size=page_size)


@pytest.mark.parametrize(
    ("share", "page_size", "expected"),
    [(0.2, 10, 2), (0.2, 3, 1), (0.3, 10, 3), (0.25, 20, 5), (0.0, 10, 0), (0.2, 1, 1)],
)
def test_first_page_quota(share: float, page_size: int, expected: int) -> None:
    assert first_page_quota(page_size, Weights(first_page_min_share=share)) == expected


# --- facets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distance_km", "band"),
    [
        (0.0, "0-10"),
        (9.99, "0-10"),
        (10.0, "0-10"),  # upper edge inclusive, like the radius
        (10.01, "10-30"),
        (30.0, "10-30"),
        (45.0, "30-60"),
        (60.0, "30-60"),
        (60.5, "60+"),
        (5000.0, "60+"),
        (None, "unknown"),
    ],
)
def test_facet_distance_band(distance_km: float | None, band: str) -> None:
    assert facet_distance_band(distance_km) == band
