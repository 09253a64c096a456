"""The scheduled jobs: what their steps share (`JobContext`), what each one reads or does, the catalogue `JOBS`."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.config import Settings
from app.referentials import Referentials
from app.search.contract import SearchEngine
from app.store import company_opt_outs
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
from indexers.job_settings import JobSettings
from indexers.runs import last_success
from indexers.sources import configured, local_copy

#: Store writes stamped this long before a build started are replayed after it publishes: covers
#: clock skew between the machine saving a deposit and the one running the job.
REPLAY_MARGIN = timedelta(minutes=1)


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
