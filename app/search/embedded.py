"""The embedded search engine: SQLite files for documents and text, memory-mapped posting columns for geo + job."""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from app.clock import SYSTEM_CLOCK, Clock
from app.search.columns import FORMAT, Postings, PostingWriter
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
from app.search.geo import EARTH_RADIUS_KM, km_from_chord2, lat_span, lon_half_width, max_chord2, unit_vector
from app.search.text import text_words
from app.search.text_columns import TextColumns, TextWriter, document_words, live_scores
from ranking.linear import LinearSpec
from ranking.score import parse_day
from ranking.weights import DISTANCE_BANDS_KM

log = logging.getLogger(__name__)

#: Side of a grid cell in degrees. 0.1° (≈11 km north-south) keeps the scan of a 10 km circle to a
#: few cells while a 100 km circle needs only ~19 slices per ROME code (one per cell row).
CELL_DEG = 0.1
N_COLS = 3600  # 360° / CELL_DEG
CONTRACT_BITS = {"apprentissage": 1, "professionnalisation": 2}
BATCH = 5000  # documents per executemany: large enough to amortise, small enough to bound memory
DIPLOMA_LEVELS = (1, 2, 3, 4, 5, 6, 7, 8)
#: Wall-clock budget of one request's text scoring, over all kinds: past it the candidates not yet
#: scored keep a text score of 0. Large enough for the national data's common queries (a few ms),
#: small enough that no text can hold a worker.
TEXT_BUDGET_S = 0.05

# The SQLite file holds what is read a page at a time (documents, the few fields a hit needs,
# full text) and the changes made after the build (`live` rows added, `removed` documents);
# the posting columns beside it hold what every query scans.
SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE docs(rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, codes TEXT NOT NULL, published TEXT,
                  expires TEXT, body BLOB NOT NULL);
CREATE VIRTUAL TABLE fts USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE live(rid INTEGER NOT NULL, rome TEXT NOT NULL, cell INTEGER NOT NULL, lat REAL NOT NULL,
                  lon REAL NOT NULL, x REAL NOT NULL, y REAL NOT NULL, z REAL NOT NULL, score REAL NOT NULL,
                  diploma INTEGER, contracts INTEGER NOT NULL, source TEXT NOT NULL, pday INTEGER, expday INTEGER,
                  apps INTEGER NOT NULL);
CREATE INDEX live_rid ON live(rid);
CREATE TABLE removed(rid INTEGER PRIMARY KEY);
"""
LIVE_COLUMNS = "rid, rome, cell, lat, lon, x, y, z, score, diploma, contracts, source, pday, expday, apps"


def cell_of(lat: float, lon: float) -> int:
    """Grid cell of a point: rows of latitude, columns of longitude, row-major so a row is one range."""
    row = min(int((lat + 90.0) / CELL_DEG), int(180 / CELL_DEG) - 1)
    col = min(int((lon + 180.0) / CELL_DEG), N_COLS - 1)
    return row * N_COLS + col


def cell_ranges(lat: float, lon: float, radius_km: float) -> list[tuple[int, int, float, float, float, float]]:
    """(first cell, last cell, lat min, lat max, lon min, lon max) ranges covering the circle.

    One range per cell row (two where the circle crosses the antimeridian).
    """
    dlat = lat_span(radius_km) * (1 + 1e-9) + 1e-9  # a hair of margin against rounding at the edge
    lat_lo, lat_hi = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    half = lon_half_width(lat, radius_km, lat)
    if lat_lo <= -90.0 or lat_hi >= 90.0:
        half = 180.0
    if half >= 180.0:
        spans = [(-180.0, 180.0)]
    else:
        lo, hi = lon - half, lon + half
        if lo < -180.0:
            spans = [(lo + 360.0, 180.0), (-180.0, hi)]
        elif hi > 180.0:
            spans = [(lo, 180.0), (-180.0, hi - 360.0)]
        else:
            spans = [(lo, hi)]
    row_lo = int((lat_lo + 90.0) / CELL_DEG)
    row_hi = min(int((lat_hi + 90.0) / CELL_DEG), int(180 / CELL_DEG) - 1)
    ranges = []
    for row in range(row_lo, row_hi + 1):
        for span_lo, span_hi in spans:
            col_lo = max(0, int((span_lo + 180.0) / CELL_DEG))
            col_hi = min(N_COLS - 1, int((span_hi + 180.0) / CELL_DEG))
            ranges.append((row * N_COLS + col_lo, row * N_COLS + col_hi, lat_lo, lat_hi, span_lo, span_hi))
    return ranges


def _day(value: str | None) -> str | None:
    """The Paris calendar day (YYYY-MM-DD) of an ISO date or datetime, as ranking.score.parse_day reads it."""
    day = parse_day(value)
    return day.isoformat() if day else None


def _ordinal_day(value: str | None) -> int | None:
    """Day number (date.toordinal) of an ISO date or datetime, read as ranking.score.parse_day reads it."""
    day = parse_day(value)
    return day.toordinal() if day else None


def _contract_bits(types: Iterable[str]) -> int:
    return sum(CONTRACT_BITS.get(t, 0) for t in set(types))


def _posting_rows(doc: dict[str, Any], rid: int) -> list[tuple[Any, ...]]:
    """Posting rows of one document, one per ROME index code, in columns.ROW_FIELDS order."""
    lat = float(doc["location"]["lat"])
    lon = float(doc["location"]["lon"])
    shared = (cell_of(lat, lon), lat, lon, *unit_vector(lat, lon))
    scores = doc.get("rome_scores") or {}
    codes = dict.fromkeys(doc.get("rome_index_codes") or doc.get("romes") or [])
    tail = (doc.get("diploma_level"), _contract_bits(doc.get("contract_types") or []), doc.get("source") or "",
            _ordinal_day(doc.get("published_at")), _ordinal_day(doc.get("expires_at")),
            int(doc.get("application_count") or 0))
    return [(rid, code, *shared, float(scores.get(code, 0.0)), *tail) for code in codes]


def _doc_row(doc: dict[str, Any], rid: int, rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The `docs` row of a document: what a hit shows besides its posting columns, and the body."""
    return (rid, str(doc["id"]), " ".join(r[1] for r in rows), doc.get("published_at"),
            _day(doc.get("expires_at")), orjson.dumps(doc))


