"""How a document becomes rows: the SQLite schema, its `docs` row and its posting rows (one per ROME code)."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from app.search.derived import derive, paris_day
from app.search.embedded.grid import cell_of
from mappings.common import CONTRACT_TYPES

CONTRACT_BITS = {name: 1 << position for position, name in enumerate(CONTRACT_TYPES)}
CONTRACT_NAMES = {bits: tuple(name for name, bit in CONTRACT_BITS.items() if bits & bit)
                  for bits in range(2 ** len(CONTRACT_BITS))}
ALL_CONTRACT_BITS = 2 ** len(CONTRACT_BITS) - 1

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


def contract_bits(types: Iterable[str]) -> int:
    """The bit mask of contract type names; unknown names add no bit."""
    return sum(CONTRACT_BITS.get(t, 0) for t in set(types))


def posting_rows(doc: dict[str, Any], rid: int) -> list[tuple[Any, ...]]:
    """Posting rows of one document, one per ROME index code, in columns.ROW_FIELDS order."""
    d = derive(doc)
    shared = (cell_of(d.lat, d.lon), d.lat, d.lon, d.x, d.y, d.z)
    tail = (doc.get("diploma_level"), contract_bits(doc.get("contract_types") or []), doc.get("source") or "",
            d.published_day, d.expires_day, int(doc.get("application_count") or 0))
    return [(rid, code, *shared, score, *tail) for code, score in d.code_scores]


def doc_row(doc: dict[str, Any], rid: int, rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The `docs` row of a document: what a hit shows besides its posting columns, and the body."""
    return (rid, str(doc["id"]), " ".join(r[1] for r in rows), doc.get("published_at"),
            paris_day(doc.get("expires_at")), orjson.dumps(doc))


def search_text(doc: dict[str, Any]) -> str:
    """The text indexed for a document (its search text, else its title)."""
    return doc.get("search_text") or doc.get("title") or ""


def columns_dir(sqlite_path: Path) -> Path:
    """Where the posting columns of the generation stored in `sqlite_path` live."""
    return sqlite_path.with_name(sqlite_path.name.split(".", 1)[0] + ".cols")
