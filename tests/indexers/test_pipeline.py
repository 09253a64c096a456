"""Build-and-swap pipeline: recorded runs, a build killed midway, the safety threshold, locks, opt-outs, deposits."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import app.search.elastic.bulk as elastic_module
import app.search.embedded.builder as embedded_module
from app.config import Settings
from app.referentials import Referentials
from app.search.contract import MatchQuery, SearchEngine
from app.search.embedded import EmbeddedEngine
from app.services.deposited_offers import doc_id, index_deposited_offer, save_deposited_offer
from app.store import applications, company_opt_outs, deposited_offers, job_locks, upgraded_store
from app.store.applications import CLOSE_OFFER_AFTER
from indexers import jobs, pipeline
from indexers.france_travail_api import FranceTravailClient, FranceTravailConfig
from indexers.job_settings import JobSettings
from indexers.jobs import JOBS, Job
from indexers.pipeline import check_threshold, run_job
from indexers.runs import recent_runs
from scripts import demo_data
from tests.indexers.ft_server import FakeClock, FakeFranceTravail, sample_offers
from tests.search import conftest as engine_fixtures

# The engine contract tests' fixtures: every test taking `engine` runs on the embedded engine and on OpenSearch.
engine = engine_fixtures.engine
opensearch_url = engine_fixtures.opensearch_url

TINY = {"companies": 300, "offers": 300, "formations": 150}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, refs: Referentials) -> Path:
    out = tmp_path_factory.mktemp("demo") / "small"
    demo_data.generate(refs, out, "small", seed=5, today=date.today(), counts=TINY)
    return out


@pytest.fixture()
def job_env(tmp_path: Path, demo_dir: Path) -> Settings:
    env = replace(Settings.from_env({}), index_dir=str(tmp_path / "index"),
                  database_url=f"sqlite:///{tmp_path / 'lba.sqlite'}", demo_dir=str(demo_dir.parent),
                  demo_scale="small", demo=True)
    upgraded_store(env.database_url)  # the jobs refuse a store that `lba db upgrade` has not migrated
    return env


@pytest.fixture()
def job_settings(job_env: Settings) -> JobSettings:
    return JobSettings.from_env(job_env, {})


@pytest.fixture()
def store(job_env: Settings) -> sa.Engine:
    return upgraded_store(job_env.database_url)


@pytest.fixture()
def embedded(tmp_path: Path) -> EmbeddedEngine:
    built = EmbeddedEngine(tmp_path / "index")
    yield built
    built.close()


def _offers_file(demo_dir: Path, path: Path, keep: int | None = None, cut: float | None = None) -> Path:
    """The demo offers response, its first `keep` offers only, or its bytes cut at `cut` (a dying source)."""
    source = demo_dir / "offres_france_travail.json"
    if cut is not None:
        raw = source.read_bytes()
        path.write_bytes(raw[:int(len(raw) * cut)])
        return path
    body = json.loads(source.read_text(encoding="utf-8"))
    body["resultats"] = body["resultats"][:keep]
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def _answers(engine: SearchEngine, refs: Referentials, demo_dir: Path) -> list[list[tuple[str, float | None]]]:
    """What searches answer: every offer of the file's ROME codes, then the nearest ones around four cities."""
    body = json.loads((demo_dir / "offres_france_travail.json").read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    for item in body["resultats"]:
        counts[item["romeCode"]] = counts.get(item["romeCode"], 0) + 1
    every = tuple(sorted(counts))
    common = tuple(sorted(counts, key=lambda code: -counts[code])[:10])
    out = []
    ids: set[tuple[str, float | None]] = set()  # a parent code also finds its children's offers
    for start in range(0, len(every), 20):  # the API's limit of codes per query
        result = engine.search(MatchQuery(romes=every[start:start + 20], kinds=("offer",), include_expired=True,
                                          page_size=None))
        ids.update((hit.id, None) for hit in result.hits)
    out.append(sorted(ids))
    for insee in ("75056", "69123", "13055", "33063"):
        commune = refs.communes.get(insee)
        assert commune is not None
        result = engine.search(MatchQuery(romes=common, latitude=commune.latitude, longitude=commune.longitude,
                                          radius_km=150, kinds=("offer",), include_expired=True, page_size=None))
        out.append([(hit.id, round(hit.distance_km or 0.0, 3)) for hit in result.hits])
    return out


def _deposit(refs: Referentials, **changes: Any) -> dict[str, Any]:
    lyon = refs.communes.get("69123")
    assert lyon is not None
    now = datetime.now(timezone.utc)
    values = dict(title="Apprenti boulanger (H/F)", romes=["D1102"], contract_types=["apprentissage"],
                  latitude=lyon.latitude, longitude=lyon.longitude, city="Lyon", postcode="69001", insee="69123",
                  department="69", company_name="Boulangerie du Parc", company_siret="80841382700011",
                  status="active", expires_at=now + timedelta(days=60), apply_email="recrutement@example.org")
    values.update(changes)
    return values


def _row(store: sa.Engine, offer_id: int) -> dict[str, Any]:
    with store.connect() as conn:
        return dict(conn.execute(sa.select(deposited_offers).where(deposited_offers.c.id == offer_id))
                    .mappings().one())


# ----- runs are recorded -----------------------------------------------------------------------------
def test_each_run_records_counts_rejections_duration_and_outcome(job_env: Settings, job_settings: JobSettings,
                                                                 store: sa.Engine, embedded: EmbeddedEngine,
                                                                 refs: Referentials) -> None:
    results = {name: run_job(name, settings=job_env, job_settings=job_settings, engine=embedded, refs=refs)
               for name in ("offers", "formations", "recruiters")}
    manifest = json.loads((Path(job_env.demo_dir) / "small" / "manifest.json").read_text())
    for name, kind in (("offers", "offer"), ("formations", "formation"), ("recruiters", "company")):
        result = results[name]
        assert result.outcome == "success" and result.exit_code == 0
        assert result.indexed == embedded.stats()[kind]["documents"] > 0
        assert result.read == result.indexed + sum(result.rejected.values())
    # The demo generator plants known defects; each one is counted under its reason.
    assert results["offers"].rejected == manifest["expected_rejections"]["offers"]
    assert results["formations"].rejected == manifest["expected_rejections"]["formations"]
    runs = {run["job"]: run for run in recent_runs(store)}
    assert set(runs) == {"offers", "formations", "recruiters"}
    offers = runs["offers"]
    assert offers["outcome"] == "success" and offers["read_count"] == results["offers"].read
    assert offers["indexed_count"] == results["offers"].indexed
    assert offers["rejected"] == results["offers"].rejected and offers["duration_s"] > 0
    assert offers["generation"] == embedded.stats()["offer"]["generation"]
    assert offers["finished_at"] >= offers["started_at"] and offers["error"] is None
    json.dumps(recent_runs(store))  # the runs view is plain JSON


# ----- a build that dies midway ----------------------------------------------------------------------
def test_a_build_killed_midway_leaves_the_previous_generation_serving(
        engine: SearchEngine, job_env: Settings, job_settings: JobSettings, store: sa.Engine, refs: Referentials,
        demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run_job("offers", settings=job_env, job_settings=job_settings, engine=engine, refs=refs)
    assert first.outcome == "success"
    before_stats = engine.stats()["offer"]
    before = _answers(engine, refs, demo_dir)
    assert len(before[0]) == first.indexed and sum(len(a) for a in before[1:]) > 10
    # Small bulks, so several are written into the new generation before the source dies.
    monkeypatch.setattr(embedded_module, "BATCH", 40)
    monkeypatch.setattr(elastic_module, "CHUNK_DOCS", 40)
    broken = replace(job_settings, ft_offers_file=str(_offers_file(demo_dir, tmp_path / "cut.json", cut=0.6)))
    second = run_job("offers", settings=job_env, job_settings=broken, engine=engine, refs=refs)
    assert second.outcome == "failed" and second.exit_code == 1
    assert "IncompleteJSONError" in (second.error or "") or "JSONError" in (second.error or "")
    assert second.details["mapped"] > 80  # the source died after more than two bulks were written
    assert engine.stats()["offer"] == before_stats  # same generation, same count
    assert _answers(engine, refs, demo_dir) == before
    if isinstance(engine, EmbeddedEngine):
        assert not list((Path(job_env.index_dir) / "offer").glob("*.building*"))
    else:
        generations = engine._generations("offer")  # type: ignore[attr-defined]
        assert len(generations) == 1  # the half-built index was deleted
    failed = recent_runs(store, job="offers")[0]
    assert failed["outcome"] == "failed" and failed["indexed_count"] == 0 and "JSONError" in failed["error"]


# ----- the safety threshold ---------------------------------------------------------------------------
def test_a_build_far_smaller_than_the_last_one_is_not_published(
        engine: SearchEngine, job_env: Settings, job_settings: JobSettings, store: sa.Engine, refs: Referentials,
        demo_dir: Path, tmp_path: Path) -> None:
    full = replace(job_settings, ft_offers_file=str(_offers_file(demo_dir, tmp_path / "full.json", keep=200)))
    assert run_job("offers", settings=job_env, job_settings=full, engine=engine, refs=refs).outcome == "success"
    published = engine.stats()["offer"]
    assert published["documents"] == 200
    shrunk = replace(job_settings, ft_offers_file=str(_offers_file(demo_dir, tmp_path / "few.json", keep=99)))
    refused = run_job("offers", settings=job_env, job_settings=shrunk, engine=engine, refs=refs)
    assert refused.outcome == "refused_threshold" and refused.exit_code == 2
    assert refused.details["documents"] == 99 and refused.details["previous_indexed"] == 200
    assert engine.stats()["offer"] == published  # still the 200-offer generation
    # Exactly half is allowed: the default threshold refuses only a drop of more than 50 %.
    half = replace(job_settings, ft_offers_file=str(_offers_file(demo_dir, tmp_path / "half.json", keep=100)))
    assert run_job("offers", settings=job_env, job_settings=half, engine=engine, refs=refs).outcome == "success"
    assert engine.stats()["offer"]["documents"] == 100
    # The reference is the last *published* run (100 now): 40 is refused, unless forced by an operator.
    tiny = replace(job_settings, ft_offers_file=str(_offers_file(demo_dir, tmp_path / "tiny.json", keep=40)))
    assert run_job("offers", settings=job_env, job_settings=tiny, engine=engine, refs=refs).outcome == \
        "refused_threshold"
    forced = run_job("offers", settings=job_env, job_settings=tiny, engine=engine, refs=refs, force=True)
    assert forced.outcome == "success" and engine.stats()["offer"]["documents"] == 40
    outcomes = [run["outcome"] for run in recent_runs(store, job="offers")]
    assert outcomes == ["success", "refused_threshold", "success", "refused_threshold", "success"]


def test_threshold_ratio_is_configurable(job_env: Settings) -> None:
    assert JobSettings.from_env(job_env, {}).min_ratio == 0.5
    assert JobSettings.from_env(job_env, {"LBA_MIN_RATIO": "0.8"}).min_ratio == 0.8
    with pytest.raises(ValueError, match="between 0 and 1"):
        JobSettings.from_env(job_env, {"LBA_MIN_RATIO": "2"})
    check_threshold(80, 100, 0.8)
    with pytest.raises(pipeline.ThresholdRefused):
        check_threshold(79, 100, 0.8)
    check_threshold(0, None, 0.5)  # a first run has nothing to compare with


# ----- two runs never overlap ------------------------------------------------------------------------
def test_a_second_run_of_a_running_job_is_skipped_and_recorded(
        job_env: Settings, job_settings: JobSettings, store: sa.Engine, embedded: EmbeddedEngine,
        refs: Referentials, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_documents(ctx: jobs.JobContext) -> Any:
        entered.set()
        assert release.wait(10)
        yield from jobs._formation_documents(ctx)

    monkeypatch.setitem(JOBS, "formations", Job("formations", "test", kind="formation", documents=slow_documents))
    results: list[Any] = []
    first = threading.Thread(target=lambda: results.append(run_job(
        "formations", settings=job_env, job_settings=job_settings, engine=embedded, refs=refs)))
    first.start()
    assert entered.wait(10)
    second = run_job("formations", settings=job_env, job_settings=job_settings, engine=embedded, refs=refs)
    release.set()
    first.join(10)
    assert second.outcome == "skipped_locked" and second.exit_code == 3
    assert second.details["held_by"]["pid"] == os.getpid()
    assert results[0].outcome == "success"
    outcomes = sorted(run["outcome"] for run in recent_runs(store, job="formations"))
    assert outcomes == ["skipped_locked", "success"]
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(job_locks)).scalar() == 0  # released


def test_the_lock_holds_across_processes_and_a_dead_holder_is_recovered(
        job_env: Settings, job_settings: JobSettings, store: sa.Engine, embedded: EmbeddedEngine,
        refs: Referentials) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time; from datetime import datetime, timezone;"
            "from app.store import get_store; from indexers.locks import JobLock;"
            "from indexers.runs import record_start;"
            "store = get_store(sys.argv[1]); lock = JobLock(store, 'formations'); assert lock.acquire();"
            "record_start(store, 'formations', datetime.now(timezone.utc)); print('locked', flush=True);"
            "time.sleep(60)"), job_env.database_url],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        skipped = run_job("formations", settings=job_env, job_settings=job_settings, engine=embedded, refs=refs)
        assert skipped.outcome == "skipped_locked" and skipped.details["held_by"]["pid"] == holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)  # dies holding the lock, its run still "running"
        holder.wait(10)
        holder.stdout.close()  # type: ignore[union-attr]
    recovered = run_job("formations", settings=job_env, job_settings=job_settings, engine=embedded, refs=refs)
    assert recovered.outcome == "success"
    assert recovered.details["recovered_lock_of"]["pid"] == holder.pid
    runs = recent_runs(store, job="formations")
    abandoned = [r for r in runs if r["pid"] == holder.pid]
    assert len(abandoned) == 1 and abandoned[0]["outcome"] == "failed" and "abandoned" in abandoned[0]["error"]


