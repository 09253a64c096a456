"""Partner offers in the store (SQLite and PostgreSQL): racing upserts, per-partner counts, the export files."""
from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from app.search.contract import KINDS
from app.search.embedded import EmbeddedEngine
from app.services import offer_exports
from app.services.partner_jobs import PartnerJobs, partner_counts
from app.services.partners import create_key
from app.store import deposited_offers, get_store
from tests.api.test_v3_jobs import body

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def _engine(tmp_path: Path) -> EmbeddedEngine:
    engine = EmbeddedEngine(tmp_path / "index")
    for kind in KINDS:
        with engine.new_generation(kind) as builder:
            builder.add([])
    return engine


def _race(url: str, index: str, partner_id: int, rounds: int, start) -> None:  # type: ignore[no-untyped-def]
    """One process upserting the same partner_job_ids as its twin (its own store connection and refs)."""
    from app.config import Settings
    from app.referentials import get_referentials

    refs = get_referentials(Settings.from_env().data_dir)
    service = PartnerJobs(get_store(url), EmbeddedEngine(Path(index)), refs)
    start.wait()
    for n in range(rounds):
        service.create(partner_id, body(f"race-{n % 5}", title=f"Boulanger {os.getpid()} {n}"),
                       datetime.now(timezone.utc))


def test_concurrent_upserts_from_two_processes_never_fail_nor_duplicate(store_url, tmp_path):
    store = get_store(store_url)
    partner_id, _ = create_key(store, "Jobboard")
    _engine(tmp_path)
    context = multiprocessing.get_context("spawn")  # no connection inherited across processes
    start = context.Barrier(2)
    workers = [context.Process(target=_race, args=(store_url, str(tmp_path / "index"), partner_id, 20, start))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(180)
    assert [worker.exitcode for worker in workers] == [0, 0]
    with store.connect() as conn:
        ids = conn.execute(sa.select(deposited_offers.c.partner_job_id)
                           .where(deposited_offers.c.partner_id == partner_id)).scalars().all()
    assert sorted(ids) == [f"race-{n}" for n in range(5)]
    assert partner_counts(store, datetime.now(timezone.utc)) == {partner_id: {"active": 5, "total": 5}}


@pytest.fixture
def offers(store_url, tmp_path, refs):
    """Four partner offers: live multicast (one France-Travail-supported), not multicast, filled, expired."""
    store = get_store(store_url)
    partner_id, _ = create_key(store, "Jobboard")
    service = PartnerJobs(store, _engine(tmp_path), refs)
    appellation = next(a for a in refs.rome.appellations.values() if a.rome == "D1102")
    ids = {
        "live": service.create(partner_id, body("live", title=appellation.label), NOW),
        "ft": service.create(partner_id, body("ft", title=appellation.label,
                                              publication={"creation": "2026-11-20T08:00:00Z"}), NOW),
        "private": service.create(partner_id, body("private", multicast=False), NOW),
        "filled": service.create(partner_id, body("filled", status="Filled"), NOW),
        "expired": service.create(partner_id, body("expired", publication={
            "creation": "2026-01-01T00:00:00Z", "expiration": "2026-03-01T00:00:00Z"}), NOW),
    }
    with store.begin() as conn:
        conn.execute(sa.update(deposited_offers).where(deposited_offers.c.partner_job_id == "ft")
                     .values(ft_support=True))
    return store, partner_id, ids, appellation


def _export(store, refs, settings, folder: Path, now: datetime = NOW) -> dict:
    return offer_exports.export_offers(store, refs, settings.data_dir, str(folder), "https://lba.example.fr", now)


def test_export_files_content_schema_and_france_travail_layout(offers, refs, settings, tmp_path):
    store, partner_id, ids, appellation = offers
    assert partner_counts(store, NOW) == {partner_id: {"active": 3, "total": 5}}
    folder = tmp_path / "exports"
    counts = _export(store, refs, settings, folder)
    assert counts == {"offers": 2, "france_travail_records": 2}  # multicast only; live only
    feed = json.loads((folder / offer_exports.FEED).read_text(encoding="utf-8"))
    schema = json.loads((folder / offer_exports.FEED_SCHEMA).read_text(encoding="utf-8"))
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(feed)
    assert {job["identifier"]["id"] for job in feed} == {ids["live"], ids["ft"]}
    assert {job["identifier"]["partner_label"] for job in feed} == {"Jobboard"}
    rows = list(csv.DictReader(io.StringIO((folder / offer_exports.FT_FILE).read_text(encoding="utf-8")),
                               delimiter="|"))
    assert [r["Par_ref_offre"] for r in rows] == [f"E2-{ids['live'].split('-')[1]}", f"E2-{ids['ft'].split('-')[1]}"]
    live, ft = rows
    assert live["Code_rome"] == "D1102" and live["Code_OGR"] == appellation.code_ogr
    assert live["Description"].startswith("Offre collectée par La bonne alternance. Rémunération : selon la "
                                          "réglementation en vigueur")
    assert (live["Qua_cle"], live["Qua_libelle"]) == ("6", "Employé qualifié")  # diploma level 3
    assert (live["TCO_cle"], live["NTC_cle"], live["Off_travail_hebdo_nb_hh"]) == ("CDD", "E2", "35")
    assert live["Off_client_final_siret"] == "78424186100011" and live["Off_contrat_duree_MO"] == "24"
    assert live["Off_date_fin_publication"] == "30/01/2027"  # creation + 60 days, no FT support
    assert ft["Off_date_fin_publication"] == "20/12/2026"  # FT-supported: capped at creation + 30 days
    # Past its 30 days, the supported offer leaves France Travail's file but stays in the v3 feed.
    later = _export(store, refs, settings, folder, NOW + timedelta(days=20))
    assert later == {"offers": 2, "france_travail_records": 1}


def test_export_replaces_atomically_and_a_failed_run_keeps_the_previous_files(offers, refs, settings, tmp_path):
    store, partner_id, ids, _ = offers
    folder = tmp_path / "exports"
    _export(store, refs, settings, folder)
    first = {name: (folder / name).read_bytes() for name in (offer_exports.FEED, offer_exports.FT_FILE)}
    with store.begin() as conn:  # one more offer: the next run replaces both files
        conn.execute(sa.update(deposited_offers).where(deposited_offers.c.partner_job_id == "private")
                     .values(multicast=True))
    assert _export(store, refs, settings, folder)["offers"] == 3
    assert len(json.loads((folder / offer_exports.FEED).read_text(encoding="utf-8"))) == 3
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [offer_exports.FEED, offer_exports.FEED_SCHEMA, offer_exports.FT_FILE])  # no temporary file left
    second = {name: (folder / name).read_bytes() for name in first}
    assert second != first
    # A row the mapping cannot read (a corrupt body) fails the run before any file is touched.
    with store.begin() as conn:
        conn.execute(sa.update(deposited_offers).where(deposited_offers.c.partner_job_id == "live")
                     .values(partner_payload={"offer": "pas un objet"}))
    with pytest.raises(AttributeError):
        _export(store, refs, settings, folder)
    assert {name: (folder / name).read_bytes() for name in first} == second
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [offer_exports.FEED, offer_exports.FEED_SCHEMA, offer_exports.FT_FILE])


