"""Backtest metrics on hand-computed cases, and a full backtest run on the small history."""
from __future__ import annotations

import numpy as np
import pytest

from app.referentials import Referentials
from indexers.hiring.backtest import (
    calibration_deciles,
    calibration_error,
    default_cutoffs,
    format_table,
    grouped_top_k,
    poisson_deviance,
    run_backtest,
    top_companies,
    top_share,
)
from indexers.hiring.history import History


def test_grouped_top_k_pools_groups_with_enough_candidates() -> None:
    # Group 0: 4 candidates, the 2 relevant ranked 1st and 3rd; group 1: 3 candidates, 1 relevant
    # ranked 2nd; group 2: a single candidate, too small for k = 2, left out.
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 2])
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.5, 0.4, 0.3, 1.0])
    relevant = np.array([1, 0, 1, 0, 0, 1, 0, 1])
    result = grouped_top_k(groups, scores, relevant, 2, np.zeros(8))
    assert (result.groups, result.hits, result.slots, result.relevant) == (2, 2, 4, 3)
    assert result.precision == pytest.approx(0.5) and result.recall == pytest.approx(2 / 3)


def test_ties_are_broken_by_the_shared_shuffle() -> None:
    groups, scores, relevant = np.zeros(4, int), np.zeros(4), np.array([0, 0, 0, 1])
    assert grouped_top_k(groups, scores, relevant, 1, np.array([3, 2, 1, 0])).hits == 1
    assert grouped_top_k(groups, scores, relevant, 1, np.array([0, 1, 2, 3])).hits == 0
    with pytest.raises(ValueError):
        grouped_top_k(groups, scores, relevant, 0, np.zeros(4))


def test_top_companies_counts_hits_among_the_k_shown() -> None:
    shown = top_companies(np.array([0.9, 0.1, 0.5, 0.3]), np.array([1, 1, 0, 0]), 2, np.zeros(4))
    assert (shown.k, shown.hits, shown.relevant) == (2, 1, 2)
    assert shown.precision == 0.5 and shown.recall == 0.5


def test_poisson_deviance_by_hand() -> None:
    y, mu = np.array([0, 2]), np.array([0.5, 1.0])
    # 2 × mean(0 − (0 − 0.5), 2 ln 2 − (2 − 1)) = mean(1, 4 ln 2 − 2)
    assert poisson_deviance(y, mu) == pytest.approx((1.0 + 4 * np.log(2) - 2.0) / 2)
    assert poisson_deviance(np.array([3.0]), np.array([3.0])) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        poisson_deviance(y, np.array([0.0, 1.0]))


def test_calibration_and_capture() -> None:
    mu = np.arange(1, 21, dtype=float)  # 20 companies, 2 per decile
    y = mu.copy()
    deciles = calibration_deciles(y, mu, np.zeros(20))
    assert deciles[0].tolist() == [1.5, 1.5, 2] and deciles[-1].tolist() == [19.5, 19.5, 2]
    assert calibration_error(deciles) == 0.0
    assert calibration_error(calibration_deciles(2 * y, mu, np.zeros(20))) == pytest.approx(0.5)
    assert top_share(y, mu, np.zeros(20)) == pytest.approx((20 + 19) / 210)


def test_backtest_runs_every_model_without_seeing_the_future(small_history: History, refs: Referentials,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    from indexers.hiring import backtest, models

    real = models.make_model

    def spy(name: str):
        model = real(name)
        fit = model.fit
        model.fit = lambda history: (seen.append(history.n_months), fit(history))[1]
        return model

    monkeypatch.setattr(backtest, "make_model", spy)
    rows = run_backtest(small_history, refs, [42], models=("lbb_baseline", "poisson_glm"))
    assert seen == [42, 42]  # each model saw months 0..41 only
    assert [row.model for row in rows] == ["lbb_baseline", "poisson_glm"]
    for row in rows:
        assert row.window == "2026-05..2026-10" and row.top_k.groups > 0
        assert 0 <= row.top_k.precision <= 1 and 0 < row.top_k.recall <= 1 and row.deviance > 0
        assert row.shown.k == rows[0].shown.k > 0  # the same number of companies shown for every model
    table = format_table(rows, chosen="poisson_glm")
    assert "*poisson_glm" in table and " lbb_baseline" in table and "mean" in table and "P@shown" in table


def test_default_cutoffs_end_with_the_last_full_window() -> None:
    assert default_cutoffs(48) == [36, 39, 42]
