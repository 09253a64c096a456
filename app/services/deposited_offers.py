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
from mappings.common import Place
from mappings.offer import Offer, to_document

log = logging.getLogger(__name__)

SOURCE = "deposited"
KIND = "offer"


def utc(moment: datetime | None) -> datetime | None:
    """An aware UTC datetime; SQLite hands back naive values that the store wrote as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _iso(moment: datetime | None) -> str:
    value = utc(moment)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def doc_id(offer_id: int | str) -> str:
    """The engine id of deposited offer `offer_id` (source + source id, like every offer)."""
    return f"{SOURCE}-{offer_id}"


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


def is_live(row: Mapping[str, Any], now: datetime | None = None) -> bool:
    """Whether a deposited offer belongs in the index: active and not past its expiry."""
    expires = utc(row["expires_at"])
    return row["status"] == "active" and (expires is None or expires > (now or datetime.now(timezone.utc)))


def offer_of_row(row: Mapping[str, Any], refs: Referentials) -> Offer:
    """The Offer record of a `deposited_offers` row (optional columns may be absent from a plain dict)."""
    romes = [code for code in (row["romes"] or []) if code in refs.rome]
    place = Place(latitude=row["latitude"], longitude=row["longitude"], address=row.get("address") or "",
                  city=row.get("city") or "", postcode=row.get("postcode") or "", insee=row.get("insee") or "",
                  department=row.get("department") or "")
    return Offer(
        source=SOURCE, source_id=str(row["id"]), title=row["title"], romes=romes,
        rome_index_codes=refs.rome.index_codes(romes), place=place,
        published_at=_iso(row.get("published_at")), expires_at=_iso(row["expires_at"]),
        contract_types=list(row["contract_types"] or []), appellation=row.get("appellation") or "",
        description=row.get("description") or "", diploma_level=row.get("diploma_level"),
        start_date=row.get("start_date"), duration_months=row.get("duration_months"),
        positions=row.get("positions") or 1,
        company_name=row.get("company_name") or "", company_siret=row.get("company_siret") or "",
        company_naf=row.get("company_naf") or "", company_naf_label=row.get("company_naf_label") or "",
        company_size=row.get("company_size") or "", company_opco=row.get("company_opco") or "", status=row["status"],
        apply_url=row.get("apply_url") or "", apply_phone=row.get("apply_phone") or "",
        apply_email=row.get("apply_email") or "", application_count=row.get("application_count") or 0,
    )


def document_of_row(row: Mapping[str, Any], refs: Referentials) -> dict[str, Any]:
    """The offer document of a `deposited_offers` row."""
    return to_document(offer_of_row(row, refs))


def index_deposited_offer(engine: SearchEngine, row: Mapping[str, Any], refs: Referentials | None = None,
                          now: datetime | None = None) -> str:
    """Make the published offers index agree with one saved row at once: "indexed", "removed" or "pending".

    A live offer is upserted and any other state (filled, cancelled, expired) is removed. "pending"
    means no offers index is published yet: the next offers build reads the store and includes it.
    `now` is the caller's clock (app/clock.py), so liveness agrees with the instant the caller acted at.
    """
    if refs is None:
        from app.config import Settings
        from app.referentials import get_referentials
        refs = get_referentials(Settings.from_env().data_dir)
    try:
        if is_live(row, now):
            engine.upsert(KIND, [document_of_row(row, refs)])
            return "indexed"
        engine.delete(KIND, [doc_id(row["id"])])
        return "removed"
    except EngineUnavailable:
        log.info("deposited offer %s saved while no offers index is published", row["id"])
        return "pending"
