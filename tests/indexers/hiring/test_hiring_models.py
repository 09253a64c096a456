"""Models: the La Bonne Boite baseline on hand-made data, every model on the small generated history."""
from __future__ import annotations

import numpy as np
import pytest

from indexers.hiring.features import HORIZON, LOOKBACK
from indexers.hiring.history import History
from indexers.hiring.models import CHOSEN_MODEL, MODELS, GradientBoosting, LbbBaseline, make_model, training_cutoffs


def test_training_cutoffs_leave_room_for_features_and_target() -> None:
    assert training_cutoffs(48) == [42, 40, 38, 36, 34, 32]
    assert training_cutoffs(32) == [26, 24]
    with pytest.raises(ValueError):
        training_cutoffs(LOOKBACK + HORIZON - 1)


def test_baseline_learns_a_linear_rule_per_department(small_history: History) -> None:
    # Rewrite the apprenticeship counts of one company in three so that a half-year holds one hire
    # more than the one before it (random history before): the regression must find exactly
    # "last half-year + 1"; companies without any hire get the floor.
    rng = np.random.default_rng(0)
    counts = small_history.counts.copy()
    counts[:, :, 0] = 0
    hirers = np.arange(len(small_history.companies)) % 3 == 0
    counts[hirers, :36, 0] = rng.integers(0, 3, (hirers.sum(), 36))
    counts[hirers, 36, 0] = counts[hirers, 30:36, 0].sum(axis=1) + 1
    history = History(small_history.companies, small_history.first_month, counts)
    model = LbbBaseline().fit(history)  # trained on months 0..35 → 36..41
    assert model.periods == 6  # (48 - 12) / 6 half-years, fewer than LBB's 7
    predicted = model.predict(history.truncated(42))
    expected = counts[hirers, 36:42, 0].sum(axis=1) + 1.0
    assert predicted[hirers] == pytest.approx(expected, abs=1e-6)
    assert (predicted[~hirers] == model.floor).all() and model.floor > 0


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_predicts_a_positive_count_per_company(name: str, small_history: History) -> None:
    model = make_model(name) if name != "gbm_poisson" else GradientBoosting(max_iter=40)
    known = small_history.truncated(42)
    predicted = model.fit(known).predict(known)
    assert predicted.shape == (len(small_history.companies),)
    assert np.isfinite(predicted).all() and (predicted > 0).all()
    # Sanity: the predicted national total is within a factor 2 of what the months 42..47 held.
    observed = small_history.counts[:, 42:48, 0].sum()
    assert 0.5 < predicted.sum() / observed < 2.0


def test_the_chosen_model_is_known() -> None:
    assert CHOSEN_MODEL in MODELS and make_model().name == CHOSEN_MODEL
    with pytest.raises(ValueError):
        make_model("crystal_ball")