# ----- opted-out companies --------------------------------------------------------------------------
def test_opted_out_companies_are_never_indexed(job_env: Settings, job_settings: JobSettings, store: sa.Engine,
                                               embedded: EmbeddedEngine, refs: Referentials, demo_dir: Path) -> None:
    rows = json.loads((demo_dir / "recruteurs_lba.json").read_text(encoding="utf-8"))
    first = run_job("recruiters", settings=job_env, job_settings=job_settings, engine=embedded, refs=refs)
    indexed = embedded.get_many("company", [r["siret"] for r in rows])
    opted = sorted(indexed)[:3]
    with store.begin() as conn:
        conn.execute(sa.insert(company_opt_outs), [
            {"siret": s, "reason": "demande de l'entreprise", "created_at": datetime.now(timezone.utc)} for s in opted])
    second = run_job("recruiters", settings=job_env, job_settings=job_settings, engine=embedded, refs=refs)
    assert second.outcome == "success" and second.rejected["opted out"] == 3
    assert second.indexed == first.indexed - 3
    assert embedded.get_many("company", opted) == {}


# ----- offers closed by the applications cap ---------------------------------------------------------
def test_offers_closed_by_the_applications_cap_stay_out_of_every_rebuild(
        job_env: Settings, job_settings: JobSettings, store: sa.Engine, embedded: EmbeddedEngine,
        refs: Referentials, demo_dir: Path) -> None:
    first = run_job("offers", settings=job_env, job_settings=job_settings, engine=embedded, refs=refs)
    code = json.loads((demo_dir / "offres_france_travail.json").read_text(encoding="utf-8"))["resultats"][0]["romeCode"]
    found = embedded.search(MatchQuery(romes=(code,), kinds=("offer",), include_expired=True, page_size=None))
    closed = sorted(hit.id for hit in found.hits)[0]
    now = datetime.now(timezone.utc)
    rows = [dict(id=f"{n:032x}", created_at=now, applicant_first_name="A", applicant_last_name="B",
                 applicant_email=f"a{n}@example.org", applicant_phone="0600000000", message="", answers=[], extra={},
                 target_kind="offer", target_id=closed, target_siret="", target_title="", company_name="",
                 caller="", cv_name="cv.pdf", cv_type="pdf", cv_size=1, cv_sha256="0" * 64)
            for n in range(CLOSE_OFFER_AFTER)]
    with store.begin() as conn:
        conn.execute(sa.insert(applications), rows[:-1])  # one short of the cap: still indexed
    second = run_job("offers", settings=job_env, job_settings=job_settings, engine=embedded, refs=refs)
    assert second.indexed == first.indexed and closed in embedded.get_many("offer", [closed])
    with store.begin() as conn:
        conn.execute(sa.insert(applications), rows[-1:])
    third = run_job("offers", settings=job_env, job_settings=job_settings, engine=embedded, refs=refs)
    assert third.outcome == "success" and third.rejected["closed after applications cap"] == 1
    assert third.indexed == first.indexed - 1
    assert embedded.get_many("offer", [closed]) == {}


