"""Features on a tiny hand-made history whose answers were worked out by hand, and the no-look-ahead guarantee."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from app.referentials import Referentials
from indexers.hiring.codes import APPRENTICESHIP, month_ordinal
from indexers.hiring.features import (
    FEATURES,
    MONTHS_SINCE_CAP,
    RATE_PRIOR,
    build_features,
    half_year_counts,
    months_since,
    target,
    window,
)
from indexers.hiring.history import History
from indexers.hiring.input_files import load_history
from tests.indexers.hiring.conftest import company, siret, write_files

# History March 2024 .. August 2026 (30 months); the cutoff is March 2026 (index 24): the features
# read March 2024 .. February 2026, the target is March .. August 2026.
CUTOFF = 24
A, B, C = siret(1), siret(2), siret(3)
HIRINGS = [
    (A, "2024-09", "apprenticeship", 2),
    (A, "2025-05", "apprenticeship", 1),
    (A, "2025-09", "apprenticeship", 1),
    (A, "2026-01", "apprenticeship", 1),
    (A, "2025-06", "fixed_term", 3),
    (A, "2025-12", "fixed_term", 1),
    (A, "2025-11", "permanent", 1),
    (A, "2026-08", "apprenticeship", 1),  # in the target window
    (C, "2026-02", "apprenticeship", 1),
    (C, "2026-03", "apprenticeship", 2),  # in the target window
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, refs: Referentials) -> History:
    directory: Path = tmp_path_factory.mktemp("tiny")
    rows = [company(1),  # bakery, Lyon, 3-5 employees, created 2001
            company(2, created_on="2025-10-15"),  # young bakery, never hired
            company(3, naf="5610C", insee_code="13201", postcode="13001", latitude="", longitude="",
                    headcount_band="11")]
    history, _, _ = load_history(*write_files(directory, rows, HIRINGS), refs, first_month="2024-03",
                                 last_month="2026-08")
    return history


def feature(frame, name: str) -> list[float]:
    return frame.column(name).tolist()


def test_apprenticeship_counts_over_windows(tiny: History) -> None:
    frame = build_features(tiny, CUTOFF)
    expected = {
        "app_1": [0, 0, 1], "app_3": [1, 0, 1], "app_6": [2, 0, 1], "app_12": [3, 0, 1], "app_24": [5, 0, 1],
        "app_prev_12": [2, 0, 0],
        "app_same_window_1y": [1, 0, 0],  # March..August 2025: the May hire
        "app_same_window_2y": [0, 0, 0],  # March..August 2024
        "app_months_12": [3, 0, 1], "app_months_24": [4, 0, 1],
        "months_since_app": [2, MONTHS_SINCE_CAP, 1],  # January 2026 is two months before March
    }
    assert {name: feature(frame, name) for name in expected} == expected


def test_other_hires_trend_size_age_and_calendar(tiny: History) -> None:
    frame = build_features(tiny, CUTOFF)
    assert feature(frame, "fixed_3") == [1, 0, 0] and feature(frame, "fixed_12") == [4, 0, 0]
    assert feature(frame, "perm_3") == [0, 0, 0] and feature(frame, "perm_12") == [1, 0, 0]
    # Sept 2025..Feb 2026: 1 fixed-term + 1 permanent; March..Aug 2025: 3 fixed-term.
    assert frame.column("other_trend")[0] == pytest.approx(math.log(3 / 4))
    assert feature(frame, "months_since_any") == [2, MONTHS_SINCE_CAP, 1]
    assert frame.column("log_headcount").tolist() == pytest.approx([math.log(4), math.log(4), math.log(14.5)])
    assert feature(frame, "age_months") == [240, 5, 240]  # created 2001 (capped), Oct 2025, unknown
    assert feature(frame, "division") == [10, 10, 56]
    assert feature(frame, "start_month") == [2, 2, 2]  # March, 0-based


def test_rates_are_shrunk_towards_the_national_mean(tiny: History) -> None:
    frame = build_features(tiny, CUTOFF)
    overall = (3 + 0 + 1) / 3
    bakery = (3 + 0 + RATE_PRIOR * overall) / (2 + RATE_PRIOR)
    restaurant = (1 + RATE_PRIOR * overall) / (1 + RATE_PRIOR)
    assert frame.column("naf_rate").tolist() == pytest.approx([bakery, bakery, restaurant])
    assert frame.column("dept_rate").tolist() == pytest.approx([bakery, bakery, restaurant])  # Lyon vs Marseille
    share = (1 + RATE_PRIOR * 2 / 3) / (2 + RATE_PRIOR)
    assert frame.column("naf_hirer_share")[0] == pytest.approx(share)


def test_target_and_half_years(tiny: History) -> None:
    assert target(tiny, CUTOFF).tolist() == [1, 0, 2]
    assert half_year_counts(tiny, CUTOFF, 4).tolist() == [[2, 1, 2, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    with pytest.raises(ValueError):
        target(tiny, tiny.n_months - 2)


def test_features_never_read_the_months_they_predict(tiny: History) -> None:
    before = build_features(tiny, CUTOFF).values
    future = tiny.counts.copy()
    future[:, CUTOFF:, :] = 7
    changed = History(tiny.companies, tiny.first_month, future)
    assert np.array_equal(build_features(changed, CUTOFF).values, before)
    assert np.array_equal(build_features(changed.truncated(CUTOFF), CUTOFF).values, before)


def test_every_feature_is_finite_on_generated_data(small_history: History) -> None:
    frame = build_features(small_history, small_history.n_months)
    assert frame.values.shape == (len(small_history.companies), len(FEATURES))
    assert np.isfinite(frame.values).all()


def test_helpers_clip_to_the_history(tiny: History) -> None:
    assert window(tiny, APPRENTICESHIP, -10, 7).tolist() == [2, 0, 0]  # months before the history are empty
    assert months_since(np.array([[True, False, False], [False, False, False]]), 9).tolist() == [3, 9]
    assert tiny.first_month == month_ordinal("2024-03")
