"""The build-and-swap pipeline: lock, fetch, map, fill a new generation, check the threshold, publish, record."""
from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.config import Settings
from app.referentials import ReferenceDataError, Referentials, get_referentials
from app.referentials.regions import get_regions
from app.search import build_engine
from app.search.contract import SearchEngine
from app.store import company_opt_outs, get_store
from app.store.applications import offers_closed_by_applications
from indexers import (
    ImportStats,
    catalogue,
    deposited,
    france_travail,
    france_travail_api,
    recruiters,
    referential_sources,
    referentials as referentials_refresh,
)
from indexers.breakdown import Breakdown
from indexers.locks import JobLock
from indexers.runs import last_success, record_finish, record_skipped, record_start
from indexers.sources import DEMO_FILES, configured, local_copy

log = logging.getLogger(__name__)

DEFAULT_MIN_RATIO = 0.5
#: Store writes stamped this long before a build started are replayed after it publishes: covers
#: clock skew between the machine saving a deposit and the one running the job.
REPLAY_MARGIN = timedelta(minutes=1)
#: Exit codes of `lba jobs run`, by outcome.
EXIT_CODES = {"success": 0, "failed": 1, "refused_threshold": 2, "skipped_locked": 3}


class ThresholdRefused(RuntimeError):
    """A build produced far fewer documents than the last published one: discarded, not published."""


