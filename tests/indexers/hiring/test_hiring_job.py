"""The weekly `hiring` job: runs the prediction under the pipeline's lock and records the run."""
from __future__ import annotations

from dataclasses import replace

from app.store import upgraded_store
from indexers import ImportStats
from indexers.job_settings import JobSettings
from indexers.pipeline import run_job
from indexers.recruiters import iter_documents
from indexers.scheduler import SCHEDULES
from scripts import demo_hiring


def test_weekly_job_writes_a_file_the_recruiters_import_reads(small_dir, refs, settings, tmp_path):
    out = tmp_path / "recruteurs_lba.json"
    job_settings = JobSettings(hiring_companies=str(small_dir / demo_hiring.COMPANIES_FILE),
                               hiring_history=str(small_dir / demo_hiring.HIRINGS_FILE),
                               recruiters_source=str(out))
    store = upgraded_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    result = run_job("hiring", settings=replace(settings, index_dir=str(tmp_path / "index")),
                     job_settings=job_settings, store=store, refs=refs)
    assert result.outcome == "success", result.error
    assert result.indexed > 0 and result.details["model"]
    stats = ImportStats("recruiters")
    documents = list(iter_documents(out, refs, stats))
    assert len(documents) == result.indexed and stats.rejected_total == 0


def test_weekly_job_without_a_history_fails_with_a_clear_reason(refs, settings, tmp_path):
    store = upgraded_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    result = run_job("hiring", settings=settings, job_settings=JobSettings(recruiters_source=str(tmp_path / "x.json")),
                     store=store, refs=refs)
    assert result.outcome == "failed" and "LBA_HIRING_COMPANIES" in result.error


def test_hiring_runs_before_the_recruiters_import():
    times = {s.job: s.trigger for s in SCHEDULES}
    assert times["hiring"]["day_of_week"] == times["recruiters"]["day_of_week"]
    assert times["hiring"]["hour"] < times["recruiters"]["hour"]
