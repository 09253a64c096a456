"""Hidden market: predict from past hirings which companies will hire an apprentice, per job, and write them out."""
from __future__ import annotations

from typing import Any

__all__ = ["run_weekly_prediction"]


def __getattr__(name: str) -> Any:
    # Lazy: reading the input files (input_files.py) must not pay for importing scikit-learn.
    if name == "run_weekly_prediction":
        from indexers.hiring.weekly import run_weekly_prediction

        return run_weekly_prediction
    raise AttributeError(name)
