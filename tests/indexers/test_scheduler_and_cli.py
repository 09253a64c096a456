"""The scheduler's jobs and triggers, the `lba jobs` commands, URL sources and the referentials refresh."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from app.config import Settings
from app.referentials import ReferenceDataError, Referentials
from app.search.embedded import EmbeddedEngine
from app.store import get_store, upgraded_store
from indexers import referentials as referentials_refresh
from indexers.job_settings import JobSettings
from indexers.pipeline import RunResult, run_job
from indexers.runs import recent_runs
from indexers.scheduler import SCHEDULES, TIMEZONE, build_scheduler
from indexers.sources import SourceError, local_copy
from scripts.cli import main
from tests.indexers.ft_server import file_server

PARIS = ZoneInfo(TIMEZONE)
SAMPLES = Path(Settings.from_env().data_dir) / "samples"


@pytest.fixture()
def job_env(tmp_path: Path) -> Settings:
    env = replace(Settings.from_env({}), index_dir=str(tmp_path / "index"),
                  database_url=f"sqlite:///{tmp_path / 'lba.sqlite'}")
    upgraded_store(env.database_url)  # the jobs refuse a store that `lba db upgrade` has not migrated
    return env


# ----- scheduler -------------------------------------------------------------------------------------
def test_scheduler_runs_each_job_on_its_paris_time_cron() -> None:
    calls: list[str] = []
    scheduler = build_scheduler(blocking=False, run=lambda name: calls.append(name) or RunResult(name, "success", 0))
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"offers", "formations", "recruiters", "deposited", "referentials", "hiring", "exports"}
    start = datetime(2026, 3, 25, 12, 0, tzinfo=PARIS)  # a Wednesday, before the switch to summer time

    def fire(name: str) -> datetime:
        return jobs[name].trigger.get_next_fire_time(None, start)

    assert fire("offers") == datetime(2026, 3, 26, 1, 0, tzinfo=PARIS)
    assert fire("formations") == datetime(2026, 3, 26, 2, 15, tzinfo=PARIS)
    assert fire("recruiters") == datetime(2026, 3, 29, 10, 0, tzinfo=PARIS)  # Sunday
    assert fire("referentials").weekday() == 6
    assert fire("exports") == datetime(2026, 3, 26, 3, 0, tzinfo=PARIS)
    later = jobs["deposited"].trigger.get_next_fire_time(start, start)
    assert (later - start).total_seconds() == 600
    # 02:15 does not exist the night clocks go forward (02:00 → 03:00): the import still runs that night.
    spring = jobs["formations"].trigger.get_next_fire_time(None, datetime(2026, 3, 28, 12, 0, tzinfo=PARIS))
    assert spring.date().isoformat() == "2026-03-29"
    assert scheduler._job_defaults["max_instances"] == 1 and scheduler._job_defaults["coalesce"] is True
    jobs["offers"].func()
    assert calls == ["offers"]
    assert {s.job for s in SCHEDULES} == set(jobs)


# ----- CLI -----------------------------------------------------------------------------------------
def _env(job_env: Settings, **extra: str) -> dict[str, str]:
    return {"LBA_INDEX_DIR": job_env.index_dir, "DATABASE_URL": job_env.database_url, "SEARCH_ENGINE": "embedded",
            "LBA_FT_CLIENT_ID": "", "LBA_FT_CLIENT_SECRET": "", **extra}


def test_jobs_run_and_runs_from_the_command_line(job_env: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    catalogue = SAMPLES / "catalogue_formation_item_lba_mock_2022.json"
    items = tmp_path / "catalogue.json"
    items.write_text("[" + catalogue.read_text(encoding="utf-8") + ", 17]", encoding="utf-8")
    env = _env(job_env, LBA_CATALOGUE_SOURCE=str(items))
    ran = runner.invoke(main, ["jobs", "run", "formations"], env=env)
    assert ran.exit_code == 0, ran.output
    assert "formations : succès — lus 2, indexés 1, rejetés 1 (not an object : 1)" in ran.output
    missing = runner.invoke(main, ["jobs", "run", "formations"], env={**env, "LBA_CATALOGUE_SOURCE": "/nope.json"})
    assert missing.exit_code == 1 and "échec" in missing.output and "/nope.json" in missing.output
    listed = runner.invoke(main, ["jobs", "runs", "--json", "--limit", "5"], env=env)
    runs = json.loads(listed.output)
    assert [r["outcome"] for r in runs] == ["failed", "success"]
    assert runs[1]["rejected"] == {"not an object": 1} and runs[1]["indexed_count"] == 1
    table = runner.invoke(main, ["jobs", "runs"], env=env)
    assert "formations" in table.output and "succès" in table.output and "échec" in table.output
    unknown = runner.invoke(main, ["jobs", "run", "nope"], env=env)
    assert unknown.exit_code != 0 and "tâche inconnue" in unknown.output


def test_opt_out_command_records_the_company_and_removes_it_at_once(job_env: Settings, refs: Referentials) -> None:
    runner = CliRunner()
    env = _env(job_env, LBA_RECRUITERS_SOURCE=str(SAMPLES / "lba_recruteurs_algo_output.json"))
    assert runner.invoke(main, ["jobs", "run", "recruiters"], env=env).exit_code == 0
    engine = EmbeddedEngine(job_env.index_dir)
    both = {"80841382700011", "13002526500013"}
    assert set(engine.get_many("company", sorted(both))) == both
    added = runner.invoke(main, ["jobs", "opt-out", "add", "808 413 827 00011", "--reason", "demande"], env=env)
    assert added.exit_code == 0 and "retiré de l’index" in added.output
    assert engine.get_many("company", ["80841382700011"]) == {}  # gone at once, before any import
    listing = runner.invoke(main, ["jobs", "opt-out", "list"], env=env)
    assert "80841382700011" in listing.output and "demande" in listing.output
    assert runner.invoke(main, ["jobs", "run", "recruiters", "--force"], env=env).exit_code == 0
    assert engine.get_many("company", ["80841382700011"]) == {}  # and never indexed again
    assert runner.invoke(main, ["jobs", "opt-out", "add", "123"], env=env).exit_code == 2
    engine.close()


# ----- sources by URL ----------------------------------------------------------------------------------
def test_a_catalogue_served_over_http_is_downloaded_then_streamed(job_env: Settings, refs: Referentials) -> None:
    item = json.loads((SAMPLES / "catalogue_formation_item_lba_mock_2022.json").read_text(encoding="utf-8"))
    body = json.dumps([item, {**item, "cle_ministere_educatif": "autre"}, item]).encode()
    with file_server({"/formations.json": body}) as url:
        settings = replace(JobSettings.from_env(job_env, {}), catalogue_source=f"{url}/formations.json")
        engine = EmbeddedEngine(job_env.index_dir)
        result = run_job("formations", settings=job_env, job_settings=settings, engine=engine, refs=refs)
        assert result.outcome == "success" and result.indexed == 2 and result.rejected == {"duplicate key": 1}
        missing = replace(settings, catalogue_source=f"{url}/gone.json")
        failed = run_job("formations", settings=job_env, job_settings=missing, engine=engine, refs=refs)
        assert failed.outcome == "failed" and "404" in (failed.error or "")
        assert engine.stats()["formation"]["documents"] == 2  # the failed download changed nothing
        engine.close()


def test_local_copy_of_a_missing_file_fails_clearly() -> None:
    with pytest.raises(SourceError, match="does not exist"):
        with local_copy("/no/such/file.json"):
            pass


# ----- referentials ----------------------------------------------------------------------------------
def test_referentials_job_validates_the_data_directory(job_env: Settings, refs: Referentials) -> None:
    result = run_job("referentials", settings=job_env, job_settings=JobSettings.from_env(job_env, {}))
    assert result.outcome == "success"
    assert result.details["counts"]["communes"] == len(refs.communes) == 35014
    assert result.details["counts"]["rome_codes"] == 1584
    assert recent_runs(get_store(job_env.database_url), job="referentials")[0]["outcome"] == "success"


def test_referentials_downloaded_from_urls_are_validated_then_switched_to(job_env: Settings, tmp_path: Path) -> None:
    data_dir = Path(job_env.data_dir)
    communes = (data_dir / "communes" / "communes.csv").read_bytes()
    lines = communes.splitlines(keepends=True)
    halved = b"".join(lines[:len(lines) // 3])
    broken = communes.replace(b"75056,Paris", b"7505X,Paris", 1)
    target = tmp_path / "referentials"
    with file_server({"/communes.csv": communes, "/halved.csv": halved, "/broken.csv": broken}) as url:
        urls = referentials_refresh.parse_urls(f"communes/communes.csv={url}/communes.csv")
        result = referentials_refresh.refresh(data_dir, target, urls)
        assert result.data_dir == target / "current" and (target / "current").is_symlink()
        assert result.counts["communes"] == 35014 and result.downloaded == ["communes/communes.csv"]
        in_use = (target / "current").resolve()
        # A file two thirds shorter loads fine but is refused by the threshold; the current directory stays.
        with pytest.raises(referentials_refresh.RefreshRefused, match="communes"):
            referentials_refresh.refresh(data_dir, target, {"communes/communes.csv": f"{url}/halved.csv"})
        with pytest.raises(ReferenceDataError, match="communes.csv"):
            referentials_refresh.refresh(data_dir, target, {"communes/communes.csv": f"{url}/broken.csv"})
        assert (target / "current").resolve() == in_use
        assert not list(target.glob("*.staging"))
        # Through the job: a refusal is recorded as such.
        job_settings = replace(JobSettings.from_env(job_env, {}), referentials_dir=str(target),
                               referentials_urls=f"communes/communes.csv={url}/halved.csv")
        refused = run_job("referentials", settings=job_env, job_settings=job_settings)
        assert refused.outcome == "refused_threshold" and refused.exit_code == 2


def test_referentials_urls_must_name_paths_inside_the_data_directory() -> None:
    assert referentials_refresh.parse_urls("rome/rome_codes.csv=https://example.org/r.csv, "
                                           "naf/naf_rev2.csv=http://h/n.csv") == {
        "rome/rome_codes.csv": "https://example.org/r.csv", "naf/naf_rev2.csv": "http://h/n.csv"}
    for bad in ("../etc/passwd=https://h/x", "/abs.csv=https://h/x", "rome.csv", "rome.csv=ftp://h/x"):
        with pytest.raises(ValueError):
            referentials_refresh.parse_urls(bad)
