"""Deposited offers (store table `deposited_offers`) → offer documents: full reads for rebuilds, changes for syncs."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.referentials import Referentials
from app.search.contract import SearchEngine
from app.store import deposited_offers
from indexers import ImportStats, guarded
from mappings.deposited import KIND, SOURCE, doc_id, document_of_row, is_live

__all__ = ["SOURCE", "apply_changes", "changed_since", "iter_documents"]

#: Rows read per query: bounded memory whatever the table's size.
PAGE = 2000


def _rows(store: Engine, where: Any = None) -> Iterator[dict[str, Any]]:
    """Rows in id order, PAGE at a time (keyset pagination: no long-lived cursor on the store)."""
    last = 0
    while True:
        query = sa.select(deposited_offers).where(deposited_offers.c.id > last)
        if where is not None:
            query = query.where(where)
        with store.connect() as conn:
            rows = [dict(r) for r in conn.execute(query.order_by(deposited_offers.c.id).limit(PAGE)).mappings()]
        yield from rows
        if len(rows) < PAGE:
            return
        last = rows[-1]["id"]


def iter_documents(store: Engine, refs: Referentials, stats: ImportStats,
                   now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """Documents of every live deposited offer (active, not expired); the others are not read."""
    moment = now or datetime.now(timezone.utc)
    live = sa.and_(deposited_offers.c.status == "active", deposited_offers.c.expires_at > moment)
    for row in _rows(store, live):
        stats.read += 1
        document = guarded(stats, document_of_row, row, refs)
        if document is not None:
            stats.indexed += 1
            yield document


def changed_since(store: Engine, since: datetime | None) -> Iterator[dict[str, Any]]:
    """Rows written at or after `since` (every row when None)."""
    yield from _rows(store, None if since is None else deposited_offers.c.updated_at >= since)


def apply_changes(engine: SearchEngine, refs: Referentials, rows: Iterator[dict[str, Any]], stats: ImportStats,
                  now: datetime | None = None) -> None:
    """Upsert the live rows into the published offers index and delete the others.

    Deleting an id the index does not hold is harmless, so expired and cancelled offers are
    simply removed again: the sync needs no memory of what it indexed before.
    """
    moment = now or datetime.now(timezone.utc)
    batch: list[dict[str, Any]] = []
    gone: list[str] = []
    for row in rows:
        stats.read += 1
        if is_live(row, moment):
            document = guarded(stats, document_of_row, row, refs)
            if document is not None:
                batch.append(document)
        else:
            gone.append(doc_id(row["id"]))
        if len(batch) >= PAGE:
            stats.indexed += engine.upsert(KIND, batch)
            batch = []
    if batch:
        stats.indexed += engine.upsert(KIND, batch)
    if gone:
        removed = engine.delete(KIND, gone)
        stats.warnings["removed from index"] += removed
        stats.warnings["not live"] += len(gone)
