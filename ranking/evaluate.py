"""Offline ranking metrics (precision, recall, nDCG, MRR, coverage) and paired comparisons; pure functions."""
from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Result id -> graded relevance (0 = not relevant, higher = better, e.g. 0-3). Unjudged ids count as
# not relevant, so a ranking cannot improve its metrics by surfacing results nobody judged.
Judgments = Mapping[str, float]


def _check_k(k: int) -> None:
    """Reject cut-offs that have no meaning, rather than returning a misleading 0."""
    if k < 1:
        raise ValueError(f"k starts at 1, not {k}")


def _relevant(judgments: Judgments) -> set[str]:
    """Ids judged relevant at all (grade above 0)."""
    return {doc_id for doc_id, grade in judgments.items() if grade > 0}


def precision_at_k(ranked_ids: Sequence[str], judgments: Judgments, k: int) -> float:
    """Share of the first k slots holding a relevant result; empty slots count as misses."""
    _check_k(k)
    relevant = _relevant(judgments)
    # Distinct ids, as in recall: listing one good result twice must not count twice.
    return len(relevant.intersection(ranked_ids[:k])) / k


def recall_at_k(ranked_ids: Sequence[str], judgments: Judgments, k: int) -> float:
    """Share of all relevant results found in the first k; 0 when nothing is relevant."""
    _check_k(k)
    relevant = _relevant(judgments)
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked_ids[:k])) / len(relevant)


def dcg(grades: Sequence[float]) -> float:
    """Discounted cumulative gain with exponential gain, which rewards the very good results most."""
    return sum((math.pow(2.0, grade) - 1.0) / math.log2(rank + 2) for rank, grade in enumerate(grades))


def ndcg_at_k(ranked_ids: Sequence[str], judgments: Judgments, k: int) -> float:
    """DCG of the first k results over the best possible DCG; 0 when nothing is relevant."""
    _check_k(k)
    ideal = dcg(sorted((max(g, 0.0) for g in judgments.values()), reverse=True)[:k])
    if ideal <= 0:
        return 0.0
    # A repeated id earns its gain once: duplicates must not beat the ideal order.
    seen: set[str] = set()
    grades = []
    for doc_id in ranked_ids[:k]:
        grades.append(0.0 if doc_id in seen else max(judgments.get(doc_id, 0.0), 0.0))
        seen.add(doc_id)
    return dcg(grades) / ideal


def evaluate(
    runs: Mapping[str, Sequence[str]], judged: Mapping[str, Judgments], k: int
) -> dict[str, float]:
    """Mean precision, recall and nDCG at k over every judged query; a query with no run scores 0."""
    _check_k(k)
    if not judged:
        raise ValueError("no judged query to evaluate")
    totals = {"precision": 0.0, "recall": 0.0, "ndcg": 0.0}
    for query, judgments in judged.items():
        ranked_ids = runs.get(query, ())
        totals["precision"] += precision_at_k(ranked_ids, judgments, k)
        totals["recall"] += recall_at_k(ranked_ids, judgments, k)
        totals["ndcg"] += ndcg_at_k(ranked_ids, judgments, k)
    return {f"{name}@{k}": value / len(judged) for name, value in totals.items()}


# --- Metrics on graded lists: what a judged query's results earn under its rules (ranking/judged.py).
# A result counts as relevant from this grade on ("good" in the judging guidelines): with property
# rules almost any result inside the radius earns a 1, which says "acceptable", not "what was asked".
RELEVANT_GRADE = 2


def ndcg_of_grades(grades: Sequence[float], ideal_pool: Sequence[float], k: int) -> float:
    """DCG of the first k grades over the DCG of the best k grades of `ideal_pool`; 0 when none is > 0."""
    _check_k(k)
    ideal = dcg(sorted((max(g, 0.0) for g in ideal_pool), reverse=True)[:k])
    if ideal <= 0:
        return 0.0
    return min(1.0, dcg([max(g, 0.0) for g in grades[:k]]) / ideal)


def reciprocal_rank(grades: Sequence[float], relevant: float = RELEVANT_GRADE) -> float:
    """1 / position of the first relevant result; 0 when there is none."""
    for position, grade in enumerate(grades, start=1):
        if grade >= relevant:
            return 1.0 / position
    return 0.0


def precision_of_grades(grades: Sequence[float], k: int, relevant: float = RELEVANT_GRADE) -> float:
    """Share of the first k slots holding a relevant result; empty slots count as misses."""
    _check_k(k)
    return sum(1 for grade in grades[:k] if grade >= relevant) / k


