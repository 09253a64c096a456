"""Pure ranking of search candidates: scoring, blending of kinds, explanations and offline metrics."""
from __future__ import annotations

from ranking.blend import (
    blend,
    blended_order,
    facet_distance_band,
    first_page_quota,
    rank,
    rank_by_totals,
    with_components,
)
from ranking.evaluate import evaluate, ndcg_at_k, precision_at_k, recall_at_k
from ranking.explain import explain
from ranking.model import KINDS, SORTS, Candidate, CandidateData, Component, RankingContext, ScoredCandidate
from ranking.score import score
from ranking.weights import DEFAULT_WEIGHTS, Weights, WeightsError, load_weights, weights_from_mapping

__all__ = [
    "DEFAULT_WEIGHTS",
    "KINDS",
    "SORTS",
    "Candidate",
    "CandidateData",
    "Component",
    "RankingContext",
    "ScoredCandidate",
    "Weights",
    "WeightsError",
    "blend",
    "blended_order",
    "evaluate",
    "explain",
    "facet_distance_band",
    "first_page_quota",
    "load_weights",
    "ndcg_at_k",
    "precision_at_k",
    "rank",
    "rank_by_totals",
    "recall_at_k",
    "score",
    "weights_from_mapping",
    "with_components",
]
