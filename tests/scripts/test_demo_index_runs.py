"""`lba index demo` records each index it builds as a run of its job, with the breakdown the statistics read."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

from app.config import Settings
from app.referentials import Referentials
from app.referentials.regions import get_regions
from app.search.embedded import EmbeddedEngine
from app.services.statistics import StatisticsService
from app.store import get_store, upgraded_store
from indexers.runs import recent_runs
from scripts import demo_data
from scripts.cli import index_demo_files


def test_the_demo_indexing_is_recorded_with_its_breakdown(tmp_path: Path, refs: Referentials) -> None:
    demo = tmp_path / "demo" / "small"
    demo_data.generate(refs, demo, "small", seed=3, today=date.today(),
                       counts={"companies": 120, "offers": 90, "formations": 60})
    settings = replace(Settings.from_env({}), index_dir=str(tmp_path / "index"),
                       database_url=f"sqlite:///{tmp_path / 'lba.sqlite'}")
    upgraded_store(settings.database_url)
    index_demo_files(settings, demo)
    store = get_store(settings.database_url)
    runs = {run["job"]: run for run in recent_runs(store)}
    assert set(runs) == {"offers", "formations", "recruiters"} and all(r["outcome"] == "success"
                                                                       for r in runs.values())
    engine = EmbeddedEngine(tmp_path / "index")
    try:
        figures = StatisticsService(store, engine, lambda: datetime.now(timezone.utc),
                                    regions=lambda: get_regions(refs.data_dir)).figures()
    finally:
        engine.close()
    by_source = {row["kind"]: row["documents"] for row in figures["searchable_breakdown"]["by_source"]}
    assert by_source == figures["searchable"] and all(by_source.values())
    assert runs["formations"]["indexed_count"] == by_source["formation"]
    for kind in ("formation", "offer", "company"):
        assert sum(row[kind] for row in figures["searchable_breakdown"]["by_region"]) == by_source[kind]


def test_the_demo_indexing_of_a_fresh_machine_finishes_without_a_migrated_store(tmp_path: Path, refs: Referentials,
                                                                              capsys) -> None:
    """Before any `lba db upgrade`: the index is built and marked, the runs are not recorded, nothing raises."""
    demo = tmp_path / "demo" / "small"
    demo_data.generate(refs, demo, "small", seed=3, today=date.today(),
                       counts={"companies": 40, "offers": 30, "formations": 20})
    settings = replace(Settings.from_env({}), index_dir=str(tmp_path / "index"),
                       database_url=f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    index_demo_files(settings, demo)
    out = capsys.readouterr().out
    assert "store not migrated" in out and "indexed in" in out
    engine = EmbeddedEngine(tmp_path / "index")
    try:
        assert engine.stats()["offer"]["documents"] > 0, engine.stats()
    finally:
        engine.close()