@dataclass(frozen=True)
class QueryRun:
    """One judged query's outcome: grades and kinds of the results shown, and grades of every candidate."""

    query_id: str
    grades: tuple[float, ...]
    kinds: tuple[str, ...]
    pool: tuple[float, ...]
    asked_kinds: tuple[str, ...] = ()
    pool_kinds: tuple[str, ...] = ()


def query_metrics(run: QueryRun, k: int = 10) -> dict[str, float]:
    """nDCG@k, reciprocal rank and precision@k of one query."""
    return {f"ndcg@{k}": ndcg_of_grades(run.grades, run.pool, k), "mrr": reciprocal_rank(run.grades[:k]),
            f"precision@{k}": precision_of_grades(run.grades, k)}


def coverage_by_kind(runs: Sequence[QueryRun], k: int = 10) -> dict[str, float]:
    """Per kind: share of the queries asking it, with candidates of it, that show one in the first k."""
    out: dict[str, float] = {}
    for kind in sorted({kind for run in runs for kind in run.asked_kinds}):
        eligible = [run for run in runs if kind in run.asked_kinds and kind in run.pool_kinds]
        if eligible:
            out[kind] = sum(1 for run in eligible if kind in run.kinds[:k]) / len(eligible)
    return out


def summarise(runs: Sequence[QueryRun], k: int = 10) -> dict[str, Any]:
    """Mean per-query metrics and coverage per kind over every run."""
    if not runs:
        raise ValueError("no judged query to evaluate")
    per_query = [query_metrics(run, k) for run in runs]
    means = {name: sum(m[name] for m in per_query) / len(per_query) for name in per_query[0]}
    return {**means, "coverage": coverage_by_kind(runs, k), "queries": len(runs)}


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value of `wins` against `losses` (ties left out); 1 when both are 0."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(0, min(wins, losses) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired_bootstrap(differences: Sequence[float], samples: int = 10000, seed: int = 16) -> float:
    """One-sided p-value that the mean of paired differences is <= 0, by a seeded paired bootstrap.

    Resamples queries with replacement, so it asks how often a set of queries like these would show
    no gain; small means the gain is unlikely to be luck of the query sample.
    """
    if not differences:
        return 1.0
    rng = random.Random(seed)
    n = len(differences)
    at_most_zero = 0
    for _ in range(samples):
        if sum(differences[rng.randrange(n)] for _ in range(n)) <= 0:
            at_most_zero += 1
    return at_most_zero / samples


@dataclass(frozen=True)
class Comparison:
    """Baseline against candidate on one metric, query by query."""

    metric: str
    baseline: float
    candidate: float
    wins: tuple[str, ...]
    losses: tuple[str, ...]
    ties: int
    sign_p: float
    bootstrap_p_worse: float
    threshold: float

    @property
    def delta(self) -> float:
        """Candidate minus baseline mean."""
        return self.candidate - self.baseline

    @property
    def worse(self) -> bool:
        """The candidate loses more than `threshold` of the metric: the change must not ship."""
        return self.delta < -self.threshold


def compare(baseline: Sequence[QueryRun], candidate: Sequence[QueryRun], metric: str = "ndcg@10",
            k: int = 10, threshold: float = 0.01, samples: int = 10000, seed: int = 16) -> Comparison:
    """Paired comparison on `metric` of two runs of the same judged queries (matched by query id)."""
    base = {run.query_id: query_metrics(run, k)[metric] for run in baseline}
    cand = {run.query_id: query_metrics(run, k)[metric] for run in candidate}
    if set(base) != set(cand) or not base:
        raise ValueError("both runs must cover the same, non-empty set of queries")
    ids = sorted(base)
    diffs = [cand[i] - base[i] for i in ids]
    eps = 1e-12
    wins = tuple(i for i, d in zip(ids, diffs) if d > eps)
    losses = tuple(i for i, d in zip(ids, diffs) if d < -eps)
    # p that the candidate is NOT worse: bootstrap on the baseline-minus-candidate differences.
    return Comparison(metric, sum(base.values()) / len(ids), sum(cand.values()) / len(ids), wins, losses,
                      len(ids) - len(wins) - len(losses), sign_test(len(wins), len(losses)),
                      paired_bootstrap([-d for d in diffs], samples, seed), threshold)