# ----- deposited offers -----------------------------------------------------------------------------
def test_a_saved_deposit_is_searchable_at_once_and_removed_when_cancelled(
        engine: SearchEngine, job_env: Settings, job_settings: JobSettings, store: sa.Engine,
        refs: Referentials) -> None:
    assert index_deposited_offer(engine, {"id": 0, **_deposit(refs)}, refs) == "pending"  # nothing published yet
    offer_id = save_deposited_offer(store, _deposit(refs))
    sync = run_job("deposited", settings=job_env, job_settings=job_settings, engine=engine, refs=refs)
    assert sync.outcome == "success" and sync.details["mode"] == "initial generation"
    assert set(engine.get_many("offer", [doc_id(offer_id)])) == {doc_id(offer_id)}
    other = save_deposited_offer(store, _deposit(refs, title="Apprenti pâtissier"))
    assert index_deposited_offer(engine, _row(store, other), refs) == "indexed"
    lyon = refs.communes.get("69123")
    found = engine.search(MatchQuery(romes=("D1102",), latitude=lyon.latitude, longitude=lyon.longitude,
                                     kinds=("offer",), sources=("deposited",)))
    assert {hit.id for hit in found.hits} == {doc_id(offer_id), doc_id(other)}
    document = engine.get_many("offer", [doc_id(other)])[doc_id(other)]
    assert document["apply"]["has_email"] is True and "recrutement@example.org" not in json.dumps(document["apply"])
    save_deposited_offer(store, {"status": "cancelled"}, other)
    assert index_deposited_offer(engine, _row(store, other), refs) == "removed"
    assert engine.get_many("offer", [doc_id(other)]) == {}
    # The incremental job applies what immediate indexing missed (here: a write made behind its back).
    save_deposited_offer(store, {"status": "filled"}, offer_id)
    sync = run_job("deposited", settings=job_env, job_settings=job_settings, engine=engine, refs=refs)
    assert sync.outcome == "success" and sync.details["mode"] == "incremental"
    assert engine.get_many("offer", [doc_id(offer_id)]) == {}


