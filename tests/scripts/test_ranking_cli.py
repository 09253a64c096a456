"""`lba ranking evaluate|compare` on a small demo index: CI refuses a deliberately worse weights file."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.referentials import Referentials
from app.search.embedded import EmbeddedEngine
from scripts import demo_data, demo_index
from scripts.cli import main

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "ranking" / "weights.toml"
WORSE = ROOT / "ranking" / "examples" / "worse.toml"


@pytest.fixture(scope="module")
def demo_index_dir(tmp_path_factory: pytest.TempPathFactory, refs: Referentials) -> Path:
    """The small demo scale (the judged set's own data), indexed into a fresh embedded engine."""
    root = tmp_path_factory.mktemp("ranking-demo")
    demo_data.generate(refs, root / "demo", "small", seed=42, today=date.today())
    engine = EmbeddedEngine(root / "index")
    demo_index.index_demo(engine, refs, root / "demo")
    engine.close()
    return root / "index"


def _invoke(args: list[str], index: Path):
    return CliRunner().invoke(main, args, env={"LBA_INDEX_DIR": str(index), "SEARCH_ENGINE": "embedded"})


def test_compare_fails_the_worse_weights_against_the_shipped_ones(demo_index_dir: Path) -> None:
    result = _invoke(["ranking", "compare", str(SHIPPED), str(WORSE)], demo_index_dir)
    print(result.output)  # the note in the CI log
    assert result.exit_code == 1, result.output
    assert "FAIL: the candidate loses" in result.output
    assert "sign test p" in result.output and "losses:" in result.output


def test_compare_of_the_shipped_weights_with_themselves_passes(demo_index_dir: Path) -> None:
    result = _invoke(["ranking", "compare", str(SHIPPED), str(SHIPPED)], demo_index_dir)
    assert result.exit_code == 0, result.output
    assert "wins 0, losses 0, ties 66" in result.output


def test_evaluate_prints_every_metric(demo_index_dir: Path) -> None:
    result = _invoke(["ranking", "evaluate", "--weights", str(SHIPPED), "--engine", "embedded", "--json"],
                     demo_index_dir)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["queries"] == 66
    assert set(summary) >= {"ndcg@10", "mrr", "precision@10", "coverage"}
    assert 0 < summary["ndcg@10"] <= 1 and set(summary["coverage"]) == {"company", "formation", "offer"}


def test_a_malformed_weights_file_is_refused_with_its_line(demo_index_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("distance = 0.3\ntext = = 2\n")
    result = _invoke(["ranking", "evaluate", "--weights", str(bad)], demo_index_dir)
    assert result.exit_code == 1 and "line 2" in result.output
