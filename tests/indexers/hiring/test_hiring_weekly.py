"""The weekly job end to end on the small history: file written, read back by the importer, drift gate."""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from app.referentials import Referentials
from indexers import ImportStats
from indexers.hiring import run_weekly_prediction, weekly as weekly_module
from indexers.hiring.models import GradientBoosting, make_model
from indexers.hiring.weekly import DriftError
from indexers.recruiters import iter_documents
from scripts import demo_hiring

AS_OF = date(2026, 11, 28)


@pytest.fixture(scope="module")
def weekly(small_dir: Path, refs: Referentials, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("weekly") / "recruteurs_lba.json"
    with pytest.MonkeyPatch.context() as patch:
        # The chosen model with fewer trees: the wiring is under test here, not the model's quality.
        patch.setattr(weekly_module, "make_model",
                      lambda name: GradientBoosting(max_iter=30) if name == "gbm_poisson" else make_model(name))
        stats = run_weekly_prediction(small_dir / demo_hiring.COMPANIES_FILE, small_dir / demo_hiring.HIRINGS_FILE,
                                      out, refs, as_of=AS_OF)
    return out, stats


def test_the_job_reports_what_it_did(weekly: tuple[Path, dict]) -> None:
    _, stats = weekly
    assert stats["model"] == "gbm_poisson"
    assert stats["history"] == {"first_month": "2022-11", "last_month": "2026-10", "months": 48}
    assert stats["predicted_window"] == "2026-11..2027-04"
    output = stats["output"]
    assert output["companies"] == 5000
    assert output["written"] + sum(output["excluded"].values()) == 5000
    assert {"closed", "opted out", "below threshold"} <= set(output["excluded"])
    assert 0 < output["written"] < 5000 and output["rome_pairs"] >= output["written"]
    assert set(stats["seconds"]) == {"read", "fit", "score", "write", "total"}


def test_the_file_is_read_by_the_importer_without_rejection(weekly: tuple[Path, dict], refs: Referentials,
                                                            small_dir: Path) -> None:
    out, stats = weekly
    import_stats = ImportStats("recruteurs_lba")
    documents = list(iter_documents(out, refs, import_stats))
    assert import_stats.rejected_total == 0 and len(documents) == stats["output"]["written"]
    with open(small_dir / demo_hiring.COMPANIES_FILE, encoding="utf-8") as handle:
        rows = {row["siret"]: row for row in csv.DictReader(handle)}
    for document in documents:
        row = rows[document["id"]]
        assert row["opt_out"] == "0" and not (row["closed_on"] and row["closed_on"] <= AS_OF.isoformat())
        assert document["rome_scores"] and min(document["rome_scores"].values()) >= 10.0


def test_a_file_far_smaller_than_the_published_one_is_refused(weekly: tuple[Path, dict], small_dir: Path,
                                                               refs: Referentials, tmp_path: Path) -> None:
    out, _ = weekly
    published = out.read_bytes()
    lines = (small_dir / demo_hiring.COMPANIES_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    shrunk = tmp_path / "companies.csv"
    shrunk.write_text("".join(lines[:1001]), encoding="utf-8")  # a fifth of the companies: a broken extract
    with pytest.raises(DriftError):
        run_weekly_prediction(shrunk, small_dir / demo_hiring.HIRINGS_FILE, out, refs, as_of=AS_OF,
                              model_name="lbb_baseline")
    assert out.read_bytes() == published