@dataclass(frozen=True)
class JobSettings:
    """Where each job reads its source and how cautious it is; `from_env()` documents the variables."""

    min_ratio: float = DEFAULT_MIN_RATIO
    ft_offers_file: str = ""
    ft_departements: tuple[str, ...] = ()
    catalogue_source: str = ""
    recruiters_source: str = ""
    referentials_urls: str = ""
    referentials_sources: str = ""
    referentials_dir: str = ""
    hiring_companies: str = ""
    hiring_history: str = ""

    @classmethod
    def from_env(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> "JobSettings":
        """Read the job settings; in demo mode only (LBA_DEMO=1) file sources default to the demo files
        of LBA_DEMO_DIR/DEMO_SCALE; otherwise a job whose source is not set fails naming its variable.

        LBA_MIN_RATIO           a build with fewer than this share of the last published run's documents
                                is not published (default 0.5, i.e. a drop of more than 50 %)
        LBA_FT_OFFERS_FILE      France Travail /offres/search response file, read when no API credentials
                                (LBA_FT_CLIENT_ID/SECRET) are set (demo mode: the demo offers file)
        LBA_FT_DEPARTEMENTS     comma list restricting the API import to these départements (default: all)
        LBA_CATALOGUE_SOURCE    path or http(s) URL of the catalogue's JSON array of formations
        LBA_RECRUITERS_SOURCE   path or http(s) URL of the predicted recruiters JSON array
        LBA_REFERENTIALS_URLS   `relative/path.csv=https://…` pairs to download into a fresh data directory
        LBA_REFERENTIALS_SOURCES  official open-data distributions to download and convert into it:
                                `format=URL` entries separated by spaces or new lines, formats `geo-api`
                                (API base URL), `rome-csv` (France Travail RefRomeCsv zip, or its CSV
                                files one entry each) and `insee-naf-xls` (int_courts_naf_rev_2.xls)
        LBA_REFERENTIALS_DIR    where downloaded data directories are built (default var/referentials;
                                `current` links to the one in use)
        LBA_HIRING_COMPANIES    company file of the hiring history (README "Hidden market"); with
        LBA_HIRING_HISTORY      the monthly hires file, the weekly `hiring` job writes the predicted
                                recruiters file to LBA_RECRUITERS_SOURCE before the `recruiters` import
        """
        env = os.environ if environ is None else environ
        demo = Path(settings.demo_dir) / settings.demo_scale

        def demo_default(key: str) -> str:
            # Demo data is never a silent production default: only an explicit LBA_DEMO=1 reads it.
            return str(demo / DEMO_FILES[key]) if settings.demo else ""

        text = env.get("LBA_MIN_RATIO", str(DEFAULT_MIN_RATIO))
        try:
            ratio = float(text)
        except ValueError:
            raise ValueError(f"LBA_MIN_RATIO must be a number, got {text!r}") from None
        if not 0 <= ratio <= 1:
            raise ValueError(f"LBA_MIN_RATIO must be between 0 and 1, got {ratio}")
        departements = tuple(d.strip().upper() for d in env.get("LBA_FT_DEPARTEMENTS", "").split(",") if d.strip())
        return cls(
            min_ratio=ratio,
            ft_offers_file=env.get("LBA_FT_OFFERS_FILE") or demo_default("offers"),
            ft_departements=departements,
            catalogue_source=env.get("LBA_CATALOGUE_SOURCE") or demo_default("formations"),
            recruiters_source=env.get("LBA_RECRUITERS_SOURCE") or demo_default("companies"),
            referentials_urls=env.get("LBA_REFERENTIALS_URLS", ""),
            referentials_sources=env.get("LBA_REFERENTIALS_SOURCES", ""),
            referentials_dir=env.get("LBA_REFERENTIALS_DIR") or str(Path(settings.index_dir).parent / "referentials"),
            hiring_companies=env.get("LBA_HIRING_COMPANIES", ""),
            hiring_history=env.get("LBA_HIRING_HISTORY", ""),
        )


@dataclass
class JobContext:
    """What a job's steps share: settings, store, engine, referentials, per-source counts and run details."""

    job: str
    settings: Settings
    job_settings: JobSettings
    store: Engine
    started_at: datetime
    engine_factory: Callable[[], SearchEngine]
    refs_factory: Callable[[], Referentials]
    ft_client: france_travail_api.FranceTravailClient | None = None
    sources: dict[str, ImportStats] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    generation: str | None = None
    #: What the generation being built holds by source and region (index jobs only).
    breakdown: Breakdown | None = None
    _engine: SearchEngine | None = None
    _refs: Referentials | None = None

    @property
    def engine(self) -> SearchEngine:
        """The search engine, built on first use."""
        if self._engine is None:
            self._engine = self.engine_factory()
        return self._engine

    @property
    def refs(self) -> Referentials:
        """The referentials, loaded on first use."""
        if self._refs is None:
            self._refs = self.refs_factory()
        return self._refs

    def source(self, name: str) -> ImportStats:
        """The counts of one source of this run (created on first use)."""
        return self.sources.setdefault(name, ImportStats(name))

    def totals(self) -> tuple[int, int, Counter]:
        """Read, indexed and rejections by reason over every source."""
        rejected: Counter = Counter()
        for stats in self.sources.values():
            rejected.update(stats.rejected)
        return (sum(s.read for s in self.sources.values()), sum(s.indexed for s in self.sources.values()),
                rejected)


@dataclass(frozen=True)
class Job:
    """A scheduled job: either a new generation of `kind` filled from `documents`, or a `run` step alone."""

    name: str
    label: str  # shown to operators, in French
    kind: str | None = None
    documents: Callable[[JobContext], Iterator[dict[str, Any]]] | None = None
    after_publish: Callable[[JobContext], None] | None = None
    run: Callable[[JobContext], None] | None = None


@dataclass(frozen=True)
class RunResult:
    """How a run ended, with its record's id and figures."""

    job: str
    outcome: str
    run_id: int
    read: int = 0
    indexed: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    generation: str | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """The CLI exit code of this outcome (0 only for a success)."""
        return EXIT_CODES.get(self.outcome, 1)


# ----- sources of each job ---------------------------------------------------------------------------
def _offer_documents(ctx: JobContext) -> Iterator[dict[str, Any]]:
    """Deposited offers from the store, then France Travail's (API when configured, else the file)."""
    yield from deposited.iter_documents(ctx.store, ctx.refs, ctx.source(deposited.SOURCE))
    stats = ctx.source(france_travail.SOURCE)
    yield from _without_closed_offers(_france_travail_documents(ctx, stats), offers_closed_by_applications(ctx.store),
                                      stats)


def _without_closed_offers(documents: Iterator[dict[str, Any]], closed: set[str],
                           stats: ImportStats) -> Iterator[dict[str, Any]]:
    """Offers that reached the applications cap stay out of every rebuild (they were closed, not expired)."""
    for document in documents:
        if document["id"] in closed:
            stats.indexed -= 1  # the mapper counted it before we could drop it
            stats.reject("closed after applications cap")
            continue
        yield document


def _france_travail_documents(ctx: JobContext, stats: ImportStats) -> Iterator[dict[str, Any]]:
    """France Travail's offers: the API when configured, else the file."""
    client = ctx.ft_client
    if client is None:
        config = france_travail_api.FranceTravailConfig.from_env()
        client = france_travail_api.FranceTravailClient(config) if config else None
    if client is None:
        source = configured(ctx.job_settings.ft_offers_file, "LBA_FT_OFFERS_FILE",
                            " (nor LBA_FT_CLIENT_ID/LBA_FT_CLIENT_SECRET for the API)")
        ctx.details["france_travail_source"] = source
        with local_copy(source) as path:
            yield from france_travail.iter_documents(path, ctx.refs, stats)
        return
    ctx.details["france_travail_source"] = client.config.api_url
    try:
        yield from france_travail_api.iter_documents(client, ctx.refs, stats, ctx.job_settings.ft_departements or None)
    finally:
        ctx.details["fetch"] = client.stats.as_dict()


def _replay_deposits(ctx: JobContext) -> None:
    """Re-apply deposits saved while the build ran: they went to the generation the swap just replaced."""
    stats = ImportStats("deposited replay")
    since = ctx.started_at - REPLAY_MARGIN
    deposited.apply_changes(ctx.engine, ctx.refs, deposited.changed_since(ctx.store, since), stats)
    ctx.details["replayed_deposits"] = stats.read


def _formation_documents(ctx: JobContext) -> Iterator[dict[str, Any]]:
    ctx.details["source"] = configured(ctx.job_settings.catalogue_source, "LBA_CATALOGUE_SOURCE")
    with local_copy(ctx.details["source"]) as path:
        yield from catalogue.iter_documents(path, ctx.refs, ctx.source(catalogue.SOURCE))


def opted_out_sirets(store: Engine, since: datetime | None = None) -> set[str]:
    """SIRETs of companies that asked not to be listed (only those recorded from `since` when given)."""
    query = sa.select(company_opt_outs.c.siret)
    if since is not None:
        query = query.where(company_opt_outs.c.created_at >= since)
    with store.connect() as conn:
        return {row[0] for row in conn.execute(query)}


def _company_documents(ctx: JobContext) -> Iterator[dict[str, Any]]:
    """Predicted recruiters, minus the companies that opted out (counted as a rejection reason)."""
    opted_out = opted_out_sirets(ctx.store)
    stats = ctx.source(recruiters.SOURCE)
    ctx.details["source"] = configured(ctx.job_settings.recruiters_source, "LBA_RECRUITERS_SOURCE")
    with local_copy(ctx.details["source"]) as path:
        for document in recruiters.iter_documents(path, ctx.refs, stats):
            if document["id"] in opted_out:
                stats.indexed -= 1  # the mapper counted it before we could drop it
                stats.reject("opted out")
                continue
            yield document


def _remove_late_opt_outs(ctx: JobContext) -> None:
    """Companies that opted out while the build ran were read before: take them out of the new generation."""
    late = opted_out_sirets(ctx.store, ctx.started_at - REPLAY_MARGIN)
    if late:
        ctx.details["late_opt_outs_removed"] = ctx.engine.delete("company", sorted(late))
        if ctx.breakdown is not None:
            ctx.breakdown.remove(late)  # a company document's id is its SIRET


def _sync_deposits(ctx: JobContext) -> None:
    """Apply deposits changed since the last successful sync; build the offers index if none is published."""
    stats = ctx.source(deposited.SOURCE)
    if ctx.engine.stats()["offer"]["generation"] is None:
        # No offers index yet (first start): publish one holding the deposits, so they show at once.
        ctx.details["mode"] = "initial generation"
        with ctx.engine.new_generation("offer") as builder:
            ctx.generation = builder.generation
            builder.add(deposited.iter_documents(ctx.store, ctx.refs, stats))
        return
    previous = last_success(ctx.store, ctx.job)
    since = previous["started_at"] - REPLAY_MARGIN if previous else None
    ctx.details["mode"] = "incremental"
    ctx.details["since"] = since.isoformat(timespec="seconds") if since else None
    deposited.apply_changes(ctx.engine, ctx.refs, deposited.changed_since(ctx.store, since), stats)


def _refresh_referentials(ctx: JobContext) -> None:
    """Validate the data directory; download (and convert official sources) then switch when configured."""
    urls = referentials_refresh.parse_urls(ctx.job_settings.referentials_urls)
    sources = referential_sources.parse_sources(ctx.job_settings.referentials_sources)
    result = referentials_refresh.refresh(ctx.settings.data_dir, ctx.job_settings.referentials_dir, urls,
                                          ctx.job_settings.min_ratio, sources=sources)
    stats = ctx.source("referentials")
    stats.read = stats.indexed = sum(result.counts.values())
    ctx.details.update(data_dir=str(result.data_dir), counts=result.counts, downloaded=result.downloaded)
    if result.converted:
        ctx.details["converted"] = result.converted
    if result.previous_counts:
        ctx.details["previous_counts"] = result.previous_counts


def _predict_recruiters(ctx: JobContext) -> None:
    """Train the hiring model on the whole history and write the predicted recruiters file."""
    # Imported here: scikit-learn is only needed by this weekly job, not by every other run.
    from indexers.hiring import run_weekly_prediction

    js = ctx.job_settings
    if not (js.hiring_companies and js.hiring_history):
        raise ValueError("LBA_HIRING_COMPANIES et LBA_HIRING_HISTORY ne sont pas configurés : "
                         "aucun historique d'embauches à lire")
    if "://" in js.recruiters_source:
        raise ValueError("LBA_RECRUITERS_SOURCE est une URL : la prédiction écrit un fichier local")
    # The store's opt-out list, the one the recruiters import also excludes: one source of truth.
    result = run_weekly_prediction(js.hiring_companies, js.hiring_history, js.recruiters_source, ctx.refs,
                                   opted_out=opted_out_sirets(ctx.store))
    stats = ctx.source("hiring")
    stats.read = int(result["companies_file"].get("read", 0))
    stats.indexed = int(result["output"].get("written", 0))
    ctx.details.update(model=result["model"], predicted_window=result["predicted_window"],
                       output=result["output"], seconds=result["seconds"])


def _export_offers(ctx: JobContext) -> None:
    """Write the day's multi-diffusion files (v3 JSON feed, its schema, France Travail's partner feed)."""
    # Imported here, like the hiring job's model: the export maps rows with the API's read shape (app.services).
    from app.services.offer_exports import export_offers

    counts = export_offers(ctx.store, ctx.refs, ctx.settings.data_dir, ctx.settings.export_dir,
                           ctx.settings.public_base_url)
    stats = ctx.source("exports")
    stats.read = stats.indexed = counts["offers"]
    ctx.details.update(counts, export_dir=ctx.settings.export_dir)


JOBS: dict[str, Job] = {job.name: job for job in (
    Job("offers", "Offres France Travail et offres déposées (reconstruction complète)", kind="offer",
        documents=_offer_documents, after_publish=_replay_deposits),
    Job("formations", "Catalogue des formations en apprentissage", kind="formation",
        documents=_formation_documents),
    Job("recruiters", "Recruteurs prédits (algorithme)", kind="company", documents=_company_documents,
        after_publish=_remove_late_opt_outs),
    Job("deposited", "Offres déposées (synchronisation incrémentale)", run=_sync_deposits),
    Job("referentials", "Référentiels (ROME, communes, NAF, diplômes, OPCO)", run=_refresh_referentials),
    Job("hiring", "Prédiction des recruteurs (historique d'embauches)", run=_predict_recruiters),
    Job("exports", "Multidiffusion : flux JSON v3 et flux partenaire France Travail", run=_export_offers),
)}


# ----- the run -----------------------------------------------------------------------------------------
def check_threshold(indexed: int, previous: int | None, min_ratio: float) -> None:
    """Raise ThresholdRefused when `indexed` is below `min_ratio` × the previous published count."""
    if previous and indexed < min_ratio * previous:
        raise ThresholdRefused(f"{indexed} documents, fewer than {min_ratio:g} × {previous} of the last "
                               f"published run: generation discarded, the previous one keeps serving")


def _build_and_publish(job: Job, ctx: JobContext, force: bool) -> None:
    """New generation ← documents; threshold check inside the build (so a refusal discards it); then publish."""
    assert job.kind is not None and job.documents is not None
    previous = last_success(ctx.store, job.name)
    previous_count = previous["indexed_count"] if previous else None
    ctx.details.update(previous_indexed=previous_count, min_ratio=ctx.job_settings.min_ratio)
    try:
        # Deposited offers change every few minutes after the build: the statistics count them from the store.
        ctx.breakdown = Breakdown(get_regions(ctx.refs.data_dir), live_sources=(deposited.SOURCE,))
    except ReferenceDataError as exc:  # the public statistics' breakdown is never worth a failed import
        log.warning("job %s: no breakdown by region: %s", job.name, exc)
        ctx.details["breakdown_skipped"] = str(exc)
    with ctx.engine.new_generation(job.kind) as builder:
        ctx.generation = builder.generation
        documents = job.documents(ctx)
        added = builder.add(ctx.breakdown.counted(documents) if ctx.breakdown is not None else documents)
        ctx.details["documents"] = added
        if not force:
            check_threshold(added, previous_count, ctx.job_settings.min_ratio)
    if job.after_publish is not None:
        job.after_publish(ctx)
    if ctx.breakdown is not None:
        # Read by the public statistics: {source: {region code: documents}} of what this run published.
        ctx.details["breakdown"] = {"kind": job.kind, "counts": ctx.breakdown.as_dict()}


def run_job(name: str, *, settings: Settings | None = None, job_settings: JobSettings | None = None,
            store: Engine | None = None, engine: SearchEngine | None = None, refs: Referentials | None = None,
            ft_client: france_travail_api.FranceTravailClient | None = None, force: bool = False) -> RunResult:
    """Run job `name` once under its lock and record the run; never raises for a failed source or build.

    `force` publishes even below the safety threshold (an operator who knows the source shrank).
    """
    if name not in JOBS:
        raise ValueError(f"unknown job {name!r}: one of {', '.join(JOBS)}")
    job = JOBS[name]
    settings = settings or Settings.from_env()
    job_settings = job_settings or JobSettings.from_env(settings)
    store = store or get_store(settings.database_url)
    lock = JobLock(store, name)
    if not lock.acquire():
        return _skipped(store, name, lock)
    try:
        return _run_locked(job, lock, settings, job_settings, store, engine, refs, ft_client, force)
    finally:
        lock.release()


def _skipped(store: Engine, name: str, lock: JobLock) -> RunResult:
    holder = lock.holder
    details = {"held_by": {"host": holder.host, "pid": holder.pid,
                           "since": holder.acquired_at.isoformat(timespec="seconds")}} if holder else {}
    run_id = record_skipped(store, name, datetime.now(timezone.utc), details)
    log.warning("job %s not started: another run holds the lock (%s)", name, details.get("held_by"))
    return RunResult(name, "skipped_locked", run_id, details=details)


def _run_locked(job: Job, lock: JobLock, settings: Settings, job_settings: JobSettings, store: Engine,
                engine: SearchEngine | None, refs: Referentials | None,
                ft_client: france_travail_api.FranceTravailClient | None, force: bool) -> RunResult:
    started_at = datetime.now(timezone.utc)
    ctx = JobContext(job=job.name, settings=settings, job_settings=job_settings, store=store, started_at=started_at,
                     engine_factory=lambda: build_engine(settings),
                     refs_factory=lambda: get_referentials(settings.data_dir), ft_client=ft_client,
                     _engine=engine, _refs=refs)
    if lock.recovered is not None:
        ctx.details["recovered_lock_of"] = {"host": lock.recovered.host, "pid": lock.recovered.pid}
    run_id = record_start(store, job.name, started_at)
    clock = time.perf_counter()
    outcome, error = "success", None
    try:
        if job.kind is not None:
            _build_and_publish(job, ctx, force)
        else:
            assert job.run is not None
            job.run(ctx)
    except (ThresholdRefused, referentials_refresh.RefreshRefused) as exc:
        outcome, error = "refused_threshold", str(exc)
        log.error("job %s refused: %s", job.name, exc)
    except Exception as exc:  # a failed run is recorded and reported, never fatal to the scheduler
        outcome, error = "failed", f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed", job.name)
    except BaseException as exc:  # interrupted (Ctrl-C, SIGTERM): record it, then let it propagate
        _finish(ctx, run_id, "failed", f"interrupted ({type(exc).__name__})", time.perf_counter() - clock)
        raise
    finally:
        if engine is None and ctx._engine is not None:
            ctx._engine.close()
    return _finish(ctx, run_id, outcome, error, time.perf_counter() - clock)


def _finish(ctx: JobContext, run_id: int, outcome: str, error: str | None, seconds: float) -> RunResult:
    read, indexed, rejected = ctx.totals()
    if outcome == "success" and "documents" in ctx.details:
        indexed = ctx.details["documents"]  # what the published generation holds
    elif outcome != "success" and ctx.generation is not None and ctx.job in JOBS and JOBS[ctx.job].kind:
        indexed = 0  # nothing of this run was published
        ctx.details["mapped"] = ctx.totals()[1]
    ctx.details["sources"] = {name: stats.as_dict() for name, stats in ctx.sources.items()}
    warnings: Counter = Counter()
    for stats in ctx.sources.values():
        warnings.update(stats.warnings)
    ctx.details["warnings"] = dict(sorted(warnings.items()))
    record_finish(ctx.store, run_id, outcome=outcome, finished_at=datetime.now(timezone.utc), duration_s=seconds,
                  read=read, indexed=indexed, rejected=rejected, details=ctx.details, generation=ctx.generation,
                  error=error)
    log.info("job %s: %s, read %d, indexed %d, rejected %d in %.1f s", ctx.job, outcome, read, indexed,
             sum(rejected.values()), seconds)
    return RunResult(ctx.job, outcome, run_id, read, indexed, dict(rejected), seconds, ctx.generation, error,
                     dict(ctx.details))