def test_the_offers_rebuild_keeps_deposits_including_those_saved_while_it_ran(
        engine: SearchEngine, job_env: Settings, job_settings: JobSettings, store: sa.Engine,
        refs: Referentials) -> None:
    kept = save_deposited_offer(store, _deposit(refs, title="Apprenti boulanger"))
    doomed = save_deposited_offer(store, _deposit(refs, title="Apprenti vendeur"))
    assert run_job("offers", settings=job_env, job_settings=job_settings, engine=engine, refs=refs).outcome == \
        "success"
    assert set(engine.get_many("offer", [doc_id(kept), doc_id(doomed)])) == {doc_id(kept), doc_id(doomed)}
    saved: list[int] = []

    def recruiter_saves_during_the_build(params: dict[str, str]) -> None:
        # A recruiter deposits one offer and cancels another while France Travail is being read:
        # both are applied at once to the generation that is still published.
        if saved:
            return
        new = save_deposited_offer(store, _deposit(refs, title="Apprenti cuisinier"))
        saved.append(new)
        index_deposited_offer(engine, _row(store, new), refs)
        save_deposited_offer(store, {"status": "cancelled"}, doomed)
        index_deposited_offer(engine, _row(store, doomed), refs)

    with FakeFranceTravail(sample_offers()).running() as fake:
        fake.hook = recruiter_saves_during_the_build
        clock = FakeClock()
        client = FranceTravailClient(FranceTravailConfig("lba", "secret", f"{fake.url}/token", f"{fake.url}/search"),
                                     sleep=clock.sleep, clock=clock)
        api = replace(job_settings, ft_departements=("57", "54"))
        rebuilt = run_job("offers", settings=job_env, job_settings=api, engine=engine, refs=refs, ft_client=client,
                          force=True)  # 8 API offers replace the 300 demo ones: far fewer, on purpose
    assert rebuilt.outcome == "success", rebuilt.error
    assert rebuilt.details["sources"]["france_travail"]["indexed"] == 8
    ids = [doc_id(kept), doc_id(doomed), doc_id(saved[0])]
    assert set(engine.get_many("offer", ids)) == {doc_id(kept), doc_id(saved[0])}
    assert engine.stats()["offer"]["documents"] == 8 + 2
    assert rebuilt.details["fetch"]["tokens"] == 1 and rebuilt.details["replayed_deposits"] >= 2


