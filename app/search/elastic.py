"""The Elasticsearch / OpenSearch engine: the SearchEngine contract over one alias per kind and generation indices.

The only module that imports a client: the official `elasticsearch` client talks to
Elasticsearch 8/9, `opensearch-py` to OpenSearch 2.x, both through the same four-method
connection below, so every request body comes from `app.search.es_queries` and is identical for
both. Retries with exponential backoff (429, 5xx, connection errors, timeouts) live here, once,
rather than in either client; after them the engine raises EngineUnavailable, which the API
turns into a 503.
"""
from __future__ import annotations

import functools
import logging
import random
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol

import orjson

from app.clock import SYSTEM_CLOCK, Clock
from app.search import es_queries as q
from app.search.contract import (
    KINDS,
    EngineUnavailable,
    Hit,
    MatchQuery,
    PublishOnSuccess,
    RankedCandidates,
    SearchResult,
    merge_page,
)
from ranking.linear import LinearSpec

log = logging.getLogger(__name__)

FLAVORS = ("elasticsearch", "opensearch")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: A bulk request carries at most this many documents or bytes: memory stays bounded whatever the
#: source size, and each request stays far below http.max_content_length (100 MB).
CHUNK_DOCS = 1000
CHUNK_BYTES = 5 * 2**20
#: An unpublished generation older than this belongs to a build that died; a younger one may be
#: another process's build in progress and is left alone.
ABANDONED_AFTER = timedelta(hours=24)
HEALTH_TIMEOUT_S = 3.0
#: How long a publication waits for the replicas of a new generation before swapping anyway (yellow).
REPLICA_WAIT_S = 60.0


class HttpError(Exception):
    """The engine answered with an error status."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {_reason(body)}")
        self.status = status
        self.body = body


class Unreachable(Exception):
    """No answer: connection refused or reset, DNS failure, timeout."""


class SearchRequestError(RuntimeError):
    """The engine rejected a request (a bug or a mapping mismatch, not an outage)."""


class IndexingError(RuntimeError):
    """Documents the engine refused to index; the message lists the first reasons."""


def _reason(body: Any) -> str:
    """The engine's own words for an error: type, reason and the first root cause."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        text = f"{error.get('type')}: {error.get('reason')}"
        causes = error.get("root_cause") or [f.get("reason") for f in error.get("failed_shards", [])]
        if causes and isinstance(causes[0], dict):
            cause = causes[0]
            text += f" (root cause {cause.get('type')}: {cause.get('reason')}"
            script = cause.get("script_stack") or (cause.get("caused_by") or {}).get("reason")
            text += f"; {script})" if script else ")"
        return text
    return str(body)[:300]


# ----- connections ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectionConfig:
    """How to reach the cluster: flavor, URL (credentials may sit in it), API key, TLS, timeout.

    `url` may list several nodes of one cluster, comma-separated: the client spreads requests over
    them and, when one stops answering, marks it dead and sends the engine's retry to another.
    """

    flavor: str
    url: str
    api_key: str = ""
    ca_certs: str = ""
    verify_certs: bool = True
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}, got {self.flavor!r}")
        # An empty list or two different sets of credentials are refused here, not at the first request.
        if not self.split_hosts()[0]:
            raise ValueError("the cluster URL is empty")

    def split_hosts(self) -> tuple[list[str], tuple[str, str] | None]:
        """Every node URL without user information, and (user, password) when one URL had some.

        Credentials given once apply to every node; two URLs with different ones are an error.
        """
        hosts: list[str] = []
        basic: tuple[str, str] | None = None
        for url in filter(None, (part.strip() for part in self.url.split(","))):
            clean, credentials = _split_credentials(url)
            if credentials and basic and credentials != basic:
                raise ValueError("the URLs of SEARCH_URL carry different credentials")
            basic = basic or credentials
            hosts.append(clean)
        return hosts, basic

    def split_url(self) -> tuple[str, tuple[str, str] | None]:
        """The URL(s) without user information (comma-separated), and (user, password) when there were some."""
        hosts, basic = self.split_hosts()
        return ",".join(hosts), basic


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    parts = urllib.parse.urlsplit(url)
    if not parts.username:
        return url, None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    clean = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))


