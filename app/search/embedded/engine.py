"""EmbeddedEngine: the SearchEngine contract over the files of `root/<kind>/`, one method per contract verb."""
from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from app.clock import SYSTEM_CLOCK, Clock
from app.search.contract import KINDS, EngineUnavailable, Hit, MatchQuery, RankedCandidates, SearchResult, merge_page
from app.search.embedded import live_updates
from app.search.embedded.builder import EmbeddedBuilder
from app.search.embedded.cleanup import drop_dead_builds
from app.search.embedded.facets import facets
from app.search.embedded.grid import Area
from app.search.embedded.hits import hits, text_scores
from app.search.embedded.rank import scores
from app.search.embedded.scan import Candidates, candidates
from app.search.embedded.select import PY_SORT, select, sort_keys
from app.search.embedded.snapshots import Snapshots, View
from ranking.linear import LinearSpec

#: Wall-clock budget of one request's text scoring, over all kinds: past it the candidates not yet
#: scored keep a text score of 0. Large enough for the national data's common queries (a few ms),
#: small enough that no text can hold a worker.
TEXT_BUDGET_S = 0.05


class EmbeddedEngine:
    """SearchEngine on files under `root/<kind>/`; safe for many reader threads and processes."""

    def __init__(self, root: str | Path, text_budget_s: float = TEXT_BUDGET_S, clock: Clock = SYSTEM_CLOCK) -> None:
        self.root = Path(root)
        self.clock = clock  # "today" of the expiry filter: the Paris day, the one the match service scores with
        self.text_budget_s = text_budget_s
        self.budget_exceeded = 0  # requests whose text scoring hit the budget (a counter for tests and logs)
        self._local = threading.local()  # this thread's scratch arrays (scan.distinct)
        self._write_lock = threading.Lock()
        self._snapshots = Snapshots(self.root)

    def close(self) -> None:
        """Close this thread's connections."""
        self._snapshots.close()

    # ----- writes ------------------------------------------------------------------------------
    def new_generation(self, kind: str) -> EmbeddedBuilder:
        """Start a new generation of `kind` (after removing half-built files of dead builders)."""
        self._check_kind(kind)
        drop_dead_builds(self.root, kind)
        return EmbeddedBuilder(self.root, kind)

    def upsert(self, kind: str, documents: Iterable[dict[str, Any]]) -> int:
        """Add or replace documents in the published generation, in one transaction."""
        conn = self._require(kind)
        docs = list(documents)
        with self._write_lock:
            live_updates.upsert(conn, docs)
        return len(docs)

    def delete(self, kind: str, ids: Iterable[str]) -> int:
        """Delete documents by id from the published generation."""
        conn = self._require(kind)
        with self._write_lock:
            return live_updates.delete(conn, [str(i) for i in ids])

    # ----- reads -------------------------------------------------------------------------------
    def search(self, query: MatchQuery) -> SearchResult:
        """One page of candidates by distance (then kind order, then id) over the asked kinds."""
        limit = None if query.page_size is None else query.page * query.page_size
        per_kind: list[list[Hit]] = []
        area = Area.of(query)
        deadline = self._deadline()
        totals: dict[str, int] = {}
        generations: dict[str, str] = {}
        for kind in query.kinds:
            with self._snapshots.snapshot(kind) as view:
                if view is None:
                    totals[kind] = 0
                    continue
                generations[kind] = view.generation
                cands = self._candidates(kind, view, query, area)
                totals[kind] = len(cands)
                keys = [cands.c2, cands.idrank] if cands.c2 is not None else [cands.idrank]
                chosen = select(keys, np.arange(len(cands)), len(cands) if limit is None else limit)
                ts = None
                if query.text:
                    # Only the hits that can be on the page are text-scored.
                    ts = np.zeros(len(cands))
                    ts[chosen] = self._text_scores(view, cands.take(chosen), query.text, deadline)
                found = hits(kind, view, cands, chosen, ts)
            found.sort(key=lambda pair: (pair[1][0], pair[0].id))
            per_kind.append([hit for hit, _ in found[:limit]])
        page = merge_page(per_kind, query)
        return SearchResult(hits=page, totals=totals, generation=generations)

    def iter_candidates(self, query: MatchQuery) -> Iterator[Hit]:
        """Every candidate of every asked kind (no order promised), with text scores when asked."""
        area = Area.of(query)
        deadline = self._deadline()
        for kind in query.kinds:
            with self._snapshots.snapshot(kind) as view:
                if view is None:
                    continue
                cands = self._candidates(kind, view, query, area)
                ts = self._text_scores(view, cands, query.text, deadline) if query.text else None
                found = hits(kind, view, cands, np.arange(len(cands)), ts)
            yield from (hit for hit, _ in found)

    def rank(self, query: MatchQuery, specs: dict[str, LinearSpec], sort: str, limit: int) -> RankedCandidates:
        """Per asked kind: the `limit` best candidates by the ranking formula, totals and facets.

        The formula is `ranking.score` written with numpy operation for operation (`rank.scores`), so
        the match service re-scores these few candidates in Python and gets the same order; tests
        compare both on every candidate.
        """
        ranked_hits: list[Hit] = []
        totals: dict[str, int] = {}
        kind_facets: dict[str, dict[str, dict[str, int]]] = {}
        area = Area.of(query)
        deadline = self._deadline()
        generations: dict[str, str] = {}
        for kind in query.kinds:
            with self._snapshots.snapshot(kind) as view:
                if view is None:
                    totals[kind] = 0
                    kind_facets[kind] = {"diploma": {}, "contract": {}, "distance": {}}
                    continue
                generations[kind] = view.generation
                cands = self._candidates(kind, view, query, area)
                totals[kind] = len(cands)
                kind_facets[kind] = facets(cands)
                if not len(cands):
                    continue
                ts = self._text_scores(view, cands, query.text, deadline) if query.text else None
                total = scores(cands, specs[kind], view.decoder, ts)
                chosen = select(sort_keys(sort, cands, total), np.arange(len(cands)), limit)
                ranked = hits(kind, view, cands, chosen, ts, total)
            ranked.sort(key=PY_SORT[sort])
            ranked_hits.extend(hit for hit, _ in ranked[:limit])
        return RankedCandidates(hits=ranked_hits, totals=totals, facets=kind_facets, generation=generations)

    def _deadline(self) -> float:
        """When this request's text scoring must stop (perf_counter seconds)."""
        return time.perf_counter() + self.text_budget_s

    def _candidates(self, kind: str, view: View, query: MatchQuery, area: Area | None) -> Candidates:
        scratch = self._local.__dict__.setdefault("scratch", {})
        return candidates(view, query, area, self.clock.today(), scratch, kind)

    def _text_scores(self, view: View, cands: Candidates, text: str, deadline: float) -> np.ndarray:
        return text_scores(view, cands, text, deadline, self.text_budget_s, self._count_exceeded)

    def _count_exceeded(self) -> None:
        self.budget_exceeded += 1

    def get_many(self, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Documents by id from the published generation of `kind`."""
        self._check_kind(kind)
        conn = self._snapshots.conn(kind)
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if conn is None or not wanted:
            return {}
        rows = conn.execute("SELECT id, body FROM docs WHERE id IN (SELECT value FROM json_each(?))",
                            (orjson.dumps(wanted).decode(),)).fetchall()
        return {doc_id: orjson.loads(body) for doc_id, body in rows}

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per kind: published generation, documents and publication time (None when nothing is published)."""
        out: dict[str, dict[str, Any]] = {}
        for kind in KINDS:
            conn = self._snapshots.conn(kind)
            if conn is None:
                out[kind] = {"generation": None, "documents": 0, "published_at": None}
                continue
            values = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            out[kind] = {"generation": values.get("generation"), "documents": int(values.get("documents", 0)),
                         "published_at": values.get("published_at")}
        return out

    def health(self) -> bool:
        """True when the index directory is readable and every published generation opens."""
        try:
            for kind in KINDS:
                with self._snapshots.snapshot(kind) as view:
                    if view is not None:
                        view.conn.execute("SELECT 1 FROM meta LIMIT 1").fetchone()
            return True
        except (sqlite3.Error, EngineUnavailable, OSError):
            return False

    # ----- housekeeping ------------------------------------------------------------------------
    def _require(self, kind: str) -> sqlite3.Connection:
        self._check_kind(kind)
        conn = self._snapshots.conn(kind)
        if conn is None:
            raise EngineUnavailable(f"no published {kind} index")
        return conn

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
