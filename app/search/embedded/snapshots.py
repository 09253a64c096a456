"""Reading a published generation: per-thread connections, reopened after a swap, and one snapshot per query."""
from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.search.columns import FORMAT, Postings
from app.search.contract import EngineUnavailable
from app.search.embedded.generations import Generation
from app.search.embedded.live_updates import load_live, meta
from app.search.embedded.rows import columns_dir
from app.search.text_columns import TextColumns

log = logging.getLogger(__name__)

NO_RIDS = np.empty(0, dtype=np.int32)


@dataclass(frozen=True)
class View:
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


class Snapshots:
    """Connections of each thread to each kind's published generation, and the arrays threads share."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()
        self._shared_lock = threading.Lock()
        # Read-only arrays shared by this process's threads: the base columns per kind, and the
        # live changes per (generation, change counter).
        self._bases: dict[str, tuple[Path, Postings, str, TextColumns]] = {}
        self._lives: dict[str, tuple[Path, str, Postings | None, np.ndarray, dict[int, list[str]]]] = {}

    def conn(self, kind: str) -> sqlite3.Connection | None:
        """This thread's connection to the published generation of `kind`, reopened after a swap."""
        cache: dict[str, tuple[int, sqlite3.Connection | None, Path | None]] = \
            self._local.__dict__.setdefault("conns", {})
        path, inode = Generation(self.root, kind).current()
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
            fmt = meta(conn, "format")
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
    def snapshot(self, kind: str) -> Iterator[View | None]:
        """The published generation of `kind` as one query reads it, in one read transaction.

        Everything a query reads of one kind (change counter, live rows, documents, text) comes
        from the same WAL snapshot, so a delete or an upsert committed meanwhile is either wholly
        seen or not at all, never half (a candidate whose document row is already gone).
        """
        conn = self.conn(kind)
        if conn is None:
            yield None
            return
        conn.execute("BEGIN")
        try:
            yield self._view(kind, conn)
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _view(self, kind: str, conn: sqlite3.Connection) -> View:
        """The view of `kind` on `conn`, which is inside a read transaction (see snapshot)."""
        path = self._local.conns[kind][2]
        with self._shared_lock:
            cached = self._bases.get(kind)
            if cached is None or cached[0] != path:
                try:
                    folder = columns_dir(path)
                    cached = (path, Postings.load(folder), meta(conn, "generation"), TextColumns.load(folder))
                except (OSError, ValueError, KeyError) as exc:
                    raise EngineUnavailable(f"cannot read the posting columns of {path.name}: {exc}") from exc
                self._bases[kind] = cached
            base, generation, text = cached[1], cached[2], cached[3]
        changes = meta(conn, "changes")
        if changes == "0":
            return View(conn, generation, base, None, NO_RIDS, text, None)
        with self._shared_lock:
            live = self._lives.get(kind)
            if live is None or live[0] != path or live[1] != changes:
                live = (path, changes, *load_live(conn, base))
                self._lives[kind] = live
        return View(conn, generation, base, live[2], live[3], text, live[4])

    def close(self) -> None:
        """Close this thread's connections."""
        for _, conn, _ in self._local.__dict__.pop("conns", {}).values():
            if conn is not None:
                conn.close()