def test_a_lock_held_from_another_machine_is_taken_over_only_once_silent(store: sa.Engine) -> None:
    from indexers.locks import STALE_AFTER, JobLock

    now = datetime.now(timezone.utc)
    with store.begin() as conn:
        conn.execute(sa.insert(job_locks).values(job="offers", owner="other", host="another-machine", pid=1,
                                                 acquired_at=now - timedelta(hours=2), heartbeat_at=now))
    busy = JobLock(store, "offers")
    assert not busy.acquire() and busy.holder is not None and busy.holder.host == "another-machine"
    with store.begin() as conn:  # its heartbeats stopped longer ago than STALE_AFTER: the machine is gone
        conn.execute(sa.update(job_locks).values(heartbeat_at=now - STALE_AFTER - timedelta(seconds=1)))
    taker = JobLock(store, "offers", heartbeat_s=0.01)
    assert taker.acquire() and taker.recovered is not None and taker.recovered.owner == "other"
    first_beat = _lock_row(store)["heartbeat_at"]
    threading.Event().wait(0.1)
    assert _lock_row(store)["heartbeat_at"] > first_beat  # the new holder proves it is alive
    taker.release()
    assert _lock_row(store) is None


def _lock_row(store: sa.Engine) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(sa.select(job_locks).where(job_locks.c.job == "offers")).mappings().first()
    return dict(row) if row else None
