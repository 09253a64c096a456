"""The one-way flow of the layers, checked by import-linter's contracts in setup.cfg ([importlinter])."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_layer_reaches_up() -> None:
    # The console script beside this interpreter, so the venv's import-linter (requirements-dev.txt) runs.
    command = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([str(command), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
