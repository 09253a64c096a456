"""The embedded search engine: one SQLite file per index generation, a (ROME code, cell) B-tree, FTS5 for text."""
from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from app.search.contract import (KINDS, EngineUnavailable, Hit, MatchQuery, PublishOnSuccess, RankedCandidates,
                                 SearchResult, merge_page)
from app.search.geo import EARTH_RADIUS_KM, km_from_chord2, lat_span, lon_half_width, max_chord2, unit_vector
from ranking.linear import LinearSpec
from ranking.weights import DISTANCE_BANDS_KM

log = logging.getLogger(__name__)

#: Side of a grid cell in degrees. 0.1° (≈11 km north-south) keeps the scan of a 10 km circle to a
#: few cells while a 100 km circle needs only ~19 range scans per ROME code (one per cell row).
CELL_DEG = 0.1
N_COLS = 3600  # 360° / CELL_DEG
CONTRACT_BITS = {"apprentissage": 1, "professionnalisation": 2}
MAX_UNION_ARMS = 400  # SQLite refuses compound selects of more than 500 arms
MAX_LOOKUP_CODES = 20  # beyond, multi-code dedupe goes through GROUP BY (SQLite functions take ≤ 127 args)
BATCH = 5000  # documents per executemany: large enough to amortise, small enough to bound memory

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE docs(rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, codes TEXT NOT NULL, cell INTEGER NOT NULL,
                  body BLOB NOT NULL);
CREATE TEMP TABLE stage(rid INTEGER, rome TEXT, cell INTEGER, lat REAL, lon REAL, x REAL, y REAL, z REAL,
                        score REAL, diploma INTEGER, contracts INTEGER, source TEXT, published TEXT, pday INTEGER,
                        expires TEXT, apps INTEGER, codes TEXT);
CREATE VIRTUAL TABLE fts USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
"""

# The posting table is the whole geo + job index: rows sorted by (ROME code, cell), each carrying the
# fields filters and ranking need, so a query never touches `docs` until it fetches the page.
POST_TABLE = """
CREATE TABLE post(rome TEXT NOT NULL, cell INTEGER NOT NULL, id TEXT NOT NULL, rid INTEGER NOT NULL,
                  lat REAL NOT NULL, lon REAL NOT NULL, x REAL NOT NULL, y REAL NOT NULL, z REAL NOT NULL,
                  score REAL NOT NULL,
                  diploma INTEGER, contracts INTEGER NOT NULL, source TEXT NOT NULL, published TEXT, pday INTEGER,
                  expires TEXT, apps INTEGER NOT NULL, codes TEXT NOT NULL, PRIMARY KEY (rome, cell, id)) WITHOUT ROWID
"""
POST_COLUMNS = ("rome, cell, id, rid, lat, lon, x, y, z, score, diploma, contracts, source, published, pday, expires,"
                " apps, codes")

# Squared chord to the query point, written operation for operation like app.search.geo.chord2, so
# the engine and a Python brute-force scan get bit-identical values; plain arithmetic is also the
# cheapest thing SQLite can evaluate per row. Parameters :x0, :y0, :z0 = the query's unit vector.
CHORD_SQL = "((x - :x0) * (x - :x0) + (y - :y0) * (y - :y0) + (z - :z0) * (z - :z0))"


def cell_of(lat: float, lon: float) -> int:
    """Grid cell of a point: rows of latitude, columns of longitude, row-major so a row is one range."""
    row = min(int((lat + 90.0) / CELL_DEG), int(180 / CELL_DEG) - 1)
    col = min(int((lon + 180.0) / CELL_DEG), N_COLS - 1)
    return row * N_COLS + col


def cell_ranges(lat: float, lon: float, radius_km: float) -> list[tuple[int, int, float, float, float, float]]:
    """(first cell, last cell, lat min, lat max, lon min, lon max) ranges covering the circle.

    One range per cell row (two where the circle crosses the antimeridian); the bounds let SQLite
    drop most points outside the circle before computing any distance.
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


