"""The builder of a new generation: documents into SQLite and posting columns, published by a pointer swap."""
from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from app.search.columns import FORMAT, PostingWriter
from app.search.contract import PublishOnSuccess
from app.search.embedded.cleanup import drop_old_generations, remove_build_files
from app.search.embedded.generations import Generation
from app.search.embedded.rows import SCHEMA, columns_dir, doc_row, posting_rows, search_text
from app.search.text_columns import TextWriter

log = logging.getLogger(__name__)

BATCH = 5000  # documents per executemany: large enough to amortise, small enough to bound memory


class EmbeddedBuilder(PublishOnSuccess):
    """A generation being filled; readers do not see it until `publish()` moves the pointer."""

    def __init__(self, root: Path, kind: str) -> None:
        self.root = root
        self.kind = kind
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        self.generation = f"{stamp}-{os.getpid()}"
        self.dir = root / kind
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
            rows = posting_rows(doc, rid)
            docs.append(doc_row(doc, rid, rows))
            postings.extend(rows)
            ids[rid] = str(doc["id"])
            fts.append((rid, search_text(doc)))
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
        Generation(self.root, self.kind).swap(final, self.generation)
        drop_old_generations(self.root, self.kind)
        log.info("published %s generation %s", self.kind, self.generation)

    def discard(self) -> None:
        """Delete the partial files; the published generation keeps serving."""
        if self._closed:
            return
        self._closed = True
        try:
            self.conn.close()
        finally:
            remove_build_files(self.path)
