"""Turn a scored candidate into the JSON-able explanation the internal team reads to tune the weights."""
from __future__ import annotations

from typing import Any

from ranking.model import Component, ScoredCandidate


def explain_component(component: Component) -> dict[str, Any]:
    """One component as `{"value", "weight", "contribution", "input"}`."""
    return {
        "value": component.value,
        "weight": component.weight,
        "contribution": component.contribution,
        "input": component.input,
    }


def explain(scored: ScoredCandidate) -> dict[str, Any]:
    """`{"total": ..., "components": {name: {...}}}`; the contributions add up to the total."""
    return {
        "total": scored.total,
        "components": {component.name: explain_component(component) for component in scored.components},
    }
