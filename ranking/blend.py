"""Sort scored candidates, blend the kinds so each stays visible on page 1, and cut consistent pages.

Blending rule (a quota, not interleaving): on page 1 each asked kind that has candidates is granted
`ceil(first_page_min_share * page_size)` slots, filled with its best-ranked items; the remaining
slots go to the best-ranked items of any kind. When the quotas alone exceed the page, kinds take
turns (best item of each kind, then second best...), kinds ordered by their best item's rank. Page 1
is then shown in the requested sort order, so a quota changes which items make page 1, never the
order among them. Every other item follows in ranked order. Pages are slices of that one blended
order, so for a fixed page size no item appears on two pages and none is lost.

A quota rather than strict interleaving because the public service concatenates sources, which
buries whole kinds (la-bonne-alternance.md §2.1, §10.10); interleaving would fix that but force a
far company between two near offers, whereas a quota only lifts a kind's best items when the score
alone would leave that kind off page 1.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from itertools import zip_longest

from ranking.model import Candidate, RankingContext, ScoredCandidate
from ranking.score import parse_day, score
from ranking.weights import DEFAULT_WEIGHTS, DISTANCE_BANDS_KM, KIND_ORDER, Weights

SortKey = tuple[object, ...]


def _distance_key(candidate: Candidate) -> tuple[int, float]:
    """Nearest first, candidates without a distance last."""
    distance = candidate.distance_km
    if distance is None or math.isnan(distance):
        return (1, 0.0)
    return (0, distance)


def _identity_key(candidate: Candidate) -> tuple[int, str, str, str]:
    """Last-resort tie-break, unique per candidate, so no order ever depends on input order."""
    kind = candidate.kind
    kind_rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return (kind_rank, kind, candidate.id, candidate.source)


def _date_key(candidate: Candidate) -> tuple[int, int]:
    """Newest publication first; undated items (formations, companies) after every dated one."""
    day = parse_day(candidate.published_at)
    return (1, 0) if day is None else (0, -day.toordinal())


def relevance_key(item: ScoredCandidate) -> SortKey:
    """Score descending, then nearest, then kind and id."""
    return (-item.total, _distance_key(item.candidate), _identity_key(item.candidate))


def distance_sort_key(item: ScoredCandidate) -> SortKey:
    """Nearest first, then score descending, then kind and id."""
    return (_distance_key(item.candidate), -item.total, _identity_key(item.candidate))


def date_sort_key(item: ScoredCandidate) -> SortKey:
    """Newest first, then score descending, then nearest, then kind and id."""
    c = item.candidate
    return (_date_key(c), -item.total, _distance_key(c), _identity_key(c))


SORT_KEYS: dict[str, Callable[[ScoredCandidate], SortKey]] = {
    "relevance": relevance_key,
    "distance": distance_sort_key,
    "date": date_sort_key,
}


def rank(
    candidates: Iterable[Candidate], ctx: RankingContext, weights: Weights = DEFAULT_WEIGHTS
) -> list[ScoredCandidate]:
    """Every candidate scored and sorted by `ctx.sort`, with a total, input-order-free tie-break."""
    scored = [score(candidate, ctx, weights) for candidate in candidates]
    return sorted(scored, key=SORT_KEYS[ctx.sort])


def rank_by_totals(
    candidates: Iterable[tuple[Candidate, float]], ctx: RankingContext
) -> list[ScoredCandidate]:
    """Candidates with totals an engine computed with this formula, sorted as `rank` sorts them.

    For engines that evaluate `ranking.linear` themselves (their tests prove the same totals and
    order as `score()` on every candidate): sorting needs only the totals, so the components are
    left empty and `with_components` fills them for the few items a page shows.
    """
    scored = [ScoredCandidate(candidate, total, ()) for candidate, total in candidates]
    return sorted(scored, key=SORT_KEYS[ctx.sort])


def with_components(
    items: Iterable[ScoredCandidate], ctx: RankingContext, weights: Weights = DEFAULT_WEIGHTS
) -> list[ScoredCandidate]:
    """The items scored in full by `score()` where they carry no components yet, order kept."""
    return [item if item.components else score(item.candidate, ctx, weights) for item in items]


def first_page_quota(page_size: int, weights: Weights = DEFAULT_WEIGHTS) -> int:
    """Slots of page 1 reserved to each asked kind that has candidates."""
    # Rounded first so that e.g. 0.3 * 10 = 3.0000000000000004 reserves 3 slots, not 4.
    return math.ceil(round(weights.first_page_min_share * page_size, 9))


def _reserved_positions(
    ranked: Sequence[ScoredCandidate], kinds: Sequence[str], quota: int
) -> list[int]:
    """Positions lifted to page 1 by the quotas, kinds taking turns, best-ranked kind first."""
    per_kind: dict[str, list[int]] = {kind: [] for kind in kinds}
    for position, item in enumerate(ranked):
        best = per_kind.get(item.candidate.kind)
        if best is not None and len(best) < quota:
            best.append(position)
    # Lists start with each kind's best position, so sorting them orders kinds by their best item.
    lists = sorted(positions for positions in per_kind.values() if positions)
    return [pos for turn in zip_longest(*lists) for pos in turn if pos is not None]


def _first_page_positions(
    ranked: Sequence[ScoredCandidate], kinds: Sequence[str], page_size: int, quota: int
) -> list[int]:
    """Positions in `ranked` of the items of page 1, in ranked order."""
    chosen = set(_reserved_positions(ranked, kinds, quota)[:page_size])
    for position in range(len(ranked)):
        if len(chosen) >= page_size:
            break
        chosen.add(position)
    return sorted(chosen)


def _check_page_size(page_size: int) -> None:
    """Reject a page size that would make paging loop forever or lose items."""
    if page_size < 1:
        raise ValueError(f"page_size starts at 1, not {page_size}")


def blended_order(
    ranked: Sequence[ScoredCandidate],
    ctx: RankingContext,
    page_size: int,
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[ScoredCandidate]:
    """Every result in the order pages of `page_size` show them: page 1 blended, then ranked order."""
    _check_page_size(page_size)
    first = _first_page_positions(ranked, ctx.kinds, page_size, first_page_quota(page_size, weights))
    lifted = set(first)
    rest = [item for position, item in enumerate(ranked) if position not in lifted]
    return [ranked[position] for position in first] + rest


def blend(
    ranked: Sequence[ScoredCandidate],
    ctx: RankingContext,
    page: int,
    page_size: int,
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[ScoredCandidate]:
    """Page `page` (from 1) of the blended order; an empty list past the end."""
    if page < 1:
        raise ValueError(f"page starts at 1, not {page}")
    start = (page - 1) * page_size
    return blended_order(ranked, ctx, page_size, weights)[start:start + page_size]


def facet_distance_band(distance_km: float | None) -> str:
    """Distance facet of a result: "0-10", "10-30", "30-60", "60+", or "unknown" without a location."""
    if distance_km is None or math.isnan(distance_km):
        return "unknown"
    lower = 0.0
    for upper in DISTANCE_BANDS_KM:
        # Upper edge inclusive: a result at exactly 10 km belongs to a "within 10 km" facet.
        if distance_km <= upper:
            return f"{lower:g}-{upper:g}"
        lower = upper
    return f"{lower:g}+"
