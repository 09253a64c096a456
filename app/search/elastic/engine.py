"""ElasticEngine: the SearchEngine contract on Elasticsearch or OpenSearch, one method per contract verb.

Its plumbing comes from one mixin per concern: `retry` (requests and their retries), `bulk`,
`aliases` (aliases and generations), `msearch`, `paging` (search_after) and `health`.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from app.clock import SYSTEM_CLOCK, Clock
from app.search import es_queries as q
from app.search.contract import KINDS, Hit, MatchQuery, RankedCandidates, SearchResult, merge_page
from app.search.elastic.aliases import check_kind
from app.search.elastic.builder import ElasticBuilder
from app.search.elastic.bulk import Bulk, chunks, item_results
from app.search.elastic.clients import Connection, ConnectionConfig, connect
from app.search.elastic.errors import HttpError, SearchRequestError
from app.search.elastic.health import Health
from app.search.elastic.paging import Paging, next_rank_body, total_position
from ranking.linear import LinearSpec


class ElasticEngine(Bulk, Paging, Health):
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

    # ----- writes ----------------------------------------------------------------------------------
    def new_generation(self, kind: str) -> ElasticBuilder:
        """Start a new generation of `kind`, after deleting generations whose build died long ago."""
        check_kind(kind)
        self._drop_abandoned_builds(kind)
        return ElasticBuilder(self, kind)

    def upsert(self, kind: str, documents: Iterable[dict[str, Any]]) -> int:
        """Add or replace documents in the published generation; visible to the next search."""
        alias = self._require_alias(kind)
        count = 0
        for chunk in chunks(documents):
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
        return sum(1 for item in item_results(items) if item.get("result") == "deleted")

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
                next_rank_body, query, specs[kind], sort, today, size))
            position = total_position(query, sort)
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

    def get_many(self, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Documents by id from the published generation of `kind`, as they were given."""
        check_kind(kind)
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