def fts_query(text: str) -> str:
    """An FTS5 expression matching any word of `text` (accents folded, each word as a prefix)."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    words = [w for w in re.split(r"[^a-z0-9]+", folded) if len(w) > 1][:20]
    return " OR ".join(f'"{w}"*' for w in words)


def _day(value: str | None) -> str | None:
    """The YYYY-MM-DD prefix of an ISO date or datetime, which sorts and compares as text."""
    return value[:10] if value else None


def _ordinal_day(value: str | None) -> int | None:
    """Day number (date.toordinal) of an ISO date or datetime, read as ranking.score.parse_day reads it."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10]).toordinal()
    except ValueError:
        return None


def _contract_bits(types: Iterable[str]) -> int:
    return sum(CONTRACT_BITS.get(t, 0) for t in set(types))


def _posting_rows(doc: dict[str, Any], rid: int) -> list[tuple[Any, ...]]:
    """Rows of `stage`/`post` for one document: one per ROME index code."""
    lat = float(doc["location"]["lat"])
    lon = float(doc["location"]["lon"])
    cell = cell_of(lat, lon)
    scores = doc.get("rome_scores") or {}
    codes = dict.fromkeys(doc.get("rome_index_codes") or doc.get("romes") or [])
    shared = (cell, lat, lon, *unit_vector(lat, lon))
    diploma = doc.get("diploma_level")
    contracts = _contract_bits(doc.get("contract_types") or [])
    source = doc.get("source") or ""
    published = doc.get("published_at")
    pday = _ordinal_day(published)
    expires = _day(doc.get("expires_at"))
    apps = int(doc.get("application_count") or 0)
    # Every code of the document, space-padded, so a scan can tell "also carries code X" with instr().
    padded = f" {' '.join(codes)} "
    return [(rid, code, *shared, float(scores.get(code, 0.0)), diploma, contracts, source, published, pday, expires,
             apps, padded) for code in codes]


class _Generation:
    """Paths of the published generation of one kind, read from its CURRENT pointer file."""

    def __init__(self, root: Path, kind: str) -> None:
        self.dir = root / kind
        self.pointer = self.dir / "CURRENT"

    def current(self) -> tuple[Path | None, int]:
        """(published file, pointer inode): the inode changes on every atomic swap."""
        try:
            stat = os.stat(self.pointer)
            name = self.pointer.read_text().strip()
        except FileNotFoundError:
            return None, 0
        return self.dir / name, stat.st_ino


