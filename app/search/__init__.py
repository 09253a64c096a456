"""The SearchEngine contract, its two implementations, and the one function that builds the configured engine."""
from __future__ import annotations

from app.clock import SYSTEM_CLOCK, Clock
from app.config import Settings
from app.search.contract import EngineUnavailable, Hit, IndexBuilder, MatchQuery, SearchEngine, SearchResult

__all__ = ["EngineUnavailable", "Hit", "IndexBuilder", "MatchQuery", "SearchEngine", "SearchResult",
           "build_engine"]


def build_engine(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> SearchEngine:
    """The engine named by SEARCH_ENGINE; every caller (app, indexers, scripts) gets its engine here."""
    if settings.search_engine == "embedded":
        from app.search.embedded import EmbeddedEngine
        return EmbeddedEngine(settings.index_dir, clock=clock)
    from app.search.elastic import ConnectionConfig, ElasticEngine
    config = ConnectionConfig(flavor=settings.search_engine, url=settings.search_url, api_key=settings.search_api_key,
                              ca_certs=settings.search_ca_certs, verify_certs=settings.search_verify_certs)
    return ElasticEngine(config, prefix=settings.search_index_prefix, replicas=settings.search_replicas, clock=clock)
