"""The two clients behind one four-method connection: the official Elasticsearch client and opensearch-py.

The only module that imports a client: every request body comes from `app.search.es_queries` and
is identical for both. Neither client retries: the engine does (`app.search.elastic.retry`).
"""
from __future__ import annotations

import logging
import urllib.parse
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from app.search.elastic.errors import HttpError, Unreachable

FLAVORS = ("elasticsearch", "opensearch")


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
        options.update(_tls_options(config, hosts))
        # Several hosts: a node that fails a request is marked dead and the next attempt goes elsewhere.
        self.client = Elasticsearch(hosts, **options)

    def request(self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None,
                ndjson: bool = False, timeout_s: float | None = None) -> Any:
        import elastic_transport
        import elasticsearch

        # The client turns these into the vendored `compatible-with=8` types an Elasticsearch 8/9 expects.
        headers = _headers(body, ndjson)
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
        tls = _tls_options(config, hosts)
        if tls:
            options.update(use_ssl=True, **tls)
        self.client = OpenSearch(hosts=hosts, **options)
        self.timeout_s = config.timeout_s

    def request(self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None,
                ndjson: bool = False, timeout_s: float | None = None) -> Any:
        from opensearchpy import exceptions

        headers = _headers(body, ndjson)
        if body is not None and ndjson:
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


def _tls_options(config: ConnectionConfig, hosts: list[str]) -> dict[str, Any]:
    """Certificate checking and its CA bundle, which only mean something when a node speaks HTTPS."""
    if not any(host.startswith("https") for host in hosts):
        return {}
    options: dict[str, Any] = {"verify_certs": config.verify_certs}
    if config.ca_certs:
        options["ca_certs"] = config.ca_certs
    return options


def _headers(body: Any, ndjson: bool) -> dict[str, str]:
    """JSON answers asked for; a body goes as NDJSON (bulk, multi-search) or as one JSON document."""
    headers = {"accept": "application/json"}
    if body is not None:
        headers["content-type"] = "application/x-ndjson" if ndjson else "application/json"
    return headers


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