class EmbeddedBuilder(PublishOnSuccess):
    """A generation file being filled; readers do not see it until `publish()` moves the pointer."""

    def __init__(self, engine: "EmbeddedEngine", kind: str) -> None:
        self.engine = engine
        self.kind = kind
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        self.generation = f"{stamp}-{os.getpid()}"
        self.dir = engine.root / kind
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / f"{self.generation}.building"
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        # A half-built file is thrown away on failure, so durability during the build buys nothing.
        self.conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-200000;"
                                "PRAGMA temp_store=FILE;")
        self.conn.executescript(SCHEMA)
        self.conn.execute("BEGIN")
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
        docs, stage, fts = [], [], []
        for doc in batch:
            rid = self._next_rid
            self._next_rid += 1
            rows = _posting_rows(doc, rid)
            codes = " ".join(r[1] for r in rows)
            docs.append((rid, str(doc["id"]), codes, rows[0][2] if rows else cell_of(
                doc["location"]["lat"], doc["location"]["lon"]), orjson.dumps(doc)))
            stage.extend(rows)
            fts.append((rid, doc.get("search_text") or doc.get("title") or ""))
        cur = self.conn.executemany("INSERT OR IGNORE INTO docs(rid, id, codes, cell, body) VALUES (?,?,?,?,?)", docs)
        if cur.rowcount != len(docs):
            self._replace_duplicates(docs)
        self.conn.executemany("INSERT INTO stage VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", stage)
        self.conn.executemany("INSERT INTO fts(rowid, text) VALUES (?,?)", fts)
        self.count += len(batch)
        return len(batch)

    def _replace_duplicates(self, docs: list[tuple[Any, ...]]) -> None:
        # Rare path: an id seen before in this build. The newest document wins; stale stage rows
        # are dropped by the join in _finish, stale text rows here.
        for rid, doc_id, codes, cell, body in docs:
            old = self.conn.execute("SELECT rid FROM docs WHERE id = ?", (doc_id,)).fetchone()
            if old and old[0] != rid:
                self.conn.execute("DELETE FROM docs WHERE rid = ?", (old[0],))
                self.conn.execute("DELETE FROM fts WHERE rowid = ?", (old[0],))
                self.conn.execute("INSERT INTO docs(rid, id, codes, cell, body) VALUES (?,?,?,?,?)",
                                  (rid, doc_id, codes, cell, body))

    def _finish(self) -> None:
        """Sort the postings into the B-tree, drop staging, checkpoint and switch to WAL for live updates."""
        self.conn.execute(POST_TABLE)
        self.conn.execute(
            f"INSERT INTO post({POST_COLUMNS}) SELECT s.rome, s.cell, d.id, s.rid, s.lat, s.lon, s.x, s.y, s.z, s.score,"
            " s.diploma, s.contracts, s.source, s.published, s.pday, s.expires, s.apps, s.codes"
            " FROM stage s JOIN docs d ON d.rid = s.rid ORDER BY s.rome, s.cell, d.id")
        self.conn.execute("DROP TABLE temp.stage")
        count = self.conn.execute("SELECT count(*) FROM docs").fetchone()[0]
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.conn.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("kind", self.kind), ("generation", self.generation), ("documents", str(count)),
            ("published_at", now)])
        self.conn.execute("COMMIT")
        self.conn.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.close()

    def publish(self) -> None:
        """Finish the file, rename it, then swap the CURRENT pointer atomically (os.replace)."""
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
        """Delete the partial file; the published generation keeps serving."""
        if self._closed:
            return
        self._closed = True
        try:
            self.conn.close()
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)



