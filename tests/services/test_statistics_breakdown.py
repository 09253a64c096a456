"""Searchable documents by source and region: what the index runs published and the live deposits, recounted here."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.config import Settings
from app.referentials import Referentials
from app.referentials.regions import get_regions
from app.search.embedded import EmbeddedEngine
from app.services.deposited_offers import save_deposited_offer
from app.services.statistics import StatisticsService
from app.store import company_opt_outs, deposited_offers, get_store, upgraded_store
from indexers import ImportStats, catalogue, france_travail, recruiters
from indexers.job_settings import JobSettings
from indexers.pipeline import run_job
from scripts import demo_data

TINY = {"companies": 240, "offers": 240, "formations": 120}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, refs: Referentials) -> Path:
    out = tmp_path_factory.mktemp("stats-demo") / "small"
    demo_data.generate(refs, out, "small", seed=17, today=date.today(), counts=TINY)
    return out


def region_of(refs: Referentials, place: dict[str, Any]) -> str:
    """The region of a place through the communes table (not the departments file the service reads)."""
    commune = refs.communes.get(place.get("insee") or "") if place.get("insee") else None
    if commune is None and place.get("postcode"):
        candidates = refs.communes.for_postcode(place["postcode"])
        commune = candidates[0] if candidates else None
    if commune is None and place.get("department"):
        commune = next((c for c in refs.communes if c.department == place["department"]), None)
    return commune.region if commune else ""


def mapped(module: Any, path: Path, refs: Referentials) -> dict[str, dict[str, Any]]:
    """The documents of a source file by id (a later one replaces an earlier, as in the index)."""
    return {doc["id"]: doc for doc in module.iter_documents(path, refs, ImportStats(module.SOURCE))}


def deposit(refs: Referentials, insee: str, **changes: Any) -> dict[str, Any]:
    commune = refs.communes.get(insee)
    assert commune is not None
    values = dict(title="Apprenti boulanger (H/F)", romes=["D1102"], contract_types=["apprentissage"],
                  latitude=commune.latitude, longitude=commune.longitude, city=commune.name,
                  postcode=commune.postcodes[0], insee=commune.insee, department=commune.department,
                  company_name="Boulangerie des statistiques", company_siret="80841382700011", status="active",
                  expires_at=datetime.now(timezone.utc) + timedelta(days=30), apply_email="stats@example.org")
    values.update(changes)
    return values


def test_searchable_by_source_and_region_equal_counts_made_from_the_documents_and_the_store(
        store_url: str, tmp_path: Path, demo_dir: Path, refs: Referentials) -> None:
    settings = replace(Settings.from_env({}), index_dir=str(tmp_path / "index"), database_url=store_url,
                       demo_dir=str(demo_dir.parent), demo_scale="small", demo=True)
    job_settings = JobSettings.from_env(settings, {})
    store = get_store(store_url)
    past = datetime.now(timezone.utc) - timedelta(days=1)
    for values in (deposit(refs, "69123"), deposit(refs, "2A004"), deposit(refs, "97411", department=""),
                   deposit(refs, "75056", expires_at=past), deposit(refs, "13055", status="pending"),
                   deposit(refs, "33063", status="cancelled")):
        save_deposited_offer(store, values)
    companies = mapped(recruiters, demo_dir / "recruteurs_lba.json", refs)
    opted_out = sorted(companies)[:2]
    with store.begin() as conn:
        conn.execute(sa.insert(company_opt_outs), [{"siret": s, "reason": "test", "created_at": past}
                                                   for s in opted_out])
    engine = EmbeddedEngine(tmp_path / "index")
    try:
        for job in ("formations", "offers", "recruiters"):
            result = run_job(job, settings=settings, job_settings=job_settings, store=store, engine=engine,
                             refs=refs)
            assert result.outcome == "success", result.error
        now = datetime.now(timezone.utc)
        figures = StatisticsService(store, engine, lambda: now,
                                    regions=lambda: get_regions(refs.data_dir)).figures()
        indexed = {kind: stats["documents"] for kind, stats in engine.stats().items()}
    finally:
        engine.close()

    # Counted here: the documents of each source file, the store's live deposits, regions via the communes.
    documents = {"formation": mapped(catalogue, demo_dir / "catalogue_formations.json", refs),
                 "offer": mapped(france_travail, demo_dir / "offres_france_travail.json", refs),
                 "company": {k: v for k, v in companies.items() if k not in opted_out}}
    want: dict[str, Counter] = {kind: Counter((d["source"], region_of(refs, d["place"])) for d in docs.values())
                                for kind, docs in documents.items()}
    with store.connect() as conn:
        live = conn.execute(sa.select(deposited_offers).where(deposited_offers.c.status == "active")).mappings().all()
    live_places = [dict(row) for row in live if row["expires_at"].replace(tzinfo=timezone.utc) > now]
    assert len(live_places) == 3
    want["offer"].update(("deposited", region_of(refs, place)) for place in live_places)

    breakdown = figures["searchable_breakdown"]
    got_sources = {(row["kind"], row["source"]): row["documents"] for row in breakdown["by_source"]}
    want_sources: Counter = Counter()
    for kind, counts in want.items():
        for (source, _), n in counts.items():
            want_sources[(kind, source)] += n
    assert got_sources == dict(want_sources)
    assert set(got_sources) == {("formation", "catalogue"), ("offer", "france_travail"), ("offer", "deposited"),
                                ("company", "recruteurs_lba")}
    got_regions = {(kind, row["region"]): row[kind] for row in breakdown["by_region"] for kind in want if row[kind]}
    want_regions: Counter = Counter()
    for kind, counts in want.items():
        for (_, region), n in counts.items():
            want_regions[(kind, region)] += n
    assert got_regions == dict(want_regions)
    assert ("offer", "94") in got_regions and ("offer", "04") in got_regions  # Corsica and La Réunion
    names = {row["region"]: row["name"] for row in breakdown["by_region"]}
    assert names["84"] == "Auvergne-Rhône-Alpes" and names["94"] == "Corse"
    # What the published indexes hold: every document of the runs, deposits included (the offers run indexed them).
    for kind in want:
        assert sum(n for (k, _), n in got_sources.items() if k == kind) == indexed[kind] == figures["searchable"][kind]
    assert all(breakdown["counted_at"][kind] for kind in want)


def test_a_failed_run_leaves_the_last_published_breakdown(store_url: str, tmp_path: Path, demo_dir: Path,
                                                          refs: Referentials) -> None:
    settings = replace(Settings.from_env({}), index_dir=str(tmp_path / "index"), database_url=store_url,
                       demo_dir=str(demo_dir.parent), demo_scale="small", demo=True)
    job_settings = JobSettings.from_env(settings, {})
    store = get_store(store_url)
    broken = tmp_path / "cut.json"
    raw = (demo_dir / "catalogue_formations.json").read_bytes()
    broken.write_bytes(raw[:len(raw) // 2])
    engine = EmbeddedEngine(tmp_path / "index")
    try:
        before = StatisticsService(store, engine, lambda: datetime.now(timezone.utc), cache_seconds=0,
                                   regions=lambda: get_regions(refs.data_dir))
        assert before.figures()["searchable_breakdown"] == {
            "counted_at": {"formation": None, "offer": None, "company": None}, "by_source": [], "by_region": []}
        assert run_job("formations", settings=settings, job_settings=job_settings, store=store, engine=engine,
                       refs=refs).outcome == "success"
        first = before.figures()["searchable_breakdown"]
        failed = run_job("formations", settings=settings, job_settings=replace(job_settings,
                                                                               catalogue_source=str(broken)),
                         store=store, engine=engine, refs=refs)
        assert failed.outcome == "failed"
        assert before.figures()["searchable_breakdown"] == first
        count = len(json.loads(raw))
        assert first["by_source"][0]["documents"] == engine.stats()["formation"]["documents"] and count > 0
    finally:
        engine.close()


def test_without_the_regions_files_the_import_still_publishes_and_the_statistics_still_answer(
        tmp_path: Path, demo_dir: Path, refs: Referentials) -> None:
    from app.referentials import load_referentials

    # A data directory like the real one but without communes/departements.csv (links, not copies).
    data = tmp_path / "data"
    data.mkdir()
    for entry in refs.data_dir.iterdir():
        if entry.name != "communes":
            (data / entry.name).symlink_to(entry.resolve())
    (data / "communes").mkdir()
    for entry in (refs.data_dir / "communes").iterdir():
        if entry.name != "departements.csv":
            (data / "communes" / entry.name).symlink_to(entry.resolve())
    partial = load_referentials(data)
    url = f"sqlite:///{tmp_path / 'lba.sqlite'}"
    settings = replace(Settings.from_env({}), index_dir=str(tmp_path / "index"), database_url=url,
                       demo_dir=str(demo_dir.parent), demo_scale="small", demo=True, data_dir=str(data))
    store = upgraded_store(url)
    engine = EmbeddedEngine(tmp_path / "index")
    try:
        result = run_job("formations", settings=settings, job_settings=JobSettings.from_env(settings, {}),
                         store=store, engine=engine, refs=partial)
        assert result.outcome == "success" and result.indexed == engine.stats()["formation"]["documents"] > 0
        assert "departements.csv" in result.details["breakdown_skipped"] and "breakdown" not in result.details
        save_deposited_offer(store, deposit(refs, "69123"))
        figures = StatisticsService(store, engine, lambda: datetime.now(timezone.utc),
                                    regions=lambda: get_regions(data)).figures()
    finally:
        engine.close()
    breakdown = figures["searchable_breakdown"]
    assert breakdown["counted_at"]["formation"] is None
    assert breakdown["by_source"] == [{"kind": "offer", "source": "deposited", "documents": 1}]
    assert breakdown["by_region"] == [{"region": "", "name": "", "formation": 0, "offer": 1, "company": 0}]