def columns_dir(sqlite_path: Path) -> Path:
    """Where the posting columns of the generation stored in `sqlite_path` live."""
    return sqlite_path.with_name(sqlite_path.name.split(".", 1)[0] + ".cols")


class _Generation:
    """Paths of the published generation of one kind, read from its CURRENT pointer file."""

    _names: dict[Path, tuple[int, int, str]] = {}  # pointer → (inode, mtime_ns, name): read once per swap

    def __init__(self, root: Path, kind: str) -> None:
        self.dir = root / kind
        self.pointer = self.dir / "CURRENT"

    def current(self) -> tuple[Path | None, int]:
        """(published file, pointer inode): the inode changes on every atomic swap."""
        try:
            stat = os.stat(self.pointer)
            cached = self._names.get(self.pointer)
            if cached and cached[:2] == (stat.st_ino, stat.st_mtime_ns):
                name = cached[2]
            else:
                name = self.pointer.read_text().strip()
                self._names[self.pointer] = (stat.st_ino, stat.st_mtime_ns, name)
        except FileNotFoundError:
            return None, 0
        return self.dir / name, stat.st_ino


class EmbeddedBuilder(PublishOnSuccess):
    """A generation being filled; readers do not see it until `publish()` moves the pointer."""

    def __init__(self, engine: "EmbeddedEngine", kind: str) -> None:
        self.engine = engine
        self.kind = kind
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        self.generation = f"{stamp}-{os.getpid()}"
        self.dir = engine.root / kind
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / f"{self.generation}.building"
        self.columns = columns_dir(self.path)
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        # A half-built file is thrown away on failure, so durability during the build buys nothing.
        self.conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-200000;"
                                "PRAGMA temp_store=FILE;")
        self.conn.executescript(SCHEMA)
        self.conn.execute("BEGIN")
        self.postings = PostingWriter()
        self.text = TextWriter()
        self.count = 0
        self._next_rid = 1
        self._closed = False

    def add(self, documents: Iterable[dict[str, Any]]) -> int:
        """Add documents in batches of BATCH; a later document with the same id replaces the earlier."""
        added = 0
        batch: list[dict[str, Any]] = []
        for doc in documents:
            batch.append(doc)
            if len(batch) >= BATCH:
                added += self._add_batch(batch)
                batch = []
        if batch:
            added += self._add_batch(batch)
        return added

    def _add_batch(self, batch: list[dict[str, Any]]) -> int:
        docs, postings, fts, ids = [], [], [], {}
        for doc in batch:
            rid = self._next_rid
            self._next_rid += 1
            rows = _posting_rows(doc, rid)
            docs.append(_doc_row(doc, rid, rows))
            postings.extend(rows)
            ids[rid] = str(doc["id"])
            fts.append((rid, doc.get("search_text") or doc.get("title") or ""))
            self.text.add(rid, fts[-1][1])
        cur = self.conn.executemany(
            "INSERT OR IGNORE INTO docs(rid, id, codes, published, expires, body) VALUES (?,?,?,?,?,?)", docs)
        self.postings.add(postings, ids)
        if cur.rowcount != len(docs):
            self._replace_duplicates(docs)
        self.conn.executemany("INSERT INTO fts(rowid, text) VALUES (?,?)", fts)
        self.count += len(batch)
        return len(batch)

    def _replace_duplicates(self, docs: list[tuple[Any, ...]]) -> None:
        # Rare path: an id seen before in this build. The newest document wins; the older one's
        # rows leave the text index here and the posting columns when they are written.
        for row in docs:
            rid, doc_id = row[0], row[1]
            old = self.conn.execute("SELECT rid FROM docs WHERE id = ?", (doc_id,)).fetchone()
            if old and old[0] != rid:
                self.conn.execute("DELETE FROM docs WHERE rid = ?", (old[0],))
                self.conn.execute("DELETE FROM fts WHERE rowid = ?", (old[0],))
                self.conn.execute("INSERT INTO docs(rid, id, codes, published, expires, body) VALUES (?,?,?,?,?,?)",
                                  row)
                self.postings.forget([old[0]])

    def _finish(self) -> None:
        """Write the posting columns, record the generation, checkpoint and switch to WAL for live updates."""
        self.postings.write(self.columns, max_rid=self._next_rid - 1)
        self.text.write(self.columns, self._next_rid - 1, self.postings.doc_rids())
        count = self.conn.execute("SELECT count(*) FROM docs").fetchone()[0]
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.conn.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("kind", self.kind), ("generation", self.generation), ("documents", str(count)),
            ("published_at", now), ("format", str(FORMAT)), ("changes", "0"),
            ("max_rid", str(self._next_rid - 1))])
        self.conn.execute("COMMIT")
        self.conn.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.close()

    def publish(self) -> None:
        """Finish the files, rename the database, then swap the CURRENT pointer atomically (os.replace)."""
        if self._closed:
            raise RuntimeError("generation already published or discarded")
        self._finish()
        self._closed = True
        final = self.dir / f"{self.generation}.sqlite"
        os.replace(self.path, final)
        tmp = self.dir / f"CURRENT.{self.generation}"
        tmp.write_text(final.name + "\n")
        os.replace(tmp, self.dir / "CURRENT")
        self.engine._drop_old_generations(self.kind)
        log.info("published %s generation %s", self.kind, self.generation)

    def discard(self) -> None:
        """Delete the partial files; the published generation keeps serving."""
        if self._closed:
            return
        self._closed = True
        try:
            self.conn.close()
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            shutil.rmtree(self.columns, ignore_errors=True)