class Connection(Protocol):
    """One client, as the engine uses it: raw requests in, decoded JSON out."""

    def request(self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None,
                ndjson: bool = False, timeout_s: float | None = None) -> Any:
        """Send one request; raise HttpError on an error status and Unreachable without an answer."""

    def close(self) -> None:
        """Close the connection pool."""


class ElasticsearchConnection:
    """The official Elasticsearch client (8.x, which Elasticsearch 9 also accepts in compatibility mode)."""

    def __init__(self, config: ConnectionConfig) -> None:
        from elasticsearch import Elasticsearch

        _quiet("elastic_transport.transport")
        hosts, basic = config.split_hosts()
        options: dict[str, Any] = {"request_timeout": config.timeout_s, "max_retries": 0, "retry_on_timeout": False,
                                   "retry_on_status": ()}
        if basic:
            options["basic_auth"] = basic
        if config.api_key:
            options["api_key"] = config.api_key
        if any(host.startswith("https") for host in hosts):
            options["verify_certs"] = config.verify_certs
            if config.ca_certs:
                options["ca_certs"] = config.ca_certs
        # Several hosts: a node that fails a request is marked dead and the next attempt goes elsewhere.
        self.client = Elasticsearch(hosts, **options)

    def request(self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None,
                ndjson: bool = False, timeout_s: float | None = None) -> Any:
        import elastic_transport
        import elasticsearch

        # The client turns these into the vendored `compatible-with=8` types an Elasticsearch 8/9 expects.
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/x-ndjson" if ndjson else "application/json"
        client = self.client if timeout_s is None else self.client.options(request_timeout=timeout_s)
        try:
            return client.perform_request(method, path, params=params, headers=headers, body=body).body
        except elasticsearch.ApiError as exc:
            raise HttpError(exc.meta.status, exc.body) from exc
        except elastic_transport.TransportError as exc:
            raise Unreachable(str(exc)) from exc

    def close(self) -> None:
        self.client.close()


class OpenSearchConnection:
    """The opensearch-py client, for OpenSearch 2.x."""

    def __init__(self, config: ConnectionConfig) -> None:
        from opensearchpy import OpenSearch

        _quiet("opensearch")
        hosts, basic = config.split_hosts()
        # max_retries 0: the engine retries, not the client. retry_on_timeout only makes the client mark
        # a node that timed out dead (as it does one that refused), so the engine's retry goes elsewhere.
        options: dict[str, Any] = {"timeout": config.timeout_s, "max_retries": 0, "retry_on_timeout": True,
                                   "retry_on_status": ()}
        if basic:
            options["http_auth"] = basic
        if config.api_key:
            options["headers"] = {"authorization": f"ApiKey {config.api_key}"}
        if any(host.startswith("https") for host in hosts):
            options.update(use_ssl=True, verify_certs=config.verify_certs)
            if config.ca_certs:
                options["ca_certs"] = config.ca_certs
        self.client = OpenSearch(hosts=hosts, **options)
        self.timeout_s = config.timeout_s

    def request(self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None,
                ndjson: bool = False, timeout_s: float | None = None) -> Any:
        from opensearchpy import exceptions

        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/x-ndjson" if ndjson else "application/json"
            if ndjson:
                body = b"".join(orjson.dumps(line) + b"\n" for line in body).decode()
        try:
            # Always an explicit client timeout: without one, opensearch-py takes a `timeout` parameter
            # meant for the server (the health wait's "60s") as its own and fails on it.
            return self.client.transport.perform_request(method, path, params=params, body=body, headers=headers,
                                                         timeout=timeout_s or self.timeout_s)
        except exceptions.TransportError as exc:
            if isinstance(exc.status_code, int):
                raise HttpError(exc.status_code, exc.info) from exc
            raise Unreachable(str(exc)) from exc

    def close(self) -> None:
        self.client.close()


def _quiet(logger_name: str) -> None:
    """Clients log every request at INFO, which would drown the service's logs; keep their warnings."""
    logger = logging.getLogger(logger_name)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def connect(config: ConnectionConfig) -> Connection:
    """The client for the configured flavor."""
    if config.flavor == "elasticsearch":
        return ElasticsearchConnection(config)
    return OpenSearchConnection(config)