def test_the_daily_job_and_the_cli_write_the_files_and_list_partner_counts(offers, settings, tmp_path, store_url):
    from indexers.pipeline import run_job
    from scripts.cli import main

    store, partner_id, _, _ = offers
    folder = tmp_path / "exports"
    job_settings = replace(settings, database_url=store_url, export_dir=str(folder),
                           index_dir=str(tmp_path / "index"))
    result = run_job("exports", settings=job_settings, store=store)
    assert result.outcome == "success", result.error
    assert (folder / offer_exports.FEED).exists() and (folder / offer_exports.FT_FILE).exists()
    env = {"DATABASE_URL": store_url, "LBA_EXPORT_DIR": str(tmp_path / "cli"), "SEARCH_ENGINE": "embedded",
           "LBA_INDEX_DIR": str(tmp_path / "index")}
    exported = CliRunner().invoke(main, ["offers", "export"], env=env)
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "cli" / offer_exports.FEED).exists()
    listed = CliRunner().invoke(main, ["partners", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    # Counted with the real clock: the offers created for NOW (December 2026) are still live.
    assert "Jobboard" in listed.output and "offers: " in listed.output and "/ 5 total" in listed.output


def test_live_partner_offers_are_read_by_the_full_rebuild(offers, refs):
    from indexers import ImportStats, deposited

    store, _, ids, _ = offers
    rebuilt = {doc["id"] for doc in deposited.iter_documents(store, refs, ImportStats("deposited"), NOW)}
    assert rebuilt == {ids["live"], ids["ft"], ids["private"]}  # multicast or not; never filled nor expired
