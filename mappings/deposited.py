"""A deposited offer's store row (table `deposited_offers`) as an Offer record and its engine document.

The indexers (rebuilds and syncs) and the services (indexing at once on every change) both read
rows through these rules, so they live here, below both layers.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Protocol

from mappings.common import Place
from mappings.offer import Offer, to_document


class _Rome(Protocol):
    def __contains__(self, code: object) -> bool: ...

    def index_codes(self, codes: list[str]) -> list[str]: ...


class _Referentials(Protocol):
    """What the rules read of the referentials (app.referentials.Referentials): the ROME codes."""

    @property
    def rome(self) -> _Rome: ...


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


def is_live(row: Mapping[str, Any], now: datetime | None = None) -> bool:
    """Whether a deposited offer belongs in the index: active and not past its expiry."""
    expires = utc(row["expires_at"])
    return row["status"] == "active" and (expires is None or expires > (now or datetime.now(timezone.utc)))


def offer_of_row(row: Mapping[str, Any], refs: _Referentials) -> Offer:
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


def document_of_row(row: Mapping[str, Any], refs: _Referentials) -> dict[str, Any]:
    """The offer document of a `deposited_offers` row."""
    return to_document(offer_of_row(row, refs))
