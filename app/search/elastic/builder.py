"""The builder of a new generation index: bulk-loaded with refresh off, published by swapping the alias."""
from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from app.search import es_queries as q
from app.search.contract import EngineUnavailable, PublishOnSuccess
from app.search.elastic.bulk import chunks
from app.search.elastic.errors import HttpError

if TYPE_CHECKING:
    from app.search.elastic.engine import ElasticEngine

log = logging.getLogger(__name__)


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
        for chunk in chunks(documents):
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
        return engine._swap_alias(self.kind, self.index)

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
