"""Fit the chosen hiring model on the whole history, score, split per ROME and write the predicted-recruiters file.

Usage: python -m scripts.predict_recruiters [--scale small|national | --dir DIR] [--out FILE]
       [--model gbm_poisson] [--as-of YYYY-MM-DD] [--no-drift-check]

This is one run of the weekly job (indexers.hiring.run_weekly_prediction). The file (default
DIR/recruteurs_lba.json) is in the format the predicted-recruiters importer reads.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from app.config import Settings
from app.referentials import get_referentials
from indexers.hiring.models import CHOSEN_MODEL, MODELS
from indexers.hiring.weekly import run_weekly_prediction
from scripts import demo_hiring
from scripts.backtest_hiring import history_dir

OUTPUT_FILE = "recruteurs_lba.json"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(demo_hiring.SCALES), default="small")
    parser.add_argument("--dir", type=Path, help="directory with companies.csv and hirings.csv")
    parser.add_argument("--out", type=Path, help=f"output file (default DIR/{OUTPUT_FILE})")
    parser.add_argument("--model", choices=sorted(MODELS), default=CHOSEN_MODEL)
    parser.add_argument("--as-of", type=date.fromisoformat, help="date closures are judged at (default today)")
    parser.add_argument("--no-drift-check", action="store_true", help="replace the file whatever its size change")
    args = parser.parse_args(argv)
    refs = get_referentials(Settings.from_env().data_dir)
    directory = history_dir(args.scale, args.dir, refs)
    stats = run_weekly_prediction(directory / demo_hiring.COMPANIES_FILE, directory / demo_hiring.HIRINGS_FILE,
                                  args.out or directory / OUTPUT_FILE, refs, model_name=args.model,
                                  as_of=args.as_of, max_drift=None if args.no_drift_check else 0.5,
                                  progress=lambda text: print(text, file=sys.stderr))
    print(json.dumps(stats, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
