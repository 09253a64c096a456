"""Offline metrics on small judged lists with hand-computed answers."""
from __future__ import annotations

import math

import pytest

from ranking.evaluate import dcg, evaluate, ndcg_at_k, precision_at_k, recall_at_k

# Graded judgments of one query: a, b very good or good, c marginal, x judged irrelevant.
JUDGED = {"a": 3.0, "b": 2.0, "c": 1.0, "x": 0.0}


@pytest.mark.parametrize(
    ("ranked", "k", "expected"),
    [
        (["a", "b", "c"], 3, 1.0),
        (["a", "x", "b", "c"], 2, 0.5),
        (["x", "u", "a"], 2, 0.0),  # unjudged "u" counts as not relevant
        (["a"], 4, 0.25),  # empty slots count as misses
        (["a", "a", "x"], 3, 1 / 3),  # a duplicate does not count twice
        ([], 3, 0.0),
    ],
)
def test_precision_at_k(ranked: list[str], k: int, expected: float) -> None:
    assert precision_at_k(ranked, JUDGED, k) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("ranked", "k", "expected"),
    [
        (["a", "b", "c"], 3, 1.0),
        (["a", "x", "b", "c"], 2, 1 / 3),
        (["x", "c"], 10, 1 / 3),
        ([], 5, 0.0),
    ],
)
def test_recall_at_k(ranked: list[str], k: int, expected: float) -> None:
    assert recall_at_k(ranked, JUDGED, k) == pytest.approx(expected)


def test_recall_without_any_relevant_result_is_zero() -> None:
    assert recall_at_k(["x"], {"x": 0.0}, 3) == 0.0


def test_dcg_by_hand() -> None:
    assert dcg([3.0, 2.0]) == pytest.approx(7.0 / 1.0 + 3.0 / math.log2(3))
    assert dcg([]) == 0.0


@pytest.mark.parametrize(
    ("ranked", "k", "expected"),
    [
        (["a", "b", "c"], 3, 1.0),  # ideal order
        (["a", "b", "c", "x"], 2, 1.0),  # ideal within the cut-off
        (["x", "u"], 2, 0.0),
        (["c", "b", "a"], 3, (1 + 3 / math.log2(3) + 7 / 2) / (7 + 3 / math.log2(3) + 1 / 2)),
        (["a", "a", "a"], 3, 7 / (7 + 3 / math.log2(3) + 1 / 2)),  # duplicates cannot beat the ideal
    ],
)
def test_ndcg_at_k(ranked: list[str], k: int, expected: float) -> None:
    assert ndcg_at_k(ranked, JUDGED, k) == pytest.approx(expected)


def test_ndcg_prefers_better_results_higher() -> None:
    assert ndcg_at_k(["a", "c"], JUDGED, 2) > ndcg_at_k(["c", "a"], JUDGED, 2)


def test_ndcg_without_any_relevant_result_is_zero() -> None:
    assert ndcg_at_k(["x"], {"x": 0.0}, 3) == 0.0


@pytest.mark.parametrize("metric", [precision_at_k, recall_at_k, ndcg_at_k])
@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_is_rejected(metric, k: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        metric(["a"], JUDGED, k)


def test_evaluate_averages_over_judged_queries() -> None:
    judged = {"boulanger": JUDGED, "fleuriste": {"f1": 1.0}}
    runs = {"boulanger": ["a", "b", "c"], "plombier": ["p1"]}  # "fleuriste" has no run: scores 0
    assert evaluate(runs, judged, k=3) == pytest.approx(
        {"precision@3": 0.5, "recall@3": 0.5, "ndcg@3": 0.5}
    )


def test_evaluate_needs_judged_queries() -> None:
    with pytest.raises(ValueError):
        evaluate({"q": ["a"]}, {}, k=3)
