"""Backtest of the hiring models: fit on the months before a cutoff T, judge their predictions of T..T+5.

Metrics, per model and cutoff, over the companies the service could show at T (existing, not
closed, not opted out):

* precision@k / recall@k per (département, parent ROME): the service answers a search for a job
  around a place with a first page of k = 20 results (the API's default page size, La Bonne
  Boite's page size), and a département is the scale of a 20–30 km search. For every (département,
  ROME) with at least k candidate companies (companies whose NAF code maps to the ROME), the
  candidates are ranked by their per-ROME predicted hires; precision@k is the share of the top k
  that hired an apprentice in the six months, recall@k the share of those groups' hiring companies
  that made the top k (both pooled over groups; every group has exactly k slots, so pooled and
  averaged precision are equal). Ties are broken by one seeded shuffle shared by all models, as
  La Bonne Boite's daily shuffle does;
* precision/recall@shown: the companies the service would publish at T. The chosen model's file
  holds the K companies whose best per-ROME score passes MIN_ROME_SCORE; every model is judged on
  its own top K companies (by best per-ROME predicted hires), so all show the same number:
  precision = share of them that hired an apprentice, recall = share of all hiring companies
  among them;
* top-10 % capture: share of all apprenticeship hires made by the 10 % of companies predicted
  highest (La Bonne Boite's own performance indicator);
* mean Poisson deviance of the predicted counts;
* calibration by decile of prediction: `cal.err` is the share of hires misplaced across deciles,
  Σ|predicted − observed| / Σ observed, and `pred/obs` the overall ratio.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from app.referentials import Referentials
from indexers.hiring.features import HORIZON, target
from indexers.hiring.history import History
from indexers.hiring.models import CHOSEN_MODEL, MODELS, make_model
from indexers.hiring.output import MIN_ROME_SCORE, rome_pairs, rome_score

#: First-page size of a search: the API's default page size, and La Bonne Boite's.
K = 20
TIE_SEED = 20240901


@dataclass(frozen=True)
class GroupedTopK:
    """Pooled top-k counts over groups that have at least k candidates."""

    groups: int
    hits: int
    slots: int
    relevant: int

    @property
    def precision(self) -> float:
        """Relevant results among the slots shown."""
        return self.hits / self.slots if self.slots else 0.0

    @property
    def recall(self) -> float:
        """Relevant candidates that made a first page."""
        return self.hits / self.relevant if self.relevant else 0.0


def grouped_top_k(groups: np.ndarray, scores: np.ndarray, relevant: np.ndarray, k: int,
                  tiebreak: np.ndarray) -> GroupedTopK:
    """Top-k of each group by score (ties by `tiebreak`), pooled over the groups with at least k candidates."""
    if k < 1:
        raise ValueError(f"k starts at 1, not {k}")
    if groups.size == 0:
        return GroupedTopK(0, 0, 0, 0)
    order = np.lexsort((tiebreak, -scores, groups))
    sorted_groups = groups[order]
    _, starts, sizes = np.unique(sorted_groups, return_index=True, return_counts=True)
    rank = np.arange(order.size) - np.repeat(starts, sizes)
    big = np.repeat(sizes >= k, sizes)
    hit = relevant[order].astype(bool)
    return GroupedTopK(groups=int((sizes >= k).sum()), hits=int((hit & big & (rank < k)).sum()),
                       slots=int((sizes >= k).sum()) * k, relevant=int((hit & big).sum()))


def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Mean Poisson deviance, 2 × mean(y log(y/μ) − (y − μ)); μ must be positive."""
    y, mu = y.astype(float), mu.astype(float)
    if (mu <= 0).any():
        raise ValueError("predictions must be positive for the Poisson deviance")
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(2.0 * np.mean(term - (y - mu)))


def calibration_deciles(y: np.ndarray, mu: np.ndarray, tiebreak: np.ndarray, bins: int = 10) -> np.ndarray:
    """[bins, 3] array of (mean predicted, mean observed, companies) by equal-count bins of prediction, lowest first."""
    order = np.lexsort((tiebreak, mu))
    out = np.zeros((bins, 3))
    for i, part in enumerate(np.array_split(order, bins)):
        out[i] = (mu[part].mean() if part.size else 0.0, y[part].mean() if part.size else 0.0, part.size)
    return out