@dataclass(frozen=True)
class _View:
    """What one query of one kind reads: this thread's connection, the base columns and the live changes."""

    conn: sqlite3.Connection
    generation: str
    base: Postings
    live: Postings | None  # rows added since the build, in the base's dictionaries (extended)
    removed: np.ndarray  # sorted rids of base documents deleted or replaced since the build
    text: TextColumns | None = None  # the base documents' words
    live_words: dict[int, list[str]] | None = None  # words of the documents added since the build

    @property
    def decoder(self) -> Postings:
        return self.live if self.live is not None else self.base


@dataclass
class _Candidates:
    """Every candidate of one kind for one query, one entry per document, as parallel arrays."""

    rid: np.ndarray
    idrank: np.ndarray
    c2: np.ndarray | None  # None without a point
    score: np.ndarray
    diploma: np.ndarray
    contracts: np.ndarray
    source: np.ndarray
    pday: np.ndarray
    expday: np.ndarray
    apps: np.ndarray
    lat: np.ndarray
    lon: np.ndarray

    def __len__(self) -> int:
        return len(self.rid)

    def take(self, index: np.ndarray) -> "_Candidates":
        return _Candidates(**{name: (None if value is None else value[index])
                              for name, value in self.__dict__.items()})


@dataclass(frozen=True)
class _Area:
    """The search circle as every kind's scan needs it, computed once per query."""

    x0: float
    y0: float
    z0: float
    c2max: float
    spans: list[tuple[int, int]]  # (first cell, last cell) per cell row

    @classmethod
    def of(cls, query: MatchQuery) -> "_Area | None":
        if not query.located:
            return None
        lat, lon = query.latitude, query.longitude
        spans = [(r[0], r[1]) for r in cell_ranges(lat, lon, query.radius_km)]  # type: ignore[arg-type]
        return cls(*unit_vector(lat, lon), max_chord2(query.radius_km), spans)  # type: ignore[arg-type]