# ----- builder -------------------------------------------------------------------------------------
class ElasticBuilder(PublishOnSuccess):
    """A generation index being filled; the alias keeps pointing at the published one until `publish()`."""

    def __init__(self, engine: "ElasticEngine", kind: str) -> None:
        self.engine = engine
        self.kind = kind
        now = datetime.now(timezone.utc)
        # Index names are lowercase; the random tail keeps two builders of one microsecond apart.
        self.generation = f"{now.strftime('%Y%m%d%H%M%S%f')}-{secrets.token_hex(3)}"
        self.index = q.index_name(engine.prefix, kind, self.generation)
        self.count = 0
        self._closed = False
        meta = {"kind": kind, "generation": self.generation, "state": "building",
                "created_at": now.isoformat(timespec="seconds")}
        engine._call("PUT", f"/{self.index}",
                     body=q.index_body(kind, engine.flavor, shards=engine.shards, meta=meta,
                                       replicas=engine.replicas))

    def add(self, documents: Iterable[dict[str, Any]]) -> int:
        """Bulk-load documents in chunks of at most CHUNK_DOCS documents or CHUNK_BYTES bytes."""
        added = 0
        for chunk in _chunks(documents):
            self.engine._bulk(q.bulk_index_lines(self.index, chunk))
            added += len(chunk)
        self.count += added
        return added

    def publish(self) -> None:
        """Restore serving settings, refresh, then swap the alias atomically and drop older generations.

        Any failure before the swap deletes this generation (the alias has not moved); a failure to
        drop old generations afterwards is only logged, the next publication retries it.
        """
        if self._closed:
            raise RuntimeError("generation already published or discarded")
        engine = self.engine
        try:
            previous = self._prepare_and_swap()
        except BaseException:
            self.discard()
            raise
        self._closed = True
        try:
            engine._drop_old_generations(self.kind, keep={self.index, *previous})
        except (HttpError, EngineUnavailable) as exc:
            log.warning("could not drop old %s generations: %s", self.kind, exc)
        log.info("published %s generation %s (%d documents)", self.kind, self.generation, self.count)

    def _prepare_and_swap(self) -> list[str]:
        """The steps up to the alias swap; returns the generations the alias left."""
        engine = self.engine
        engine._call("PUT", f"/{self.index}/_settings", body=q.serving_settings(engine.replicas))
        engine._call("POST", f"/{self.index}/_refresh")
        if engine.replicas:
            health = engine._wait_for_green(self.index)
            if health.get("timed_out"):
                log.warning("%s: replicas not all allocated before the swap (status %s)", self.index,
                            health.get("status"))
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        engine._call("PUT", f"/{self.index}/_mapping", body={"_meta": {
            "kind": self.kind, "generation": self.generation, "state": "published", "published_at": now}})
        previous = engine._alias_targets(self.kind)
        engine._call("POST", "/_aliases", body=q.alias_swap(engine.alias(self.kind), self.index, previous))
        return previous

    def discard(self) -> None:
        """Delete the partial index; the alias and the published generation are untouched."""
        if self._closed:
            return
        self._closed = True
        try:
            self.engine._delete_index(self.index)
        except (HttpError, EngineUnavailable) as exc:
            # The engine is down: the next new_generation() removes the index once it is old enough.
            log.warning("could not delete the partial index %s: %s", self.index, exc)