def calibration_error(deciles: np.ndarray) -> float:
    """Share of the observed hires misplaced across the bins: Σ|pred − obs| / Σ obs (counts, not means)."""
    predicted, observed = deciles[:, 0] * deciles[:, 2], deciles[:, 1] * deciles[:, 2]
    total = observed.sum()
    return float(np.abs(predicted - observed).sum() / total) if total else 0.0


def top_share(y: np.ndarray, mu: np.ndarray, tiebreak: np.ndarray, share: float = 0.1) -> float:
    """Share of all hires made by the `share` of companies predicted highest."""
    total = y.sum()
    if not total:
        return 0.0
    top = np.lexsort((tiebreak, -mu))[:max(1, int(round(share * y.size)))]
    return float(y[top].sum() / total)


@dataclass(frozen=True)
class Shown:
    """The top `k` companies of a model against the companies that hired."""

    k: int
    hits: int
    relevant: int

    @property
    def precision(self) -> float:
        """Hiring companies among the k shown."""
        return self.hits / self.k if self.k else 0.0

    @property
    def recall(self) -> float:
        """Hiring companies that were shown."""
        return self.hits / self.relevant if self.relevant else 0.0


def top_companies(scores: np.ndarray, relevant: np.ndarray, k: int, tiebreak: np.ndarray) -> Shown:
    """How many of the `k` best-scored companies are relevant (ties by `tiebreak`)."""
    top = np.lexsort((tiebreak, -scores))[:k]
    return Shown(k=int(min(k, scores.size)), hits=int(relevant[top].astype(bool).sum()),
                 relevant=int(relevant.astype(bool).sum()))


@dataclass(frozen=True)
class BacktestRow:
    """One model judged at one cutoff."""

    model: str
    cutoff: int
    window: str  # "YYYY-MM..YYYY-MM" predicted
    companies: int
    hirers: int
    top_k: GroupedTopK
    shown: Shown
    top10_share: float
    deviance: float
    calibration: np.ndarray
    fit_seconds: float
    predict_seconds: float

    @property
    def cal_error(self) -> float:
        """See calibration_error."""
        return calibration_error(self.calibration)

    @property
    def ratio(self) -> float:
        """Σ predicted / Σ observed over the evaluated companies."""
        observed = (self.calibration[:, 1] * self.calibration[:, 2]).sum()
        predicted = (self.calibration[:, 0] * self.calibration[:, 2]).sum()
        return float(predicted / observed) if observed else 0.0


def default_cutoffs(n_months: int) -> list[int]:
    """Three cutoffs three months apart, the last one leaving exactly HORIZON months to judge.

    With 48 months of history they start the windows in three seasons, one of them with the
    September intake, and leave the baseline its two years of half-yearly features one year back.
    """
    last = n_months - HORIZON
    return [last - 6, last - 3, last]


def best_shares(nafs: np.ndarray, refs: Referentials) -> np.ndarray:
    """Per company, the largest ROME share of its NAF code (0 when the NAF has no ROME)."""
    codes, inverse = np.unique(nafs, return_inverse=True)
    best = np.array([max(refs.naf.rome_shares(naf).values(), default=0.0) for naf in codes.tolist()])
    return best[inverse]


def evaluate(history: History, refs: Referentials, cutoff: int, predicted: dict[str, np.ndarray],
             k: int = K, chosen: str = CHOSEN_MODEL) -> dict[str, tuple[int, int, GroupedTopK, Shown, float, float,
                                                                       np.ndarray]]:
    """Metrics of several models' predictions for months [cutoff, cutoff + HORIZON), by model name.

    The number of companies shown is set by `chosen`'s predictions (or the first model's).
    """
    companies = history.companies
    eligible = history.active_at(cutoff) & ~companies.opt_out
    rows = np.flatnonzero(eligible)
    y_all = target(history, cutoff)
    y = y_all[rows]
    shuffle = np.random.default_rng(TIE_SEED).permutation(len(companies))
    tiebreak = shuffle[rows]
    pairs = rome_pairs(companies.naf, refs, rows)
    _, department_index = np.unique(companies.department, return_inverse=True)
    groups = department_index[pairs.company].astype(np.int64) * len(pairs.codes) + pairs.rome
    best = best_shares(companies.naf, refs)
    showable = rows[best[rows] > 0]
    reference = predicted.get(chosen, next(iter(predicted.values())))
    shown_count = int((rome_score(reference[showable] * best[showable]) >= MIN_ROME_SCORE).sum())
    out = {}
    for name, mu_all in predicted.items():
        mu = mu_all[rows]
        top_k = grouped_top_k(groups, mu_all[pairs.company] * pairs.share, y_all[pairs.company] > 0, k,
                              shuffle[pairs.company])
        shown = top_companies(mu_all[showable] * best[showable], y_all[showable] > 0, shown_count,
                              shuffle[showable])
        out[name] = (rows.size, int((y > 0).sum()), top_k, shown, top_share(y, mu, tiebreak),
                     poisson_deviance(y, mu), calibration_deciles(y, mu, tiebreak))
    return out


