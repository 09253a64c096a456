"""Offers deposited by recruiters: written to the store first, then indexed at once as offer documents."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.referentials import Referentials
from app.search.contract import EngineUnavailable, SearchEngine
from app.store import deposited_offers
from mappings.deposited import KIND, SOURCE, doc_id, document_of_row, is_live, offer_of_row, utc

__all__ = ["KIND", "SOURCE", "doc_id", "document_of_row", "index_deposited_offer", "is_live", "offer_of_row",
           "save_deposited_offer", "utc"]

log = logging.getLogger(__name__)

def save_deposited_offer(store: Engine, values: Mapping[str, Any], offer_id: int | None = None,
                         now: datetime | None = None) -> int:
    """Insert (offer_id None) or update a deposited offer; stamps updated_at; returns its id."""
    moment = now or datetime.now(timezone.utc)
    row = {**values, "updated_at": moment}
    with store.begin() as conn:
        if offer_id is None:
            row.setdefault("created_at", moment)
            row.setdefault("published_at", moment)
            key = conn.execute(sa.insert(deposited_offers).values(**row)).inserted_primary_key
            assert key is not None
            return int(key[0])
        conn.execute(sa.update(deposited_offers).where(deposited_offers.c.id == offer_id).values(**row))
        return offer_id


def index_deposited_offer(engine: SearchEngine, row: Mapping[Any, Any], refs: Referentials,
                          now: datetime | None = None) -> str:
    """Make the published offers index agree with one saved row at once: "indexed", "removed" or "pending".

    A live offer is upserted and any other state (filled, cancelled, expired) is removed. "pending"
    means no offers index is published yet: the next offers build reads the store and includes it.
    `now` is the caller's clock (app/clock.py), so liveness agrees with the instant the caller acted at.
    """
    try:
        if is_live(row, now):
            engine.upsert(KIND, [document_of_row(row, refs)])
            return "indexed"
        engine.delete(KIND, [doc_id(row["id"])])
        return "removed"
    except EngineUnavailable:
        log.info("deposited offer %s saved while no offers index is published", row["id"])
        return "pending"
