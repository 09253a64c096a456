"""The weekly hidden-market job: read the history, fit the chosen model, score, split per ROME, write the file.

The scheduler calls `run_weekly_prediction` once a week (La bonne alternance refreshes its
predicted recruiters on Sundays); `scripts/predict_recruiters.py` runs it once from the shell.
The company index is then rebuilt from the file by the predicted-recruiters importer.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from app.referentials import Referentials
from indexers import stream_items
from indexers.hiring.codes import month_label
from indexers.hiring.features import HORIZON
from indexers.hiring.input_files import load_history
from indexers.hiring.models import CHOSEN_MODEL, make_model
from indexers.hiring.output import MAX_ROMES, MIN_ROME_SCORE, OutputStats, recruiter_items, write_recruiters

log = logging.getLogger(__name__)

#: The new file replaces the old one only if its company count moved by less than this share: a
#: sudden halving or doubling means a broken extract, not a change of the labour market (La Bonne
#: Boite refused a run when the number of scored offices changed by 85 % or more).
MAX_DRIFT = 0.5


class DriftError(RuntimeError):
    """The new file differs too much from the published one; the published file was kept."""


def count_items(path: Path) -> int | None:
    """Items of a published recruiters file, or None when there is none (or it cannot be read)."""
    if not path.is_file():
        return None
    try:
        return sum(1 for _ in stream_items(path))
    except Exception:  # a corrupt previous file must not block a good new one
        log.warning("cannot read the previous recruiters file %s", path, exc_info=True)
        return None


def run_weekly_prediction(companies_path: str | Path, hirings_path: str | Path, out_path: str | Path,
                          refs: Referentials, *, model_name: str = CHOSEN_MODEL, as_of: date | None = None,
                          min_score: float = MIN_ROME_SCORE, max_romes: int = MAX_ROMES,
                          max_drift: float | None = MAX_DRIFT,
                          opted_out: frozenset[str] | set[str] = frozenset(),
                          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fit `model_name` on the whole history, predict the next HORIZON months and write `out_path` atomically.

    Returns the run's statistics (rows read and rejected by reason, months used, timings,
    companies written and excluded by reason). Raises DriftError, leaving the published file in
    place, when the number of companies written moved by more than `max_drift` (None: no check).
    `as_of` (default today) decides which closures are already effective; `opted_out` SIRETs (the
    store's opt-out list) are never written.
    """
    say = progress or log.info
    out = Path(out_path)
    as_of = as_of or date.today()
    started = time.perf_counter()
    history, company_stats, hiring_stats = load_history(companies_path, hirings_path, refs)
    read_seconds = time.perf_counter() - started
    say(f"read {len(history.companies)} companies and {hiring_stats.indexed} hiring rows "
        f"({history.label(0)}..{history.label(history.n_months - 1)}) in {read_seconds:.1f} s")
    model = make_model(model_name)
    fit_started = time.perf_counter()
    model.fit(history)
    fit_seconds = time.perf_counter() - fit_started
    predicted = model.predict(history)
    score_seconds = time.perf_counter() - fit_started - fit_seconds
    say(f"{model_name}: fitted in {fit_seconds:.1f} s, scored in {score_seconds:.1f} s")
    previous = count_items(out) if max_drift is not None else None

    def accept(count: int) -> bool:
        return previous is None or max_drift is None or previous == 0 or abs(count - previous) / previous <= max_drift

    output = OutputStats()
    write_started = time.perf_counter()
    written = write_recruiters(out, recruiter_items(history.companies, predicted, refs, as_of, output, min_score,
                                                    max_romes, opted_out), accept=accept)
    write_seconds = time.perf_counter() - write_started
    stats = {
        "model": model_name,
        "history": {"first_month": history.label(0), "last_month": history.label(history.n_months - 1),
                    "months": history.n_months},
        "predicted_window": f"{month_label(history.last_month + 1)}..{month_label(history.last_month + HORIZON)}",
        "companies_file": company_stats.as_dict(),
        "hirings_file": hiring_stats.as_dict(),
        "output": {**output.as_dict(), "path": str(out), "previous_companies": previous},
        "predicted_hires_total": round(float(predicted.sum()), 1),
        "seconds": {"read": round(read_seconds, 1), "fit": round(fit_seconds, 1), "score": round(score_seconds, 1),
                    "write": round(write_seconds, 1), "total": round(time.perf_counter() - started, 1)},
    }
    if written is None:
        raise DriftError(f"{output.written} companies against {previous} in the published file "
                         f"(more than {max_drift:.0%} change); kept {out}")
    say(f"wrote {written} companies ({output.pairs} company×ROME pairs) to {out}")
    return stats