def run_backtest(history: History, refs: Referentials, cutoffs: Sequence[int] | None = None,
                 models: Sequence[str] = tuple(MODELS), k: int = K,
                 log: Callable[[str], None] | None = None) -> list[BacktestRow]:
    """Fit every model on the months before each cutoff and judge its next HORIZON months."""
    results = []
    for cutoff in cutoffs or default_cutoffs(history.n_months):
        known = history.truncated(cutoff)
        predicted, timings = {}, {}
        for name in models:
            started = time.perf_counter()
            model = make_model(name).fit(known)
            fitted = time.perf_counter()
            predicted[name] = model.predict(known)
            timings[name] = (fitted - started, time.perf_counter() - fitted)
            if log:
                log(f"cutoff {history.label(cutoff)}: {name} fitted in {timings[name][0]:.1f} s, "
                    f"scored in {timings[name][1]:.1f} s")
        window = f"{history.label(cutoff)}..{history.label(cutoff + HORIZON - 1)}"
        for name, (companies, hirers, top_k, shown, share, deviance, deciles) in evaluate(
                history, refs, cutoff, predicted, k).items():
            results.append(BacktestRow(name, cutoff, window, companies, hirers, top_k, shown, share, deviance,
                                       deciles, *timings[name]))
    return results


def _values(row: BacktestRow) -> tuple[float, ...]:
    return (row.top_k.precision, row.top_k.recall, row.shown.precision, row.shown.recall, row.top10_share,
            row.deviance, row.cal_error, row.ratio, row.fit_seconds, row.predict_seconds)


def format_table(rows: Sequence[BacktestRow], chosen: str = CHOSEN_MODEL, k: int = K) -> str:
    """The metrics table: one line per (cutoff, model), then the mean over cutoffs; `*` marks the chosen model."""
    header = (f"{'window':<17} {'model':<14} {'P@' + str(k):>6} {'R@' + str(k):>6} {'P@shown':>7} {'R@shown':>7} "
              f"{'top10%':>6} {'deviance':>8} {'cal.err':>7} {'pred/obs':>8} {'fit s':>6} {'score s':>7}")
    lines = [header, "-" * len(header)]

    def line(window: str, name: str, values: Sequence[float]) -> str:
        mark = "*" if name == chosen else " "
        p, r, ps, rs, share, deviance, cal, ratio, fit, score = values
        return (f"{window:<17} {mark}{name:<13} {p:6.3f} {r:6.3f} {ps:7.3f} {rs:7.3f} {share:6.3f} {deviance:8.4f} "
                f"{cal:7.3f} {ratio:8.3f} {fit:6.1f} {score:7.1f}")

    for row in rows:
        lines.append(line(row.window, row.model, _values(row)))
    lines.append("-" * len(header))
    for name in dict.fromkeys(row.model for row in rows):
        lines.append(line("mean", name, np.mean([_values(row) for row in rows if row.model == name], axis=0).tolist()))
    lines.append("")
    for window in dict.fromkeys(row.window for row in rows):
        first = next(row for row in rows if row.window == window)
        lines.append(f"{window}: {first.companies} companies judged, {first.hirers} hired an apprentice; "
                     f"{first.top_k.groups} (département, ROME) groups with ≥ {k} candidates; "
                     f"{first.shown.k} companies shown")
    lines.append("* = chosen model")
    return "\n".join(lines)


def format_deciles(rows: Sequence[BacktestRow]) -> str:
    """Calibration by decile of each model at the last cutoff: mean predicted vs observed hires per company."""
    if not rows:
        return ""
    last = max(row.cutoff for row in rows)
    lines = [f"calibration by decile of prediction, window {next(r.window for r in rows if r.cutoff == last)} "
             "(mean predicted / observed apprenticeship hires per company, lowest decile first)"]
    for row in (r for r in rows if r.cutoff == last):
        cells = " ".join(f"{p:.3f}/{o:.3f}" for p, o, _ in row.calibration.tolist())
        lines.append(f"{row.model:<14} {cells}")
    return "\n".join(lines)
