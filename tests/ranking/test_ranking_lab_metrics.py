"""Metrics of the ranking lab on tiny hand-made graded lists, rules parsing, and the paired tests."""
from __future__ import annotations

import math

import pytest

from ranking.evaluate import (
    QueryRun,
    compare,
    coverage_by_kind,
    ndcg_of_grades,
    paired_bootstrap,
    precision_of_grades,
    reciprocal_rank,
    sign_test,
    summarise,
)
from ranking.judged import JudgementError, parse_rules, read_judgements


def test_ndcg_of_grades_hand_computed() -> None:
    # Shown 1, 3 against an ideal 3, 1: DCG = 1 + 7/log2(3); ideal = 7 + 1/log2(3).
    expected = (1 + 7 / math.log2(3)) / (7 + 1 / math.log2(3))
    assert ndcg_of_grades([1, 3], [3, 1, 0], 10) == pytest.approx(expected)
    assert ndcg_of_grades([3, 1], [1, 3], 10) == pytest.approx(1.0)
    assert ndcg_of_grades([0, 0], [0, 0], 10) == 0.0  # nothing relevant: 0, not a division by zero
    # k cuts both the list and the ideal: [2] at k=1 against an ideal best of 3 → 3/7.
    assert ndcg_of_grades([2, 3], [3, 2], 1) == pytest.approx(3 / 7)


def test_reciprocal_rank_and_precision() -> None:
    assert reciprocal_rank([1, 0, 2, 3]) == pytest.approx(1 / 3)  # first grade >= 2 at rank 3
    assert reciprocal_rank([1, 1]) == 0.0
    assert reciprocal_rank([1, 1], relevant=1) == 1.0
    assert precision_of_grades([3, 2, 1, 0], 10) == pytest.approx(0.2)  # empty slots count as misses
    assert precision_of_grades([3, 2, 1, 0], 2) == 1.0


def test_coverage_counts_only_queries_that_could_show_the_kind() -> None:
    runs = [
        QueryRun("a", (3, 1), ("offer", "company"), (3, 1), ("offer", "company"), ("company", "offer")),
        QueryRun("b", (3,), ("offer",), (3, 1), ("offer", "company"), ("company", "offer")),
        QueryRun("c", (3,), ("offer",), (3,), ("offer", "company"), ("offer",)),  # no company to show
    ]
    assert coverage_by_kind(runs) == {"company": 0.5, "offer": 1.0}
    assert summarise(runs)["queries"] == 3


def test_sign_test_exact_values() -> None:
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 0) == pytest.approx(2 / 32)  # two-sided: 2 × 0.5^5
    assert sign_test(3, 3) == 1.0
    assert sign_test(1, 4) == pytest.approx(2 * (1 + 5) / 32)


def test_paired_bootstrap_is_seeded_and_sided() -> None:
    gains = [0.1, 0.2, 0.0, 0.3, 0.1]
    assert paired_bootstrap(gains) == paired_bootstrap(gains)  # same seed, same answer
    assert paired_bootstrap(gains, samples=2000) < 0.05  # all gains >= 0: rarely a mean <= 0
    assert paired_bootstrap([-g for g in gains], samples=2000) == 1.0


def _run(query_id: str, grades: tuple[float, ...]) -> QueryRun:
    return QueryRun(query_id, grades, ("offer",) * len(grades), (3, 2, 1), ("offer",), ("offer",))


def test_compare_reports_wins_losses_and_fails_past_the_threshold() -> None:
    base = [_run("q1", (3, 2, 1)), _run("q2", (3, 2, 1)), _run("q3", (1, 2, 3))]
    cand = [_run("q1", (1, 2, 3)), _run("q2", (3, 2, 1)), _run("q3", (3, 2, 1))]
    result = compare(base, cand, samples=500)
    assert result.wins == ("q3",) and result.losses == ("q1",) and result.ties == 1
    assert result.delta == pytest.approx(0.0) and not result.worse
    worse = compare(base, [_run("q1", (1, 2, 3)), _run("q2", (1, 2, 3)), _run("q3", (1, 2, 3))], samples=500)
    assert worse.losses == ("q1", "q2") and worse.delta < -0.01 and worse.worse
    assert not compare(base, [_run("q1", (1, 2, 3)), *base[1:]], threshold=1.0, samples=100).worse
    with pytest.raises(ValueError):
        compare(base, cand[:2])


def test_rules_grade_by_the_highest_matching_rule() -> None:
    (query,) = read_judgements([{"query_id": "q1", "romes": "D1102", "insee": "69123", "radius": "30",
                                 "judgements": "kind=offer;distance_km<=10 => 3 | kind=offer => 1 | id=x => 2"}])
    assert query.params == {"romes": "D1102", "insee": "69123", "radius": "30"}
    assert query.grade({"kind": "offer", "distance_km": 4.0, "id": "a"}) == 3
    assert query.grade({"kind": "offer", "distance_km": 14.0, "id": "a"}) == 1
    assert query.grade({"kind": "offer", "distance_km": None, "id": "a"}) == 1  # no distance: no <= 10
    assert query.grade({"kind": "company", "distance_km": 1.0, "id": "x"}) == 2
    assert query.grade({"kind": "company", "distance_km": 1.0, "id": "y"}) == 0


@pytest.mark.parametrize(("text", "message"), [
    ("kind=offer", "no `=> grade`"),
    ("kind=offer => 4", "not one of 0, 1, 2, 3"),
    ("colour=red => 1", "unknown property 'colour'"),
    ("distance_km<=near => 1", "needs a number"),
    ("kind<offer => 1", "= or != only"),
    ("", "no judgement"),
])
def test_bad_rules_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rules(text)


def test_a_bad_row_names_its_line() -> None:
    rows = [{"query_id": "q1", "romes": "D1102", "judgements": "kind=offer => 3"},
            {"query_id": "q2", "judgements": "kind=offer => 3"}]
    with pytest.raises(JudgementError, match=r"file.csv, line 3: a query needs romes or q"):
        read_judgements(rows, "file.csv")
    with pytest.raises(JudgementError, match="line 3: query_id 'q1' appears twice"):
        read_judgements([rows[0], rows[0]], "file.csv")


def test_the_starter_set_is_valid_and_large_enough() -> None:
    from ranking.judged import load_judgements
    from scripts.ranking_cli import DEFAULT_JUDGEMENTS

    assert len(load_judgements(DEFAULT_JUDGEMENTS)) >= 60