def _chunks(documents: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    size = 0
    for doc in documents:
        chunk.append(doc)
        size += len(orjson.dumps(doc))
        if len(chunk) >= CHUNK_DOCS or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


# ----- engine --------------------------------------------------------------------------------------
class _Transient(Exception):
    """A failure worth retrying."""


class ElasticEngine:
    """SearchEngine on Elasticsearch or OpenSearch: alias `<prefix>-<kind>` → index `<prefix>-<kind>-<generation>`."""

    def __init__(self, config: ConnectionConfig, prefix: str = "lba", shards: int = 1, replicas: int = 0,
                 retries: int = 3, backoff_s: float = 0.2,
                 connection_factory: Callable[[ConnectionConfig], Connection] = connect,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.config = config
        self.clock = clock  # "today" of the expiry filter: the Paris day, the one the match service scores with
        self.flavor = config.flavor
        self.prefix = prefix
        self.shards = shards
        self.replicas = replicas
        self.retries = retries
        self.backoff_s = backoff_s
        self._factory = connection_factory
        # One client per thread, closed by that thread's close(), like the embedded engine's connections.
        self._local = threading.local()

    # ----- plumbing --------------------------------------------------------------------------------
    def _connection(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._factory(self.config)
        return conn

    def close(self) -> None:
        """Close this thread's client."""
        conn = self._local.__dict__.pop("conn", None)
        if conn is not None:
            conn.close()

    def alias(self, kind: str) -> str:
        """The alias of `kind`."""
        return q.alias_name(self.prefix, kind)

    def _call(self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None,
              ndjson: bool = False) -> Any:
        """One request with retries; EngineUnavailable once they are spent, HttpError for other statuses."""
        return self._retrying(lambda: self._once(method, path, params, body, ndjson), f"{method} {path}")

    def _once(self, method: str, path: str, params: dict[str, str] | None, body: Any, ndjson: bool) -> Any:
        try:
            return self._connection().request(method, path, params=params, body=body, ndjson=ndjson)
        except HttpError as exc:
            if exc.status in RETRY_STATUSES:
                raise _Transient(str(exc)) from exc
            if exc.status in (401, 403):
                raise EngineUnavailable(f"{self.flavor} refused the credentials: {exc}") from exc
            raise
        except Unreachable as exc:
            raise _Transient(str(exc)) from exc

    def _retrying(self, attempt: Callable[[], Any], what: str) -> Any:
        for number in range(self.retries + 1):
            try:
                return attempt()
            except _Transient as exc:
                if number == self.retries:
                    raise EngineUnavailable(f"{self.flavor} at {self.config.split_url()[0]} failed {what}"
                                            f" after {number + 1} attempts: {exc}") from exc
                # Exponential backoff with jitter, so a cluster shedding load is not hit in lockstep.
                delay = self.backoff_s * 2 ** number * (0.5 + random.random())
                log.warning("%s failed (%s); retrying in %.2f s", what, exc, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _wait_for_green(self, index: str) -> dict[str, Any]:
        """The health of `index` once every copy is allocated, or after REPLICA_WAIT_S (then `timed_out`).

        Asked in server-side waits shorter than the client timeout: one long wait would end in a
        client timeout, and retrying a wait as a failure only multiplies it.
        """
        deadline = time.monotonic() + REPLICA_WAIT_S
        while True:
            wait_s = max(1, int(min(deadline - time.monotonic(), self.config.timeout_s / 2)))
            try:
                health = self._call("GET", f"/_cluster/health/{index}",
                                    params={"wait_for_status": "green", "timeout": f"{wait_s}s"})
            except HttpError as exc:
                if exc.status != 408 or not isinstance(exc.body, dict):  # 408: the wait ran out, body says so
                    raise
                health = exc.body
            if not health.get("timed_out") or time.monotonic() >= deadline:
                return health

    def _bulk(self, lines: list[dict[str, Any]], params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Send bulk lines; items refused with 429 are resent with backoff, other refusals raise IndexingError."""
        pending = lines
        results: list[dict[str, Any]] = []
        for number in range(self.retries + 1):
            answer = self._call("POST", "/_bulk", params=params, body=pending, ndjson=True)
            items = answer["items"]
            if not answer.get("errors"):
                return results + items
            retry, failed = [], []
            for position, item in enumerate(_item_results(items)):
                if item.get("status") == 429:
                    retry.extend(_action_lines(pending, position))
                elif "error" in item:
                    failed.append(item)
                else:
                    results.append(items[position])
            if failed:
                reasons = "; ".join(f"{f.get('_id')}: {_reason({'error': f.get('error')})}" for f in failed[:5])
                raise IndexingError(f"{len(failed)} documents refused by {self.flavor}: {reasons}")
            if not retry:
                return results
            pending = retry
            time.sleep(self.backoff_s * 2 ** number * (0.5 + random.random()))
        raise EngineUnavailable(f"{self.flavor} kept refusing {len(pending) // 2} documents with 429")

    def _msearch(self, requests: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any] | None]:
        """Several searches in one round trip; None for a target that does not exist (no published index)."""
        if not requests:
            return []
        lines: list[dict[str, Any]] = []
        for target, body in requests:
            lines.extend(({"index": target}, body))

        def attempt() -> list[dict[str, Any] | None]:
            try:
                answers = self._once("POST", "/_msearch", None, lines, True)["responses"]
            except HttpError as exc:
                raise SearchRequestError(f"{self.flavor} rejected a search: {exc}") from exc
            out: list[dict[str, Any] | None] = []
            for answer in answers:
                status = answer.get("status", 200)
                if "error" in answer:
                    if status == 404:
                        out.append(None)
                        continue
                    if status in RETRY_STATUSES:
                        raise _Transient(_reason(answer))
                    raise SearchRequestError(f"{self.flavor} rejected a search: {_reason(answer)}")
                _check_shards(answer)
                out.append(answer)
            return out

        return self._retrying(attempt, "POST /_msearch")

    def _answers(self, kinds: list[str], body_for: Callable[[str], dict[str, Any]]) -> list[dict[str, Any] | None]:
        """First pages of every kind in one _msearch; None for a kind without a published index.

        A 404 for a kind whose alias exists means its index was deleted between the alias
        resolution and the search (two swaps in a few ms): that kind is asked again.
        """
        answers = self._msearch([(self.alias(kind), body_for(kind)) for kind in kinds])
        for position, kind in enumerate(kinds):
            if answers[position] is None and self._alias_targets(kind):
                answers[position] = self._search(self.alias(kind), body_for(kind))
        return answers

    def _search(self, target: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """One search, retried like the others; None when the target index or alias does not exist."""
        def attempt() -> dict[str, Any] | None:
            try:
                answer = self._once("POST", f"/{target}/_search", None, body, False)
            except HttpError as exc:
                if exc.status == 404:
                    return None
                raise SearchRequestError(f"{self.flavor} rejected a search: {exc}") from exc
            _check_shards(answer)
            return answer

        return self._retrying(attempt, f"POST /{target}/_search")

    def _alias_targets(self, kind: str) -> list[str]:
        """Indices the alias of `kind` points at (one, or none before the first publication)."""
        # Asked of the generation pattern rather than of the alias, which answers 404 when absent.
        answer = self._call("GET", f"/{self.alias(kind)}-*/_alias",
                            params={"ignore_unavailable": "true", "allow_no_indices": "true"})
        return sorted(index for index, body in answer.items() if self.alias(kind) in body.get("aliases", {}))

    def _require_alias(self, kind: str) -> str:
        _check_kind(kind)
        if not self._alias_targets(kind):
            raise EngineUnavailable(f"no published {kind} index")
        return self.alias(kind)

    def _delete_index(self, index: str) -> None:
        try:
            self._call("DELETE", f"/{index}")
        except HttpError as exc:
            if exc.status != 404:
                raise

    def _generations(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every generation index of `kind` with its `_meta`."""
        mappings = self._call("GET", f"/{self.alias(kind)}-*/_mapping",
                              params={"ignore_unavailable": "true", "allow_no_indices": "true"})
        return {index: body.get("mappings", {}).get("_meta", {}) for index, body in mappings.items()}

    def _drop_old_generations(self, kind: str, keep: set[str]) -> None:
        """Delete generations other than `keep` (the new one and the one readers may still be on).

        A generation still building is kept unless it is older than ABANDONED_AFTER.
        """
        cutoff = datetime.now(timezone.utc) - ABANDONED_AFTER
        for index, meta in self._generations(kind).items():
            if index in keep:
                continue
            if meta.get("state") == "building" and _created(meta) > cutoff:
                continue
            self._delete_index(index)

    # ----- writes ----------------------------------------------------------------------------------
    def new_generation(self, kind: str) -> ElasticBuilder:
        """Start a new generation of `kind`, after deleting generations whose build died long ago."""
        _check_kind(kind)
        cutoff = datetime.now(timezone.utc) - ABANDONED_AFTER
        for index, meta in self._generations(kind).items():
            if meta.get("state") == "building" and _created(meta) <= cutoff:
                self._delete_index(index)
        return ElasticBuilder(self, kind)

    def upsert(self, kind: str, documents: Iterable[dict[str, Any]]) -> int:
        """Add or replace documents in the published generation; visible to the next search."""
        alias = self._require_alias(kind)
        count = 0
        for chunk in _chunks(documents):
            # require_alias: a write must never create a stray index named like the alias.
            self._bulk(q.bulk_index_lines(alias, chunk), params={"refresh": "true", "require_alias": "true"})
            count += len(chunk)
        return count

    def delete(self, kind: str, ids: Iterable[str]) -> int:
        """Delete documents by id from the published generation; returns how many existed."""
        alias = self._require_alias(kind)
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if not wanted:
            return 0
        items = self._bulk(q.bulk_delete_lines(alias, wanted), params={"refresh": "true"})
        return sum(1 for item in _item_results(items) if item.get("result") == "deleted")

    # ----- reads -----------------------------------------------------------------------------------
    def search(self, query: MatchQuery) -> SearchResult:
        """One page of candidates by exact distance (then kind order, then id) over the asked kinds."""
        limit = None if query.page_size is None else query.page * query.page_size
        size = q.SCAN_SIZE if limit is None else min(limit, q.SCAN_SIZE)
        today = self.clock.today()
        kinds = list(dict.fromkeys(query.kinds))
        answers = self._answers(kinds, lambda kind: q.search_body(query, today, size))
        per_kind: list[list[Hit]] = []
        totals: dict[str, int] = {}
        generations: dict[str, str] = {}
        for kind, answer in zip(kinds, answers):
            if answer is None:
                totals[kind] = 0
                continue
            total = answer["hits"]["total"]["value"]
            want = total if limit is None else min(limit, total)
            raw = self._collect(kind, answer, want, size, lambda after: q.search_body(query, today, size, after))
            per_kind.append([q.hit_from(kind, h, query) for h in raw])
            totals[kind] = total
            generation = self._generation_of(kind, raw)
            if generation:
                generations[kind] = generation
        page = merge_page(per_kind, query)
        return SearchResult(hits=page, totals=totals, generation=generations)

    def rank(self, query: MatchQuery, specs: dict[str, LinearSpec], sort: str, limit: int) -> RankedCandidates:
        """Per asked kind: the `limit` best candidates by the ranking formula run in the engine, totals, facets."""
        today = self.clock.today()
        kinds = list(dict.fromkeys(query.kinds))
        size = min(limit, q.SCAN_SIZE)
        answers = self._answers(kinds, lambda kind: q.rank_body(query, specs[kind], sort, today, size))
        hits: list[Hit] = []
        totals: dict[str, int] = {}
        facets: dict[str, dict[str, dict[str, int]]] = {}
        generations: dict[str, str] = {}
        for kind, answer in zip(kinds, answers):
            if answer is None:
                totals[kind] = 0
                facets[kind] = {"diploma": {}, "contract": {}, "distance": {}}
                continue
            total = answer["hits"]["total"]["value"]
            totals[kind] = total
            facets[kind] = q.facets_from(answer.get("aggregations"), query.located, total)
            raw = self._collect(kind, answer, min(limit, total), size, functools.partial(
                _next_rank_body, query, specs[kind], sort, today, size))
            position = _total_position(query, sort)
            hits.extend(q.hit_from(kind, h, query, rank_score=float(h["sort"][position])) for h in raw)
            generation = self._generation_of(kind, raw)
            if generation:
                generations[kind] = generation
        return RankedCandidates(hits=hits, totals=totals, facets=facets, generation=generations)

    def iter_candidates(self, query: MatchQuery) -> Iterator[Hit]:
        """Every candidate of every asked kind, read in pages by id, with text scores when asked."""
        today = self.clock.today()
        for kind in dict.fromkeys(query.kinds):
            first = self._search(self.alias(kind), q.scan_body(query, today))
            if first is None:
                continue
            raw = self._collect(kind, first, None, q.SCAN_SIZE,
                                lambda after: q.scan_body(query, today, search_after=after))
            yield from (q.hit_from(kind, h, query) for h in raw)

    def _collect(self, kind: str, first: dict[str, Any], want: int | None, size: int,
                 body_for: Callable[[list[Any] | None], dict[str, Any]]) -> list[dict[str, Any]]:
        """Hits of `first` and of the following pages of `size` (search_after), up to `want` (None: all).

        Later pages go to the concrete index of the first answer, not to the alias, so a swap in
        between cannot mix two generations; if that index is gone (two swaps since), start again.
        """
        for _ in range(3):
            raw = list(first["hits"]["hits"])
            index = raw[0]["_index"] if len(raw) == size else None  # a short page is the last one
            complete = True
            while index and (want is None or len(raw) < want):
                answer = self._search(index, body_for(raw[-1]["sort"]))
                if answer is None:
                    complete = False
                    break
                page = answer["hits"]["hits"]
                raw.extend(page)
                if len(page) < size:
                    break
            if complete:
                return raw if want is None else raw[:want]
            restarted = self._search(self.alias(kind), body_for(None))
            if restarted is None:
                return []
            first = restarted
        raise EngineUnavailable(f"{self.alias(kind)} kept changing generation while being read")

    def _generation_of(self, kind: str, raw: list[dict[str, Any]]) -> str | None:
        """The generation that answered: from the hits, else from the alias."""
        if raw:
            return q.generation_of(self.prefix, kind, raw[0]["_index"])
        targets = self._alias_targets(kind)
        return q.generation_of(self.prefix, kind, targets[0]) if targets else None

    def get_many(self, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Documents by id from the published generation of `kind`, as they were given."""
        _check_kind(kind)
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if not wanted:
            return {}
        try:
            answer = self._call("POST", f"/{self.alias(kind)}/_mget", body={"ids": wanted})
        except HttpError as exc:
            if exc.status == 404:
                return {}
            raise SearchRequestError(f"{self.flavor} rejected a get: {exc}") from exc
        return {d["_id"]: d["_source"] for d in answer["docs"] if d.get("found")}

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per kind: published generation, documents and publication time (None when nothing is published)."""
        aliases = ",".join(self.alias(kind) for kind in KINDS)
        mappings = self._call("GET", f"/{aliases}/_mapping",
                              params={"ignore_unavailable": "true", "allow_no_indices": "true"})
        published: dict[str, tuple[str, dict[str, Any]]] = {}
        for index, body in mappings.items():
            meta = body.get("mappings", {}).get("_meta", {})
            if meta.get("kind") in KINDS:
                published[meta["kind"]] = (index, meta)
        kinds = [kind for kind in KINDS if kind in published]  # a fixed order, whatever the answer's
        counts = self._msearch([(published[kind][0], {"size": 0, "track_total_hits": True}) for kind in kinds])
        out: dict[str, dict[str, Any]] = {}
        for kind in KINDS:
            out[kind] = {"generation": None, "documents": 0, "published_at": None}
        for kind, answer in zip(kinds, counts):
            meta = published[kind][1]
            out[kind] = {"generation": meta.get("generation"),
                         "documents": answer["hits"]["total"]["value"] if answer else 0,
                         "published_at": meta.get("published_at")}
        return out

    def health(self) -> bool:
        """True when the cluster answers quickly and is not red (no retries: /healthz must answer fast)."""
        try:
            answer = self._connection().request("GET", "/_cluster/health", timeout_s=HEALTH_TIMEOUT_S)
        except (HttpError, Unreachable) as exc:
            log.warning("%s health check failed: %s", self.flavor, exc)
            return False
        return answer.get("status") in ("green", "yellow")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")


def _check_shards(answer: dict[str, Any]) -> None:
    """Partial answers (a shard failed, e.g. an index deleted mid-query) are retried, never returned."""
    shards = answer.get("_shards") or {}
    if shards.get("failed"):
        raise _Transient(f"{shards['failed']} shard(s) failed: {shards.get('failures', [])[:1]}")


def _created(meta: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(meta["created_at"])
    except (KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)


def _item_results(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The result object of each bulk item, whatever its action."""
    for item in items:
        yield next(iter(item.values()))


def _action_lines(lines: list[dict[str, Any]], position: int) -> list[dict[str, Any]]:
    """The lines of the `position`-th action: two for index, one for delete."""
    index = 0
    for number in range(position + 1):
        start = index
        index += 1 if "delete" in lines[index] else 2
        if number == position:
            return lines[start:index]
    return []


def _next_rank_body(query: MatchQuery, spec: LinearSpec, sort: str, today: date, size: int,
                    after: list[Any] | None) -> dict[str, Any]:
    """A following page of `rank`: facets were counted with the first one."""
    return q.rank_body(query, spec, sort, today, size, after, with_facets=False)


def _total_position(query: MatchQuery, sort: str) -> int:
    """Where the ranking total sits among a rank hit's sort values (see es_queries.rank_sort)."""
    if sort == "distance" and query.located:
        return 1
    return 1 if sort == "date" else 0