class EmbeddedEngine:
    """SearchEngine on SQLite files under `root/<kind>/`; safe for many reader threads and processes."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._local = threading.local()
        self._write_lock = threading.Lock()

    # ----- connections -------------------------------------------------------------------------
    def _conn(self, kind: str) -> sqlite3.Connection | None:
        """This thread's connection to the published generation of `kind`, reopened after a swap."""
        cache: dict[str, tuple[int, sqlite3.Connection]] = self._local.__dict__.setdefault("conns", {})
        path, inode = _Generation(self.root, kind).current()
        cached = cache.get(kind)
        if cached and cached[0] == inode and path is not None:
            return cached[1]
        if cached:
            cached[1].close()
            del cache[kind]
        if path is None:
            return None
        try:
            conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None,
                                   check_same_thread=True)
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA cache_size=-64000")
        except sqlite3.Error as exc:
            raise EngineUnavailable(f"cannot open index {path}: {exc}") from exc
        cache[kind] = (inode, conn)
        return conn

    def close(self) -> None:
        """Close this thread's connections."""
        for _, conn in self._local.__dict__.pop("conns", {}).values():
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
                next_rid = conn.execute("SELECT coalesce(max(rid), 0) + 1 FROM docs").fetchone()[0]
                for offset, doc in enumerate(docs):
                    rid = next_rid + offset
                    rows = _posting_rows(doc, rid)
                    conn.execute("INSERT INTO docs(rid, id, codes, cell, body) VALUES (?,?,?,?,?)",
                                 (rid, str(doc["id"]), " ".join(r[1] for r in rows),
                                  cell_of(doc["location"]["lat"], doc["location"]["lon"]), orjson.dumps(doc)))
                    conn.executemany(f"INSERT INTO post({POST_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                     [(r[1], r[2], str(doc["id"]), *r[:1], *r[3:]) for r in rows])
                    conn.execute("INSERT INTO fts(rowid, text) VALUES (?, ?)",
                                 (rid, doc.get("search_text") or doc.get("title") or ""))
                self._bump_count(conn)
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
                self._bump_count(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return removed

    @staticmethod
    def _delete_ids(conn: sqlite3.Connection, ids: list[str]) -> int:
        removed = 0
        for doc_id in ids:
            row = conn.execute("SELECT rid, codes, cell FROM docs WHERE id = ?", (doc_id,)).fetchone()
            if row is None:
                continue
            rid, codes, cell = row
            conn.executemany("DELETE FROM post WHERE rome = ? AND cell = ? AND id = ?",
                             [(code, cell, doc_id) for code in codes.split()])
            conn.execute("DELETE FROM fts WHERE rowid = ?", (rid,))
            conn.execute("DELETE FROM docs WHERE rid = ?", (rid,))
            removed += 1
        return removed

    @staticmethod
    def _bump_count(conn: sqlite3.Connection) -> None:
        count = conn.execute("SELECT count(*) FROM docs").fetchone()[0]
        conn.execute("UPDATE meta SET value = ? WHERE key = 'documents'", (str(count),))

    # ----- reads -------------------------------------------------------------------------------
    def search(self, query: MatchQuery) -> SearchResult:
        """One page of candidates by distance (then kind order, then id) over the asked kinds."""
        limit = None if query.page_size is None else query.page * query.page_size
        per_kind: list[list[Hit]] = []
        totals: dict[str, int] = {}
        generations: dict[str, str] = {}
        for kind in query.kinds:
            conn = self._conn(kind)
            if conn is None:
                totals[kind] = 0
                continue
            generations[kind] = self._meta(conn, "generation")
            hits, total = self._search_kind(conn, kind, query, limit)
            per_kind.append(hits)
            totals[kind] = total
        page = merge_page(per_kind, query)
        if query.text:
            page = self._with_text_scores(page, query.text)
        return SearchResult(hits=page, totals=totals, generation=generations)

    def iter_candidates(self, query: MatchQuery) -> Iterator[Hit]:
        """Every candidate of every asked kind (no order promised), with text scores when asked."""
        for kind in query.kinds:
            conn = self._conn(kind)
            if conn is None:
                continue
            sql, params = self._candidate_sql(query)
            hits = [_hit(kind, row) for row in conn.execute(sql, params)]
            if query.text:
                hits = self._with_text_scores(hits, query.text)
            yield from hits

    def _search_kind(self, conn: sqlite3.Connection, kind: str, query: MatchQuery,
                     limit: int | None) -> tuple[list[Hit], int]:
        sql, params = self._candidate_sql(query)
        order = "c2, id" if query.located else "id"
        page_sql = f"SELECT * FROM ({sql}) ORDER BY {order}"
        if limit is not None:
            page_sql += f" LIMIT {int(limit)}"
        rows = conn.execute(page_sql, params).fetchall()
        if limit is None or len(rows) < limit:
            return [_hit(kind, row) for row in rows], len(rows)
        # A separate count is cheaper than count(*) OVER (), which materialises every candidate.
        count_sql, count_params = self._candidate_sql(query, slim="1 AS one")
        total = conn.execute(f"SELECT count(*) FROM ({count_sql})", count_params).fetchone()[0]
        return [_hit(kind, row) for row in rows], total

    def _candidate_sql(self, query: MatchQuery, slim: str | None = None) -> tuple[str, dict[str, Any]]:
        """A statement yielding one row per distinct candidate: per-(code, cell row) range scans.

        Columns: id, source, lat, lon, score, diploma, contracts, published, expires, apps, c2 (squared
        chord to the query point, NULL without one), rid, pday.

        A document carrying several asked codes is kept only in the scan of the first of them it
        carries (a string test on its `codes`), with the best of its scores for the asked codes
        (looked up by primary key, only for such documents): no GROUP BY, so no sort of every
        candidate, which was most of the cost of multi-code queries.
        """
        params: dict[str, Any] = {}
        filters = self._filters(query, params)
        romes = list(dict.fromkeys(query.romes))
        for i, code in enumerate(romes):
            params[f"r{i}"] = code
            params[f"e{i}"] = f" {code} "
        chord = CHORD_SQL if query.located else "NULL"
        if len(romes) > MAX_LOOKUP_CODES and not query.located:
            # Too many codes for per-code lookups (SQLite caps a function at 127 arguments).
            codes = ", ".join(f":r{i}" for i in range(len(romes)))
            return (f"SELECT id, source, lat, lon, max(score) AS score, diploma, contracts, published, expires,"
                    f" apps, NULL AS c2, rid, pday FROM post WHERE rome IN ({codes}){filters} GROUP BY rid"), params
        if query.located:
            x0, y0, z0 = unit_vector(query.latitude, query.longitude)  # type: ignore[arg-type]
            params.update(x0=x0, y0=y0, z0=z0, c2max=max_chord2(query.radius_km))
            ranges = cell_ranges(query.latitude, query.longitude, query.radius_km)  # type: ignore[arg-type]
            if len(romes) * len(ranges) > MAX_UNION_ARMS or len(romes) > MAX_LOOKUP_CODES:
                return self._values_sql(romes, ranges, filters, params)
            arms = []
            for i in range(len(romes)):
                for j, bounds in enumerate(ranges):
                    names = [f"{name}_{i}_{j}" for name in ("c0", "c1", "a0", "a1", "o0", "o1")]
                    params.update(zip(names, bounds))
                    c0, c1, a0, a1, o0, o1 = (":" + n for n in names)
                    arms.append(f"SELECT {_arm_columns(i, len(romes), chord, slim)} FROM post WHERE rome = :r{i}"
                                f" AND cell BETWEEN {c0} AND {c1} AND lat BETWEEN {a0} AND {a1}"
                                f" AND lon BETWEEN {o0} AND {o1} AND {CHORD_SQL} <= :c2max"
                                f"{_exclusions(i)}{filters}")
        else:
            arms = [f"SELECT {_arm_columns(i, len(romes), chord, slim)} FROM post WHERE rome = :r{i}{_exclusions(i)}"
                    f"{filters}" for i in range(len(romes))]
        return " UNION ALL ".join(arms), params

    def _values_sql(self, romes: list[str], ranges: list[tuple[int, int, float, float, float, float]],
                    filters: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Past SQLite's compound-select limit (many codes, wide circle): the ranges become a VALUES
        table driving a join (outer loop over ranges, inner over the B-tree), deduplicated by GROUP BY."""
        rows = []
        for i in range(len(romes)):
            for j, bounds in enumerate(ranges):
                names = [f"{name}_{i}_{j}" for name in ("c0", "c1", "a0", "a1", "o0", "o1")]
                params.update(zip(names, bounds))
                rows.append(f"(:r{i}, {', '.join(':' + n for n in names)})")
        union = (f"WITH r(code, c0, c1, a0, a1, o0, o1) AS (VALUES {', '.join(rows)})"
                 f" SELECT id, rid, source, lat, lon, score, diploma, contracts, published, expires, apps, pday,"
                 f" {CHORD_SQL} AS c2 FROM r CROSS JOIN post"
                 f" WHERE rome = r.code AND cell BETWEEN r.c0 AND r.c1 AND lat BETWEEN r.a0 AND r.a1"
                 f" AND lon BETWEEN r.o0 AND r.o1 AND {CHORD_SQL} <= :c2max{filters}")
        return (f"SELECT id, source, lat, lon, max(score) AS score, diploma, contracts, published, expires,"
                f" apps, c2, rid, pday FROM ({union}) GROUP BY rid"), params

    @staticmethod
    def _filters(query: MatchQuery, params: dict[str, Any]) -> str:
        clauses = []
        if query.diploma_level is not None:
            params["diploma"] = query.diploma_level
            clauses.append("(diploma IS NULL OR diploma = :diploma)")
        if query.contract_types:
            params["contracts"] = _contract_bits(query.contract_types)
            clauses.append("(contracts & :contracts) != 0")
        if query.sources:
            names = []
            for i, source in enumerate(dict.fromkeys(query.sources)):
                params[f"s{i}"] = source
                names.append(f":s{i}")
            clauses.append(f"source IN ({', '.join(names)})")
        if not query.include_expired:
            params["today"] = date.today().isoformat()
            clauses.append("(expires IS NULL OR expires >= :today)")
        return "".join(f" AND {c}" for c in clauses)

    def _with_text_scores(self, hits: list[Hit], text: str) -> list[Hit]:
        """Hits with `text_score` = FTS5 relevance (-bm25, higher is better), 0 when the text does not match."""
        expression = fts_query(text)
        if not expression or not hits:
            return hits
        scores: dict[tuple[str, str], float] = {}
        by_kind: dict[str, list[str]] = {}
        for hit in hits:
            by_kind.setdefault(hit.kind, []).append(hit.id)
        for kind, ids in by_kind.items():
            conn = self._conn(kind)
            if conn is None:
                continue
            rows = conn.execute(
                "SELECT d.id, -bm25(fts) FROM fts JOIN docs d ON d.rid = fts.rowid"
                " WHERE fts MATCH ? AND fts.rowid IN (SELECT rid FROM docs WHERE id IN (SELECT value FROM json_each(?)))",
                (expression, orjson.dumps(ids).decode())).fetchall()
            scores.update({(kind, doc_id): score for doc_id, score in rows})
        return [_replace_text_score(h, scores.get((h.kind, h.id), 0.0)) for h in hits]

    def rank(self, query: MatchQuery, specs: dict[str, LinearSpec], sort: str, limit: int) -> RankedCandidates:
        """Per asked kind: the `limit` best candidates by the ranking formula in SQL, totals and facets.

        The formula is `ranking.score` translated operation for operation (see `_score_sql`), so the
        match service re-scores these few candidates in Python and gets the same order; tests
        compare both on every candidate.
        """
        hits: list[Hit] = []
        totals: dict[str, int] = {}
        facets: dict[str, dict[str, dict[str, int]]] = {}
        generations: dict[str, str] = {}
        for kind in query.kinds:
            conn = self._conn(kind)
            if conn is None:
                totals[kind] = 0
                facets[kind] = {"diploma": {}, "contract": {}, "distance": {}}
                continue
            generations[kind] = self._meta(conn, "generation")
            facet_sql, facet_params = self._candidate_sql(query, slim="diploma, contracts, {chord} AS c2")
            facets[kind], totals[kind] = self._facets(conn, facet_sql, facet_params, query)
            sql, params = self._candidate_sql(query)
            if totals[kind]:
                hits.extend(self._top(conn, kind, sql, params, query, specs[kind], sort, limit))
        return RankedCandidates(hits=hits, totals=totals, facets=facets, generation=generations)

    def _top(self, conn: sqlite3.Connection, kind: str, sql: str, params: dict[str, Any], query: MatchQuery,
             spec: LinearSpec, sort: str, limit: int) -> list[Hit]:
        params = dict(params)
        score = _score_sql(spec, params)
        text_join, text_col = "", "0.0"
        expression = fts_query(query.text) if query.text else ""
        if expression:
            params["fq"] = expression
            text_join = (" LEFT JOIN (SELECT rowid AS trid, -bm25(fts) AS ts FROM fts WHERE fts MATCH :fq) t"
                         " ON t.trid = cand.rid")
            text_col = "coalesce(t.ts, 0.0)"
        order = SORT_SQL[sort]
        rows = conn.execute(
            f"SELECT id, source, lat, lon, score, diploma, contracts, published, expires, apps, c2, ts, {score} AS s"
            f" FROM (SELECT cand.*, {text_col} AS ts"
            f" FROM ({sql}) cand{text_join}) ORDER BY {order} LIMIT {int(limit)}", params).fetchall()
        return [_ranked_hit(kind, row) for row in rows]

    @staticmethod
    def _facets(conn: sqlite3.Connection, sql: str, params: dict[str, Any],
                query: MatchQuery) -> tuple[dict[str, dict[str, int]], int]:
        """Counts by diploma level, contract type and distance band over every candidate of one kind.

        One aggregate row of conditional sums: no GROUP BY, so SQLite never sorts the candidates.
        """
        params = dict(params)
        sums = ["count(*)", "sum(diploma IS NULL)"] + [f"sum(diploma = {level})" for level in DIPLOMA_LEVELS]
        sums += ["sum((contracts & 1) != 0)", "sum((contracts & 2) != 0)"]
        if query.located:
            previous = None
            for edge in DISTANCE_BANDS_KM:
                params[f"b{int(edge)}"] = max_chord2(edge)
                low = f"c2 > :b{int(previous)} AND " if previous is not None else ""
                sums.append(f"sum({low}c2 <= :b{int(edge)})")
                previous = edge
            sums.append(f"sum(c2 > :b{int(previous)})")
        row = conn.execute(f"SELECT {', '.join(sums)} FROM ({sql})", params).fetchone()
        total = row[0] or 0
        values = [v or 0 for v in row[1:]]
        diploma = dict(zip(["unknown", *map(str, DIPLOMA_LEVELS)], values[:1 + len(DIPLOMA_LEVELS)]))
        rest = values[1 + len(DIPLOMA_LEVELS):]
        contract = dict(zip(("apprentissage", "professionnalisation"), rest[:2]))
        bands = ["0-10", "10-30", "30-60", "60+"] if query.located else []
        distance = dict(zip(bands, rest[2:])) if query.located else {"unknown": total}
        out = {"diploma": diploma, "contract": contract, "distance": distance}
        return {name: {k: v for k, v in counts.items() if v} for name, counts in out.items()}, total

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
                conn = self._conn(kind)
                if conn is not None:
                    conn.execute("SELECT 1 FROM meta LIMIT 1").fetchone()
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_CONTRACT_NAMES = {bits: tuple(name for name, bit in CONTRACT_BITS.items() if bits & bit) for bits in range(4)}


def _arm_columns(i: int, n: int, chord: str, slim: str | None = None) -> str:
    """Columns of the scan of asked code i of n: the best score over this and the later asked codes."""
    if slim is not None:
        return slim.replace("{chord}", chord)
    score = "score"
    if i < n - 1:
        lookups = ", ".join(
            f"CASE WHEN instr(codes, :e{k}) THEN (SELECT p2.score FROM post AS p2 WHERE p2.rome = :r{k}"
            f" AND p2.cell = post.cell AND p2.id = post.id) ELSE 0.0 END" for k in range(i + 1, n))
        score = f"max(score, {lookups})"
    return (f"id, source, lat, lon, {score} AS score, diploma, contracts, published, expires, apps, {chord} AS c2,"
            f" rid, pday")


def _exclusions(i: int) -> str:
    """Drop, from the scan of asked code i, documents that also carry an earlier asked code."""
    return "".join(f" AND instr(codes, :e{k}) = 0" for k in range(i))


def _hit(kind: str, row: tuple[Any, ...]) -> Hit:
    doc_id, source, lat, lon, score, diploma, contracts, published, expires, apps, c2 = row[:11]
    return Hit(kind, doc_id, source, None if c2 is None else km_from_chord2(c2), lat, lon, score, diploma, _CONTRACT_NAMES[contracts & 3], published,
               expires, apps)


def _replace_text_score(hit: Hit, text_score: float) -> Hit:
    return Hit(hit.kind, hit.id, hit.source, hit.distance_km, hit.latitude, hit.longitude, hit.rome_score,
               hit.diploma_level, hit.contract_types, hit.published_at, hit.expires_at, hit.application_count,
               text_score)



DIPLOMA_LEVELS = (1, 2, 3, 4, 5, 6, 7, 8)

# Per-kind ORDER BY matching ranking.blend's sort keys inside one kind (kind is constant there).
SORT_SQL = {
    "relevance": "s DESC, c2, id",
    "distance": "c2, s DESC, id",
    "date": "pday IS NULL, pday DESC, s DESC, c2, id",
}
_R = repr(EARTH_RADIUS_KM)


def _score_sql(spec: LinearSpec, params: dict[str, Any]) -> str:
    """The total of `ranking.score.score` as an SQL expression over one candidate row.

    Each value is written with the operations of its Python function (same constants, same order,
    clamps as min/max) and summed in COMPONENT_FIELDS order, so totals match `score()` to the bit
    on the same libm; components that do not apply are left out, as they add 0 in Python.
    """
    w = spec.weights
    params.update(w_distance=w["distance"], w_text=w["text"], w_freshness=w["freshness"], w_hiring=w["hiring"],
                  w_saturation=w["saturation"], w_prior=w["prior"], edge=spec.distance_edge_value,
                  dscale=spec.distance_scale_km, today=spec.today.isoformat(), today_ord=spec.today.toordinal(),
                  half_life=spec.freshness_half_life_days, f_unknown=spec.freshness_unknown,
                  text_half=spec.text_half_score, cap=float(spec.application_cap),
                  score_max=float(spec.rome_score_max), prior_other=spec.prior_other)
    terms = ["0.0"]
    if w["distance"] and spec.located:
        distance = f"(2 * {_R} * asin(min(1.0, sqrt(c2) / 2)))"
        terms.append(f"(:w_distance * min(1.0, max(0.0, pow(:edge, max({distance}, 0.0) / :dscale))))")
    if w["text"]:
        terms.append("(:w_text * (CASE WHEN ts > 0 THEN min(1.0, max(0.0, ts / (ts + :text_half))) ELSE 0.0 END))")
    if w["freshness"]:
        terms.append(
            "(:w_freshness * (CASE WHEN expires IS NOT NULL AND expires < :today THEN 0.0"
            " WHEN pday IS NULL THEN :f_unknown"
            " ELSE min(1.0, max(0.0, pow(0.5, max(:today_ord - pday, 0) / :half_life))) END))")
    if w["hiring"]:
        terms.append("(:w_hiring * min(1.0, max(0.0, score / :score_max)))")
    if w["saturation"]:
        terms.append("(:w_saturation * min(1.0, max(0.0, 1.0 - max(apps, 0) / :cap)))")
    if w["prior"]:
        cases = []
        for i, (source, value) in enumerate(sorted(spec.priors.items())):
            params[f"ps{i}"], params[f"pv{i}"] = source, value
            cases.append(f"WHEN :ps{i} THEN :pv{i}")
        terms.append(f"(:w_prior * (CASE source {' '.join(cases)} ELSE :prior_other END))")
    return "(" + " + ".join(terms) + ")"


def _ranked_hit(kind: str, row: tuple[Any, ...]) -> Hit:
    doc_id, source, lat, lon, score, diploma, contracts, published, expires, apps, c2, ts, total = row
    return Hit(kind, doc_id, source, None if c2 is None else km_from_chord2(c2), lat, lon, score, diploma,
               _CONTRACT_NAMES[contracts & 3], published, expires, apps, ts, total)
