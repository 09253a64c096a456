"""Per-company features and targets at a cutoff month, computed only from the months before it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexers.hiring.codes import ALWAYS, APPRENTICESHIP, FIXED_TERM, PERMANENT
from indexers.hiring.history import History

#: Months predicted after a cutoff: the six months La Bonne Boite and La bonne alternance predict.
HORIZON = 6
#: Months of history the features read: two years see last year's intake and the one before.
LOOKBACK = 24
#: Prior weight (in companies) of the smoothed NAF and department rates: a NAF code with a handful
#: of companies stays near the national rate instead of taking one company's luck as its own.
RATE_PRIOR = 20.0
AGE_CAP = 240  # months; older companies behave alike, and an unknown creation date reads as old
#: "Months since the last hire" of a company that never hired (or not for five years): a constant,
#: so the value means the same whatever the length of the history.
MONTHS_SINCE_CAP = 60

FEATURES = (
    "app_1", "app_3", "app_6", "app_12", "app_24", "app_prev_12",
    "app_same_window_1y", "app_same_window_2y", "app_months_12", "app_months_24", "months_since_app",
    "fixed_3", "fixed_12", "perm_3", "perm_12", "other_trend", "months_since_any",
    "log_headcount", "age_months", "naf_rate", "naf_hirer_share", "dept_rate",
    "division", "start_month",
)
#: Features that are category codes, not quantities (small integers, as HistGradientBoosting wants them).
CATEGORICAL = ("division", "start_month")


@dataclass(frozen=True)
class FeatureFrame:
    """Feature matrix of every company at one cutoff (rows aligned with the company file)."""

    cutoff: int
    values: np.ndarray  # float32 [companies, len(FEATURES)]

    def column(self, name: str) -> np.ndarray:
        """One feature for every company."""
        return self.values[:, FEATURES.index(name)]


def window(history: History, kind: int, start: int, end: int) -> np.ndarray:
    """Hires of `kind` per company over month indices [start, end), clipped to the history; int64."""
    low, high = max(start, 0), min(max(end, 0), history.n_months)
    if high <= low:
        return np.zeros(history.counts.shape[0], dtype=np.int64)
    return history.counts[:, low:high, kind].sum(axis=1, dtype=np.int64)


def months_since(active: np.ndarray, cap: int) -> np.ndarray:
    """Months since the last True column of `active` [companies, months] (1 = last month); `cap` when never."""
    months = active.shape[1]
    if months == 0:
        return np.full(active.shape[0], cap, dtype=np.int64)
    last = months - 1 - np.argmax(active[:, ::-1], axis=1)
    return np.where(active.any(axis=1), np.minimum(months - last, cap), cap)


def target(history: History, cutoff: int, horizon: int = HORIZON) -> np.ndarray:
    """Apprenticeship hires of each company in months [cutoff, cutoff + horizon)."""
    if cutoff + horizon > history.n_months:
        raise ValueError(f"target window {cutoff}..{cutoff + horizon} goes past the history "
                         f"({history.n_months} months)")
    return window(history, APPRENTICESHIP, cutoff, cutoff + horizon)


def smoothed_rate(keys: np.ndarray, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per company, the weighted mean of `values` over companies with the same key, shrunk to the overall mean."""
    codes, inverse = np.unique(keys, return_inverse=True)
    total = np.bincount(inverse, weights=values * weights, minlength=codes.size)
    count = np.bincount(inverse, weights=weights, minlength=codes.size)
    overall = float((values * weights).sum() / max(weights.sum(), 1.0))
    return ((total + RATE_PRIOR * overall) / (count + RATE_PRIOR))[inverse]


def build_features(history: History, cutoff: int) -> FeatureFrame:
    """Features of every company for predicting months [cutoff, cutoff + HORIZON), from months before `cutoff` only."""
    if not 0 < cutoff <= history.n_months:
        raise ValueError(f"cutoff {cutoff} outside the history (1..{history.n_months})")
    companies = history.companies
    before = history.counts[:, max(cutoff - LOOKBACK, 0):cutoff]
    cols: dict[str, np.ndarray] = {}
    for name, months in (("app_1", 1), ("app_3", 3), ("app_6", 6), ("app_12", 12), ("app_24", 24)):
        cols[name] = window(history, APPRENTICESHIP, cutoff - months, cutoff)
    cols["app_prev_12"] = window(history, APPRENTICESHIP, cutoff - 24, cutoff - 12)
    # The same calendar months as the target one and two years earlier: apprenticeships follow the school year.
    cols["app_same_window_1y"] = window(history, APPRENTICESHIP, cutoff - 12, cutoff - 12 + HORIZON)
    cols["app_same_window_2y"] = window(history, APPRENTICESHIP, cutoff - 24, cutoff - 24 + HORIZON)
    hired_app = before[:, :, APPRENTICESHIP] > 0
    cols["app_months_12"] = hired_app[:, -12:].sum(axis=1)
    cols["app_months_24"] = hired_app.sum(axis=1)
    recent = history.counts[:, max(cutoff - MONTHS_SINCE_CAP, 0):cutoff]
    cols["months_since_app"] = months_since(recent[:, :, APPRENTICESHIP] > 0, MONTHS_SINCE_CAP)
    for name, kind in (("fixed", FIXED_TERM), ("perm", PERMANENT)):
        cols[f"{name}_3"] = window(history, kind, cutoff - 3, cutoff)
        cols[f"{name}_12"] = window(history, kind, cutoff - 12, cutoff)
    other_recent = window(history, FIXED_TERM, cutoff - 6, cutoff) + window(history, PERMANENT, cutoff - 6, cutoff)
    other_before = (window(history, FIXED_TERM, cutoff - 12, cutoff - 6)
                    + window(history, PERMANENT, cutoff - 12, cutoff - 6))
    # A shrinking or closing company hires less of everything first.
    cols["other_trend"] = np.log1p(other_recent) - np.log1p(other_before)
    cols["months_since_any"] = months_since(np.asarray(recent.any(axis=2)), MONTHS_SINCE_CAP)
    cols["log_headcount"] = np.log(companies.headcount)
    start = history.first_month + cutoff
    known = companies.created != ALWAYS
    cols["age_months"] = np.where(known, np.clip(start - companies.created.astype(np.int64), 0, AGE_CAP), AGE_CAP)
    active = history.active_at(cutoff).astype(float)
    app_12 = cols["app_12"].astype(float)
    cols["naf_rate"] = smoothed_rate(companies.naf, app_12, active)
    cols["naf_hirer_share"] = smoothed_rate(companies.naf, (app_12 > 0).astype(float), active)
    cols["dept_rate"] = smoothed_rate(companies.department, app_12, active)
    cols["division"] = np.array([int(naf[:2]) for naf in companies.naf.tolist()], dtype=np.int64)
    cols["start_month"] = np.full(len(companies), start % 12, dtype=np.int64)
    values = np.column_stack([np.asarray(cols[name], dtype=np.float32) for name in FEATURES])
    return FeatureFrame(cutoff, values)


def half_year_counts(history: History, cutoff: int, periods: int) -> np.ndarray:
    """Apprenticeship hires in each of the `periods` half-years before `cutoff`, most recent first (LBB's features)."""
    return np.column_stack([window(history, APPRENTICESHIP, cutoff - 6 * (p + 1), cutoff - 6 * p)
                            for p in range(periods)]).astype(np.float64)
