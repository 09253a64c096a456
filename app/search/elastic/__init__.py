"""The Elasticsearch / OpenSearch engine: the SearchEngine contract over one alias per kind and generation indices.

One module per concern: `clients` (the two clients behind one connection), `errors`, `retry`
(requests and their retry policy), `bulk` (bulk loading), `aliases` (the alias swap and old
generations), `msearch` (searches in one round trip), `paging` (search_after over one generation),
`health`, `builder` (a new generation) and `engine` (ElasticEngine, the contract's verbs). Every
request body comes from `app.search.es_queries`.
"""
from app.search import es_queries as q
from app.search.elastic.aliases import ABANDONED_AFTER
from app.search.elastic.builder import ElasticBuilder
from app.search.elastic.bulk import CHUNK_BYTES, CHUNK_DOCS
from app.search.elastic.clients import (
    FLAVORS,
    Connection,
    ConnectionConfig,
    ElasticsearchConnection,
    OpenSearchConnection,
    connect,
)
from app.search.elastic.engine import ElasticEngine
from app.search.elastic.errors import HttpError, IndexingError, SearchRequestError, Unreachable
from app.search.elastic.health import HEALTH_TIMEOUT_S, REPLICA_WAIT_S
from app.search.elastic.retry import RETRY_STATUSES

__all__ = ["ABANDONED_AFTER", "CHUNK_BYTES", "CHUNK_DOCS", "FLAVORS", "HEALTH_TIMEOUT_S", "REPLICA_WAIT_S",
           "RETRY_STATUSES", "Connection", "ConnectionConfig", "ElasticBuilder", "ElasticEngine",
           "ElasticsearchConnection", "HttpError", "IndexingError", "OpenSearchConnection", "SearchRequestError",
           "Unreachable", "connect", "q"]