_GATHERED = ("rid", "idrank", "score", "diploma", "contracts", "source", "pday", "expday", "apps", "lat", "lon")
class EmbeddedEngine:
    """SearchEngine on files under `root/<kind>/`; safe for many reader threads and processes."""

    def __init__(self, root: str | Path, text_budget_s: float = TEXT_BUDGET_S, clock: Clock = SYSTEM_CLOCK) -> None:
        self.root = Path(root)
        self.clock = clock  # "today" of the expiry filter: the Paris day, the one the match service scores with
        self.text_budget_s = text_budget_s
        self.budget_exceeded = 0  # requests whose text scoring hit the budget (a counter for tests and logs)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._shared_lock = threading.Lock()
        # Read-only arrays shared by this process's threads: the base columns per kind, and the
        # live changes per (generation, change counter).
        self._bases: dict[str, tuple[Path, Postings, str, TextColumns]] = {}
        self._lives: dict[str, tuple[Path, str, Postings | None, np.ndarray, dict[int, list[str]]]] = {}

    # ----- connections and views ---------------------------------------------------------------
    def _conn(self, kind: str) -> sqlite3.Connection | None:
        """This thread's connection to the published generation of `kind`, reopened after a swap."""
        cache: dict[str, tuple[int, sqlite3.Connection | None, Path | None]] = \
            self._local.__dict__.setdefault("conns", {})
        path, inode = _Generation(self.root, kind).current()
        cached = cache.get(kind)
        if cached and cached[0] == inode and path is not None and cached[2] == path:
            return cached[1]
        if cached:
            if cached[1] is not None:
                cached[1].close()
            del cache[kind]
        if path is None:
            return None
        try:
            conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None,
                                   check_same_thread=True)
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA cache_size=-64000")
            fmt = self._meta(conn, "format")
        except sqlite3.Error as exc:
            raise EngineUnavailable(f"cannot open index {path}: {exc}") from exc
        if fmt != str(FORMAT):
            # Written by an older version: reading it with today's layout would give wrong answers,
            # so it counts as absent (no documents) until the next build replaces it.
            log.warning("%s index %s has format %r, expected %s: rebuild it", kind, path.name, fmt or None, FORMAT)
            conn.close()
            cache[kind] = (inode, None, path)
            return None
        cache[kind] = (inode, conn, path)
        return conn

    @contextmanager
    def _snapshot(self, kind: str) -> Iterator[_View | None]:
        """The published generation of `kind` as one query reads it, in one read transaction.

        Everything a query reads of one kind (change counter, live rows, documents, text) comes
        from the same WAL snapshot, so a delete or an upsert committed meanwhile is either wholly
        seen or not at all, never half (a candidate whose document row is already gone).
        """
        conn = self._conn(kind)
        if conn is None:
            yield None
            return
        conn.execute("BEGIN")
        try:
            yield self._view(kind, conn)
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _view(self, kind: str, conn: sqlite3.Connection) -> _View:
        """The view of `kind` on `conn`, which is inside a read transaction (see _snapshot)."""
        path = self._local.conns[kind][2]
        with self._shared_lock:
            cached = self._bases.get(kind)
            if cached is None or cached[0] != path:
                try:
                    folder = columns_dir(path)
                    cached = (path, Postings.load(folder), self._meta(conn, "generation"), TextColumns.load(folder))
                except (OSError, ValueError, KeyError) as exc:
                    raise EngineUnavailable(f"cannot read the posting columns of {path.name}: {exc}") from exc
                self._bases[kind] = cached
            base, generation, text = cached[1], cached[2], cached[3]
        changes = self._meta(conn, "changes")
        if changes == "0":
            return _View(conn, generation, base, None, _NO_RIDS, text, None)
        with self._shared_lock:
            live = self._lives.get(kind)
            if live is None or live[0] != path or live[1] != changes:
                live = (path, changes, *self._load_live(conn, base))
                self._lives[kind] = live
        return _View(conn, generation, base, live[2], live[3], text, live[4])

    @staticmethod
    def _load_live(conn: sqlite3.Connection,
                   base: Postings) -> tuple[Postings | None, np.ndarray, dict[int, list[str]]]:
        """Rows added and base documents removed since the build, read in the caller's snapshot."""
        rows = conn.execute(f"SELECT {LIVE_COLUMNS} FROM live").fetchall()
        ids = dict(conn.execute("SELECT rid, id FROM docs WHERE rid IN (SELECT rid FROM live)").fetchall())
        removed = np.array(sorted(r for (r,) in conn.execute("SELECT rid FROM removed")), dtype=np.int32)
        words = {rid: document_words(text) for rid, text in conn.execute(
            "SELECT rowid, text FROM fts WHERE rowid IN (SELECT DISTINCT rid FROM live)")}
        return (base.live(rows, ids) if rows else None), removed, words

    def close(self) -> None:
        """Close this thread's connections."""
        for _, conn, _ in self._local.__dict__.pop("conns", {}).values():
            if conn is not None:
                conn.close()

    # ----- writes ------------------------------------------------------------------------------
    def new_generation(self, kind: str) -> EmbeddedBuilder:
        """Start a new generation of `kind` (after removing half-built files of dead builders)."""
        self._check_kind(kind)
        self._drop_dead_builds(kind)
        return EmbeddedBuilder(self, kind)

    def upsert(self, kind: str, documents: Iterable[dict[str, Any]]) -> int:
        """Add or replace documents in the published generation, in one transaction."""
        conn = self._require(kind)
        docs = list(documents)
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._delete_ids(conn, [str(d["id"]) for d in docs])
                # Above every rid of the build (its columns keep removed documents' rows) and of the live rows.
                next_rid = conn.execute(
                    "SELECT max(coalesce((SELECT max(rid) FROM docs), 0),"
                    " (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'max_rid')) + 1").fetchone()[0]
                for offset, doc in enumerate(docs):
                    rid = next_rid + offset
                    rows = _posting_rows(doc, rid)
                    conn.execute("INSERT INTO docs(rid, id, codes, published, expires, body) VALUES (?,?,?,?,?,?)",
                                 _doc_row(doc, rid, rows))
                    conn.executemany(f"INSERT INTO live({LIVE_COLUMNS}) VALUES ({', '.join('?' * 15)})", rows)
                    conn.execute("INSERT INTO fts(rowid, text) VALUES (?, ?)",
                                 (rid, doc.get("search_text") or doc.get("title") or ""))
                self._bump(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return len(docs)

    def delete(self, kind: str, ids: Iterable[str]) -> int:
        """Delete documents by id from the published generation."""
        conn = self._require(kind)
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                removed = self._delete_ids(conn, [str(i) for i in ids])
                self._bump(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return removed

    def _delete_ids(self, conn: sqlite3.Connection, ids: list[str]) -> int:
        base_max = int(self._meta(conn, "max_rid") or 0)
        removed = 0
        for doc_id in ids:
            row = conn.execute("SELECT rid FROM docs WHERE id = ?", (doc_id,)).fetchone()
            if row is None:
                continue
            rid = row[0]
            if rid <= base_max:
                # The base columns are read-only: a removed document is masked at query time.
                conn.execute("INSERT OR IGNORE INTO removed(rid) VALUES (?)", (rid,))
            else:
                conn.execute("DELETE FROM live WHERE rid = ?", (rid,))
            conn.execute("DELETE FROM fts WHERE rowid = ?", (rid,))
            conn.execute("DELETE FROM docs WHERE rid = ?", (rid,))
            removed += 1
        return removed

    @staticmethod
    def _bump(conn: sqlite3.Connection) -> None:
        """Record the new document count and tell readers (the change counter) to reload live changes."""
        count = conn.execute("SELECT count(*) FROM docs").fetchone()[0]
        conn.execute("UPDATE meta SET value = ? WHERE key = 'documents'", (str(count),))
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'changes'")

    # ----- reads -------------------------------------------------------------------------------
    def search(self, query: MatchQuery) -> SearchResult:
        """One page of candidates by distance (then kind order, then id) over the asked kinds."""
        limit = None if query.page_size is None else query.page * query.page_size
        per_kind: list[list[Hit]] = []
        area = _Area.of(query)
        deadline = self._deadline()
        totals: dict[str, int] = {}
        generations: dict[str, str] = {}
        for kind in query.kinds:
            with self._snapshot(kind) as view:
                if view is None:
                    totals[kind] = 0
                    continue
                generations[kind] = view.generation
                cands = self._candidates(kind, view, query, area)
                totals[kind] = len(cands)
                keys = [cands.c2, cands.idrank] if cands.c2 is not None else [cands.idrank]
                chosen = _select(keys, np.arange(len(cands)), len(cands) if limit is None else limit)
                ts = None
                if query.text:
                    # Only the hits that can be on the page are text-scored.
                    ts = np.zeros(len(cands))
                    ts[chosen] = self._text_scores(view, cands.take(chosen), query.text, deadline)
                hits = self._hits(kind, view, cands, chosen, ts)
            hits.sort(key=lambda pair: (pair[1][0], pair[0].id))
            per_kind.append([hit for hit, _ in hits[:limit]])
        page = merge_page(per_kind, query)
        return SearchResult(hits=page, totals=totals, generation=generations)

    def iter_candidates(self, query: MatchQuery) -> Iterator[Hit]:
        """Every candidate of every asked kind (no order promised), with text scores when asked."""
        area = _Area.of(query)
        deadline = self._deadline()
        for kind in query.kinds:
            with self._snapshot(kind) as view:
                if view is None:
                    continue
                cands = self._candidates(kind, view, query, area)
                ts = self._text_scores(view, cands, query.text, deadline) if query.text else None
                hits = self._hits(kind, view, cands, np.arange(len(cands)), ts)
            yield from (hit for hit, _ in hits)

    def rank(self, query: MatchQuery, specs: dict[str, LinearSpec], sort: str, limit: int) -> RankedCandidates:
        """Per asked kind: the `limit` best candidates by the ranking formula, totals and facets.

        The formula is `ranking.score` written with numpy operation for operation (`_scores`), so the
        match service re-scores these few candidates in Python and gets the same order; tests
        compare both on every candidate.
        """
        hits: list[Hit] = []
        totals: dict[str, int] = {}
        facets: dict[str, dict[str, dict[str, int]]] = {}
        area = _Area.of(query)
        deadline = self._deadline()
        generations: dict[str, str] = {}
        for kind in query.kinds:
            with self._snapshot(kind) as view:
                if view is None:
                    totals[kind] = 0
                    facets[kind] = {"diploma": {}, "contract": {}, "distance": {}}
                    continue
                generations[kind] = view.generation
                cands = self._candidates(kind, view, query, area)
                totals[kind] = len(cands)
                facets[kind] = _facets(cands)
                if not len(cands):
                    continue
                ts = self._text_scores(view, cands, query.text, deadline) if query.text else None
                total = _scores(cands, specs[kind], view.decoder, ts)
                chosen = _select(_sort_keys(sort, cands, total), np.arange(len(cands)), limit)
                ranked = self._hits(kind, view, cands, chosen, ts, total)
            ranked.sort(key=_PY_SORT[sort])
            hits.extend(hit for hit, _ in ranked[:limit])
        return RankedCandidates(hits=hits, totals=totals, facets=facets, generation=generations)

    def _deadline(self) -> float:
        """When this request's text scoring must stop (perf_counter seconds)."""
        return time.perf_counter() + self.text_budget_s

    def _candidates(self, kind: str, view: _View, query: MatchQuery, area: "_Area | None") -> _Candidates:
        """Every distinct document of `kind` matching `query`: scans of the asked codes' cell slices."""
        codes = list(dict.fromkeys(query.romes))
        spans = area.spans if area is not None else None
        today = self.clock.today().toordinal()
        parts = []
        for store, removed in ((view.base, view.removed), (view.live, _NO_RIDS)):
            if store is None:
                continue
            idx = store.rows(codes, spans)
            if not len(idx):
                continue
            cols = store.cols
            got: dict[str, np.ndarray] = {}
            mask = None
            if spans is not None:
                # Written like app.search.geo.chord2, so distances are bit-identical to Python's.
                dx = cols["x"][idx] - area.x0  # type: ignore[union-attr]
                dy = cols["y"][idx] - area.y0  # type: ignore[union-attr]
                dz = cols["z"][idx] - area.z0  # type: ignore[union-attr]
                got["c2"] = dx * dx + dy * dy + dz * dz
                mask = got["c2"] <= area.c2max  # type: ignore[union-attr]
            conditions = []
            if query.diploma_level is not None:
                got["diploma"] = cols["diploma"][idx]
                conditions.append((got["diploma"] == 0) | (got["diploma"] == query.diploma_level))
            if query.contract_types:
                got["contracts"] = cols["contracts"][idx]
                conditions.append((got["contracts"] & _contract_bits(query.contract_types)) != 0)
            if query.sources:
                got["source"] = cols["source"][idx]
                conditions.append(np.isin(got["source"], store.source_numbers(dict.fromkeys(query.sources))))
            if query.exclude_sources:
                got["source"] = got.get("source", cols["source"][idx])
                conditions.append(~np.isin(got["source"],
                                           store.source_numbers(dict.fromkeys(query.exclude_sources))))
            if not query.include_expired:
                got["expday"] = cols["expday"][idx]
                conditions.append((got["expday"] == 0) | (got["expday"] >= today))
            if len(removed):
                got["rid"] = cols["rid"][idx]
                conditions.append(~np.isin(got["rid"], removed))
            for condition in conditions:
                mask = condition if mask is None else mask & condition
            if mask is not None:
                idx = idx[mask]
                got = {name: values[mask] for name, values in got.items()}
            part = {name: got[name] if name in got else cols[name][idx] for name in _GATHERED}
            part["c2"] = got.get("c2")
            parts.append(part)
        if not parts:
            empty = {name: view.base.cols[name][:0] for name in _GATHERED}
            return _Candidates(c2=np.empty(0) if spans is not None else None, **empty)
        merged = {name: (np.concatenate([p[name] for p in parts]) if len(parts) > 1 else parts[0][name])
                  for name in _GATHERED}
        c2 = None if spans is None else (np.concatenate([p["c2"] for p in parts]) if len(parts) > 1
                                         else parts[0]["c2"])
        cands = _Candidates(c2=c2, **merged)
        if len(codes) > 1 and len(cands):
            cands = self._distinct(kind, view, cands)
        if (query.departments or query.opcos or query.exclude_opcos) and len(cands):
            cands = cands.take(self._document_mask(view, cands, query))
        return cands

    @staticmethod
    def _document_mask(view: _View, cands: _Candidates, query: MatchQuery) -> np.ndarray:
        """Which candidates pass the department and OPCO filters, read from their documents in the snapshot.

        These fields are not posting columns (only the v3 API filters on them), so they are read
        for the geo + job candidates only, before totals, facets and ranking: results are complete.
        """
        rows = view.conn.execute(
            "SELECT rid, json_extract(b, '$.place.department'), json_extract(b, '$.place.postcode'),"
            " json_extract(b, '$.organisation.opco')"
            " FROM (SELECT rid, CAST(body AS TEXT) AS b FROM docs WHERE rid IN (SELECT value FROM json_each(?)))",
            (orjson.dumps(np.unique(cands.rid).tolist()).decode(),)).fetchall()
        departments = tuple(dict.fromkeys(query.departments))
        wanted = {name.lower() for name in query.opcos}
        unwanted = {name.lower() for name in query.exclude_opcos}
        passing = []
        for rid, department, postcode, opco in rows:
            if departments and not (str(department or "") in departments
                                    or (postcode and str(postcode).startswith(departments))):
                continue
            name = str(opco or "").lower()
            if (wanted and name not in wanted) or name in unwanted:
                continue
            passing.append(rid)
        return np.isin(cands.rid, np.asarray(passing, dtype=np.int64))

    def _distinct(self, kind: str, view: _View, cands: _Candidates) -> _Candidates:
        """One entry per document found under several asked codes, with the best of its code scores.

        Scratch arrays indexed by rid (one pair per thread and kind) make it linear: no sort.
        """
        size = max(view.base.max_rid, view.live.max_rid if view.live is not None else 0) + 2
        scratch = self._local.__dict__.setdefault("scratch", {})
        best, first = scratch.get(kind, (None, None))
        if best is None or len(best) < size:
            best = np.full(size + 1024, -np.inf)
            first = np.full(size + 1024, np.iinfo(np.int64).max, dtype=np.int64)
            scratch[kind] = (best, first)
        rid = cands.rid
        order = np.arange(len(rid), dtype=np.int64)
        np.maximum.at(best, rid, cands.score)
        np.minimum.at(first, rid, order)
        out = cands.take(first[rid] == order)
        out.score = best[out.rid]
        best[rid] = -np.inf  # leave the scratch clean for the next query
        first[rid] = np.iinfo(np.int64).max
        return out

    def _hits(self, kind: str, view: _View, cands: _Candidates, chosen: np.ndarray,
              ts: np.ndarray | None = None, total: np.ndarray | None = None) -> list[tuple[Hit, Any]]:
        """Hits for the chosen candidates, each with its squared chord (0.0 without a point)."""
        rids = cands.rid[chosen]
        info = {rid: rest for rid, *rest in view.conn.execute(
            "SELECT rid, id, published, expires FROM docs WHERE rid IN (SELECT value FROM json_each(?))",
            (orjson.dumps(rids.tolist()).decode(),))}
        sources = view.decoder.sources
        c2 = cands.c2[chosen].tolist() if cands.c2 is not None else [None] * len(chosen)
        columns = zip(rids.tolist(), c2, cands.source[chosen].tolist(), cands.lat[chosen].tolist(),
                      cands.lon[chosen].tolist(), cands.score[chosen].tolist(), cands.diploma[chosen].tolist(),
                      cands.contracts[chosen].tolist(), cands.apps[chosen].tolist(),
                      cands.pday[chosen].tolist(),
                      ts[chosen].tolist() if ts is not None else [0.0] * len(chosen),
                      total[chosen].tolist() if total is not None else [None] * len(chosen))
        out = []
        for rid, c2_, source, lat, lon, score, diploma, contracts, apps, pday, text, rank_score in columns:
            doc_id, published, expires = info[rid]
            hit = Hit(kind, doc_id, sources[source], None if c2_ is None else km_from_chord2(c2_), lat, lon, score,
                      diploma or None, _CONTRACT_NAMES[contracts & 3], published, expires, apps, text, rank_score)
            out.append((hit, (0.0 if c2_ is None else c2_, pday)))
        return out

    def _text_scores(self, view: _View, cands: _Candidates, text: str, deadline: float) -> np.ndarray:
        """BM25 relevance of every candidate's words (higher is better), 0 when no word matches.

        Computed over the candidates only, from the generation's word columns (text_columns.py),
        never over every document of France that holds a word; the work stops at `deadline`
        (the candidates not reached keep 0), so no text can hold a worker.
        """
        words = text_words(text)
        out = np.zeros(len(cands))
        if not words or not len(cands) or view.text is None:
            return out

        def passed() -> bool:
            if time.perf_counter() > deadline:
                self.budget_exceeded += 1
                log.warning("text scoring stopped by its %.0f ms budget: %r", self.text_budget_s * 1000, text[:80])
                return True
            return False

        base = cands.rid <= view.base.max_rid
        out[base] = view.text.scores(cands.rid[base].astype(np.int64), words, passed)
        if view.live_words and not base.all():
            added = np.flatnonzero(~base)
            texts = [view.live_words.get(rid, []) for rid in cands.rid[added].tolist()]
            out[added] = live_scores(texts, words, view.text)
        return out

    def get_many(self, kind: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Documents by id from the published generation of `kind`."""
        self._check_kind(kind)
        conn = self._conn(kind)
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
            conn = self._conn(kind)
            if conn is None:
                out[kind] = {"generation": None, "documents": 0, "published_at": None}
                continue
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            out[kind] = {"generation": meta.get("generation"), "documents": int(meta.get("documents", 0)),
                         "published_at": meta.get("published_at")}
        return out

    def health(self) -> bool:
        """True when the index directory is readable and every published generation opens."""
        try:
            for kind in KINDS:
                with self._snapshot(kind) as view:
                    if view is not None:
                        view.conn.execute("SELECT 1 FROM meta LIMIT 1").fetchone()
            return True
        except (sqlite3.Error, EngineUnavailable, OSError):
            return False

    # ----- housekeeping ------------------------------------------------------------------------
    def _require(self, kind: str) -> sqlite3.Connection:
        self._check_kind(kind)
        conn = self._conn(kind)
        if conn is None:
            raise EngineUnavailable(f"no published {kind} index")
        return conn

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else ""

    def _drop_old_generations(self, kind: str) -> None:
        """Keep the published generation and the one before (readers may still hold it); delete the rest."""
        folder = self.root / kind
        current, _ = _Generation(self.root, kind).current()
        files = sorted(folder.glob("*.sqlite"))
        keep = {current.name if current else ""}
        older = [f for f in files if current is None or f.name < current.name]
        if older:
            keep.add(older[-1].name)
        for path in files:
            if path.name not in keep:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        # Columns whose database is gone (dropped above, or a build that died before renaming it).
        for columns in folder.glob("*.cols"):
            stem = columns.name[:-len(".cols")]
            if not (folder / f"{stem}.sqlite").exists() and not (folder / f"{stem}.building").exists():
                shutil.rmtree(columns, ignore_errors=True)

    def _drop_dead_builds(self, kind: str) -> None:
        """Delete half-built files whose builder process no longer exists (a crash mid-build)."""
        folder = self.root / kind
        if not folder.is_dir():
            return
        for path in folder.glob("*.building"):
            pid = int(path.stem.rsplit("-", 1)[-1]) if path.stem.rsplit("-", 1)[-1].isdigit() else 0
            if pid and pid != os.getpid() and _alive(pid):
                continue
            if pid == os.getpid() and time.time() - path.stat().st_mtime < 24 * 3600:
                continue  # another builder of this same process may be running
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            shutil.rmtree(columns_dir(path), ignore_errors=True)
            shutil.rmtree(columns_dir(path).with_name(columns_dir(path).name + ".tmp"), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_NO_RIDS = np.empty(0, dtype=np.int32)
_CONTRACT_NAMES = {bits: tuple(name for name, bit in CONTRACT_BITS.items() if bits & bit) for bits in range(4)}
_BAND_NAMES = ("0-10", "10-30", "30-60", "60+")
_BAND_EDGES = np.array([max_chord2(edge) for edge in DISTANCE_BANDS_KM])
_R2 = 2 * EARTH_RADIUS_KM  # km_from_chord2 multiplies 2 * R first: the same constant, the same rounding


def _facets(cands: _Candidates) -> dict[str, dict[str, int]]:
    """Counts by diploma level, contract type and distance band over every candidate of one kind."""
    total = len(cands)
    levels = np.bincount(np.clip(cands.diploma, 0, len(DIPLOMA_LEVELS) + 1).astype(np.intp),
                         minlength=len(DIPLOMA_LEVELS) + 2)
    diploma = {"unknown": int(levels[0]), **{str(level): int(levels[level]) for level in DIPLOMA_LEVELS}}
    contract = {"apprentissage": int(np.count_nonzero(cands.contracts & 1)),
                "professionnalisation": int(np.count_nonzero(cands.contracts & 2))}
    if cands.c2 is None:
        distance = {"unknown": total}
    else:
        edges = _BAND_EDGES
        # side="left": a candidate exactly on an edge belongs to the band below, as `<=` says.
        bands = np.bincount(np.searchsorted(edges, cands.c2, side="left"), minlength=len(edges) + 1)
        distance = dict(zip(_BAND_NAMES, (int(b) for b in bands)))
    out = {"diploma": diploma, "contract": contract, "distance": distance}
    return {name: {k: v for k, v in counts.items() if v} for name, counts in out.items()}


def _clamp(values: np.ndarray) -> np.ndarray:
    return np.minimum(1.0, np.maximum(0.0, values))


def _scores(cands: _Candidates, spec: LinearSpec, decoder: Postings, ts: np.ndarray | None) -> np.ndarray:
    """The total of `ranking.score.score` for every candidate, written with numpy operation for operation.

    Same constants, same order of operations, components summed in COMPONENT_FIELDS order and those
    that do not apply left out (they add 0 in Python), so totals match `score()`.
    """
    w = spec.weights
    total = np.zeros(len(cands))
    if w["distance"] and spec.located and cands.c2 is not None:
        km = _R2 * np.arcsin(np.minimum(1.0, np.sqrt(cands.c2) / 2))
        total = total + w["distance"] * _clamp(np.power(spec.distance_edge_value,
                                                         np.maximum(km, 0.0) / spec.distance_scale_km))
    if w["text"]:
        raw = ts if ts is not None else np.zeros(len(cands))
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(raw > 0, _clamp(raw / (raw + spec.text_half_score)), 0.0)
        total = total + w["text"] * value
    if w["freshness"]:
        today = spec.today.toordinal()
        age = np.maximum(today - cands.pday.astype(np.int64), 0)
        value = np.where(cands.pday == 0, spec.freshness_unknown,
                         _clamp(np.power(0.5, age / spec.freshness_half_life_days)))
        value = np.where((cands.expday != 0) & (cands.expday < today), 0.0, value)
        total = total + w["freshness"] * value
    if w["hiring"]:
        total = total + w["hiring"] * _clamp(cands.score / spec.rome_score_max)
    if w["saturation"]:
        total = total + w["saturation"] * _clamp(1.0 - np.maximum(cands.apps, 0) / spec.application_cap)
    if w["prior"]:
        priors = np.array([spec.priors.get(name, spec.prior_other) for name in decoder.sources] or [0.0])
        total = total + w["prior"] * priors[cands.source]
    return total


def _sort_keys(sort: str, cands: _Candidates, total: np.ndarray) -> list[np.ndarray]:
    """Ascending numeric keys of ranking.blend's order inside one kind; ids break the remaining ties."""
    c2 = cands.c2 if cands.c2 is not None else np.zeros(len(cands))
    if sort == "distance":
        return [c2, -total, cands.idrank]
    if sort == "date":
        newest_first = np.where(cands.pday == 0, 1, -cands.pday.astype(np.int64))  # no date last
        return [newest_first, -total, c2, cands.idrank]
    return [-total, c2, cands.idrank]


# The same orders on (hit, (c2, pday)) pairs, with the real ids as the last key.
_PY_SORT = {
    "relevance": lambda pair: (-pair[0].rank_score, pair[1][0], pair[0].id),
    "distance": lambda pair: (pair[1][0], -pair[0].rank_score, pair[0].id),
    "date": lambda pair: (pair[1][1] == 0, -pair[1][1], -pair[0].rank_score, pair[1][0], pair[0].id),
}


def _select(keys: list[np.ndarray], idx: np.ndarray, limit: int) -> np.ndarray:
    """Indices among `idx` of the `limit` first by `keys` (lexicographic), plus rows tied on every key.

    A partition per key instead of a full sort: the rows strictly before the limit-th value are in,
    rows tied with it are decided by the next key; ties left after the last key are all returned
    for the caller to order by id.
    """
    chosen = []
    for key in keys:
        if len(idx) <= limit or limit <= 0:
            break
        values = key[idx]
        kth = np.partition(values, limit - 1)[limit - 1]
        better = idx[values < kth]
        chosen.append(better)
        limit -= len(better)
        idx = idx[values == kth]
    chosen.append(idx if limit > 0 else idx[:0])
    return np.concatenate(chosen) if len(chosen) > 1 else chosen[0]
