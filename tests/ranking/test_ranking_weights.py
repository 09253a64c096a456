"""Weights defaults, validation and TOML overrides."""
from __future__ import annotations

import dataclasses
import datetime
import pathlib

import pytest

from ranking.blend import rank
from ranking.model import CandidateData, RankingContext
from ranking.weights import (
    COMPONENT_FIELDS,
    DEFAULT_WEIGHTS,
    Weights,
    WeightsError,
    load_weights,
    weights_from_mapping,
)

SHIPPED_TOML = pathlib.Path(__file__).parents[2] / "ranking" / "weights.toml"


def write(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    """A weights.toml holding `text` in the test's temporary directory."""
    path = tmp_path / "weights.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_component_weights_sum_to_one() -> None:
    assert sum(getattr(DEFAULT_WEIGHTS, name) for name in COMPONENT_FIELDS) == pytest.approx(1.0)


def test_shipped_toml_lists_every_weight_with_its_default() -> None:
    import tomllib

    shipped = tomllib.loads(SHIPPED_TOML.read_text(encoding="utf-8"))
    assert set(shipped) == {f.name for f in dataclasses.fields(Weights)}
    assert load_weights(SHIPPED_TOML) == DEFAULT_WEIGHTS


def test_override_changes_only_the_given_keys(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "distance = 0.5\nfreshness_half_life_days = 30\n")
    weights = load_weights(path)
    assert weights.distance == 0.5 != DEFAULT_WEIGHTS.distance
    assert weights.freshness_half_life_days == 30.0 and isinstance(weights.freshness_half_life_days, float)
    restored = dataclasses.replace(
        weights,
        distance=DEFAULT_WEIGHTS.distance,
        freshness_half_life_days=DEFAULT_WEIGHTS.freshness_half_life_days,
    )
    assert restored == DEFAULT_WEIGHTS


def test_empty_file_gives_the_defaults(tmp_path: pathlib.Path) -> None:
    assert load_weights(write(tmp_path, "# nothing tuned yet\n")) == DEFAULT_WEIGHTS


@pytest.mark.parametrize(
    ("toml", "message_parts"),
    [
        ("distanse = 0.4\n", ["unknown key", "'distanse'", "did you mean 'distance'", "known keys"]),
        ("zzz = 1\n", ["unknown key", "'zzz'"]),
        ("[weights]\ndistance = 0.4\n", ["unknown key", "'weights'"]),
    ],
)
def test_unknown_key_is_rejected_with_a_clear_message(
    tmp_path: pathlib.Path, toml: str, message_parts: list[str]
) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(WeightsError) as error:
        load_weights(path)
    for part in message_parts + [str(path)]:
        assert part in str(error.value)


@pytest.mark.parametrize(
    ("toml", "field"),
    [
        ('distance = "0.4"\n', "distance"),  # a string is not a weight
        ("prior = true\n", "prior"),  # nor is a boolean, even though bool is an int in Python
        ("distance = -0.1\n", "distance"),
        ("distance_edge_value = 1.0\n", "distance_edge_value"),  # no decay at all
        ("distance_edge_value = 0\n", "distance_edge_value"),  # everything but the point scores 0
        ("prior_deposited = 1.5\n", "prior_deposited"),
        ("freshness_half_life_days = 0\n", "freshness_half_life_days"),
        ("offer_application_cap = -80\n", "offer_application_cap"),
        ("first_page_min_share = 2\n", "first_page_min_share"),
        ("text_half_score = nan\n", "text_half_score"),
        ("distance = inf\n", "distance"),
    ],
)
def test_bad_values_are_rejected_naming_the_field(tmp_path: pathlib.Path, toml: str, field: str) -> None:
    with pytest.raises(WeightsError, match=field):
        load_weights(write(tmp_path, toml))


def test_all_component_weights_zero_is_rejected() -> None:
    with pytest.raises(WeightsError, match="at least one"):
        weights_from_mapping({name: 0 for name in COMPONENT_FIELDS})


def test_invalid_toml_is_a_weights_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(WeightsError, match="not valid TOML"):
        load_weights(write(tmp_path, "distance = = 1\n"))


def test_weights_error_is_a_value_error() -> None:
    assert issubclass(WeightsError, ValueError)


def test_loaded_override_changes_the_ranking(tmp_path: pathlib.Path) -> None:
    near_crowded = CandidateData(
        "offer", "near", "france_travail", 2.0, published_at="2025-01-01", application_count=70
    )
    far_fresh = CandidateData("offer", "far", "deposited", 25.0, published_at="2025-03-01")
    context = RankingContext(radius_km=30.0, today=datetime.date(2025, 3, 1))
    default_order = [s.candidate.id for s in rank([near_crowded, far_fresh], context)]
    zeroed = "".join(f"{name} = 0\n" for name in COMPONENT_FIELDS if name != "distance")
    distance_only = load_weights(write(tmp_path, zeroed))
    tuned_order = [s.candidate.id for s in rank([near_crowded, far_fresh], context, distance_only)]
    assert default_order == ["far", "near"]
    assert tuned_order == ["near", "far"]
