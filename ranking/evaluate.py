"""Offline ranking metrics (precision, recall, nDCG at k) over queries judged by people; pure functions."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

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
