"""The explain dict: every component, JSON-able, contributions adding up to the total."""
from __future__ import annotations

import datetime
import json

import pytest

from ranking.explain import explain
from ranking.model import CandidateData, RankingContext
from ranking.score import score
from ranking.weights import COMPONENT_FIELDS

TODAY = datetime.date(2025, 3, 1)

CASES = [
    CandidateData(
        "offer", "o", "deposited", 4.0, published_at="2025-02-20", application_count=12, text_score=3.0
    ),
    CandidateData("offer", "o-unlocated", "france_travail", None, published_at=None),
    CandidateData(
        "company", "c", "recruteurs_lba", 12.0, rome_score=73.5, application_count=3, text_score=9.0
    ),
    CandidateData("formation", "f", "catalogue", 29.0, diploma_level=5, text_score=0.0),
]


@pytest.mark.parametrize("candidate", CASES, ids=lambda c: c.id)
@pytest.mark.parametrize("has_text", [False, True])
def test_explain_lists_every_component_and_adds_up(candidate: CandidateData, has_text: bool) -> None:
    scored = score(candidate, RankingContext(radius_km=30.0, today=TODAY, has_text=has_text))
    explained = explain(scored)
    assert set(explained) == {"total", "components"}
    assert list(explained["components"]) == list(COMPONENT_FIELDS)
    for detail in explained["components"].values():
        assert set(detail) == {"value", "weight", "contribution", "input"}
        assert detail["contribution"] == pytest.approx(detail["weight"] * detail["value"])
    contributions = sum(d["contribution"] for d in explained["components"].values())
    assert contributions == pytest.approx(explained["total"], abs=1e-12)
    assert explained["total"] == scored.total
    assert json.loads(json.dumps(explained)) == explained  # JSON round-trip, nothing lost


def test_explain_shows_raw_inputs_next_to_normalised_values() -> None:
    scored = score(CASES[2], RankingContext(radius_km=30.0, today=TODAY, has_text=True))
    components = explain(scored)["components"]
    assert components["hiring"]["input"] == 73.5
    assert components["hiring"]["value"] == pytest.approx(0.735)
    assert components["distance"]["input"] == 12.0
    assert components["prior"]["input"] == "recruteurs_lba"
    assert components["saturation"]["input"] == 3
    assert components["freshness"] == {"value": 0.0, "weight": 0.0, "contribution": 0.0, "input": None}
