"""The hiring predictor excludes the store's opt-out list, the one the recruiters import excludes too."""
from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from app.referentials import Referentials
from app.store import company_opt_outs, upgraded_store
from indexers.hiring.input_files import read_companies
from indexers.hiring.output import exclusion_reasons
from indexers.job_settings import JobSettings
from indexers.pipeline import run_job
from scripts import demo_hiring
from tests.indexers.hiring.conftest import company, siret, write_files


def test_opted_out_sirets_are_excluded_like_the_files_own_flag(tmp_path: Path, refs: Referentials) -> None:
    rows = [company(1), company(2), company(3, opt_out="1"), company(4, closed_on="2026-01-01")]
    companies = read_companies(write_files(tmp_path, rows, [])[0], refs)
    reasons = exclusion_reasons(companies, refs, date(2026, 11, 1), {siret(2), siret(4)})
    assert reasons == ["", "opted out", "opted out", "closed"]


def test_the_weekly_job_reads_the_stores_opt_out_list(small_dir: Path, refs: Referentials, settings,
                                                      tmp_path: Path) -> None:
    with (small_dir / demo_hiring.COMPANIES_FILE).open(encoding="utf-8") as handle:
        file_rows = list(csv.DictReader(handle))
    today = date.today().isoformat()  # the job's as_of: closures up to today come first
    own_flags = sum(row["opt_out"] == "1" and not (row["closed_on"] and row["closed_on"] <= today) for row in file_rows)
    chosen = {row["siret"] for row in file_rows[:300] if row["opt_out"] != "1" and not row["closed_on"]}
    store = upgraded_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    with store.begin() as conn:
        conn.execute(sa.insert(company_opt_outs), [
            {"siret": s, "reason": "demande de l'entreprise", "created_at": datetime.now(timezone.utc)}
            for s in chosen])
    out = tmp_path / "recruteurs_lba.json"
    result = run_job("hiring", settings=replace(settings, index_dir=str(tmp_path / "index")), store=store,
                     refs=refs, job_settings=JobSettings(hiring_companies=str(small_dir / demo_hiring.COMPANIES_FILE),
                                                         hiring_history=str(small_dir / demo_hiring.HIRINGS_FILE),
                                                         recruiters_source=str(out)))
    assert result.outcome == "success", result.error
    written = {item["siret"] for item in json.loads(out.read_text(encoding="utf-8"))}
    assert written and not written & chosen
    assert result.details["output"]["excluded"]["opted out"] == own_flags + len(chosen)
