"""Live updates of a published generation: upserts and deletes in SQLite, read back by queries as a change set."""
from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np

from app.search.columns import Postings
from app.search.embedded.rows import LIVE_COLUMNS, doc_row, posting_rows, search_text
from app.search.text_columns import document_words


def meta(conn: sqlite3.Connection, key: str) -> str:
    """One value of the generation's `meta` table ("" when absent)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else ""


def upsert(conn: sqlite3.Connection, docs: list[dict[str, Any]]) -> None:
    """Add or replace `docs` in one transaction (the caller holds the write lock)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        delete_ids(conn, [str(d["id"]) for d in docs])
        # Above every rid of the build (its columns keep removed documents' rows) and of the live rows.
        next_rid = conn.execute(
            "SELECT max(coalesce((SELECT max(rid) FROM docs), 0),"
            " (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'max_rid')) + 1").fetchone()[0]
        for offset, doc in enumerate(docs):
            rid = next_rid + offset
            rows = posting_rows(doc, rid)
            conn.execute("INSERT INTO docs(rid, id, codes, published, expires, body) VALUES (?,?,?,?,?,?)",
                         doc_row(doc, rid, rows))
            conn.executemany(f"INSERT INTO live({LIVE_COLUMNS}) VALUES ({', '.join('?' * 15)})", rows)
            conn.execute("INSERT INTO fts(rowid, text) VALUES (?, ?)", (rid, search_text(doc)))
        bump(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def delete(conn: sqlite3.Connection, ids: list[str]) -> int:
    """Delete documents by id in one transaction (the caller holds the write lock); how many existed."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        removed = delete_ids(conn, ids)
        bump(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return removed


def delete_ids(conn: sqlite3.Connection, ids: list[str]) -> int:
    """Remove documents inside the caller's transaction: base ones are masked, live ones deleted."""
    base_max = int(meta(conn, "max_rid") or 0)
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


def bump(conn: sqlite3.Connection) -> None:
    """Record the new document count and tell readers (the change counter) to reload live changes."""
    count = conn.execute("SELECT count(*) FROM docs").fetchone()[0]
    conn.execute("UPDATE meta SET value = ? WHERE key = 'documents'", (str(count),))
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'changes'")


def load_live(conn: sqlite3.Connection, base: Postings) -> tuple[Postings | None, np.ndarray, dict[int, list[str]]]:
    """Rows added and base documents removed since the build, read in the caller's snapshot."""
    rows = conn.execute(f"SELECT {LIVE_COLUMNS} FROM live").fetchall()
    ids = dict(conn.execute("SELECT rid, id FROM docs WHERE rid IN (SELECT rid FROM live)").fetchall())
    removed = np.array(sorted(r for (r,) in conn.execute("SELECT rid FROM removed")), dtype=np.int32)
    words = {rid: document_words(text) for rid, text in conn.execute(
        "SELECT rowid, text FROM fts WHERE rowid IN (SELECT DISTINCT rid FROM live)")}
    return (base.live(rows, ids) if rows else None), removed, words
