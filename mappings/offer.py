"""Offer documents: apprenticeship job offers from France Travail and deposited on this service."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappings.common import Place, core_fields, employer_mapping, es_mapping

KIND = "offer"
SOURCES = ("france_travail", "deposited")
STATUSES = ("active", "filled", "cancelled", "expired")


@dataclass(frozen=True)
class Offer:
    """A normalised offer, as the France Travail or deposited-offers indexer produces it."""

    source: str
    source_id: str
    title: str
    romes: list[str]
    rome_index_codes: list[str]
    place: Place
    published_at: str
    expires_at: str
    contract_types: list[str]
    appellation: str = ""
    description: str = ""
    diploma_level: int | None = None
    start_date: str | None = None
    duration_months: int | None = None
    positions: int = 1
    company_name: str = ""
    company_siret: str = ""
    company_naf: str = ""
    company_naf_label: str = ""
    company_size: str = ""
    company_opco: str = ""
    status: str = "active"
    apply_url: str = ""
    apply_phone: str = ""
    apply_email: str = ""
    application_count: int = 0

    @property
    def doc_id(self) -> str:
        """Document id: source and source id, so two sources can never collide."""
        return f"{self.source}-{self.source_id}"


ES_MAPPING = es_mapping({
    "source_id": {"type": "keyword"},
    "appellation": {"type": "text", "analyzer": "french_folded"},
    "description": {"type": "text", "analyzer": "french_folded"},
    "start_date": {"type": "date"},
    "duration_months": {"type": "short"},
    "positions": {"type": "short"},
    "status": {"type": "keyword"},
    "organisation": employer_mapping(),
    "apply": {
        "properties": {
            "url": {"type": "keyword", "index": False},
            "phone": {"type": "keyword", "index": False},
            "has_email": {"type": "boolean"},
        },
    },
})


def to_document(record: Offer) -> dict[str, Any]:
    """The offer document stored in the engine; the e-mail goes to `private`, never to `apply`."""
    doc = core_fields(
        kind=KIND, doc_id=record.doc_id, source=record.source, romes=record.romes,
        rome_index_codes=record.rome_index_codes, place=record.place, title=record.title,
        search_text=" ".join(filter(None, [record.title, record.appellation, record.company_name,
                                           record.description[:500]])),
        diploma_level=record.diploma_level, contract_types=record.contract_types,
        published_at=record.published_at, expires_at=record.expires_at,
        application_count=record.application_count,
        private={"email": record.apply_email} if record.apply_email else None,
    )
    doc.update({
        "source_id": record.source_id,
        "appellation": record.appellation,
        "description": record.description,
        "start_date": record.start_date,
        "duration_months": record.duration_months,
        "positions": record.positions,
        "status": record.status,
        "organisation": {"name": record.company_name, "siret": record.company_siret, "naf": record.company_naf,
                         "naf_label": record.company_naf_label, "size": record.company_size,
                         "opco": record.company_opco},
        "apply": {"url": record.apply_url, "phone": record.apply_phone, "has_email": bool(record.apply_email)},
    })
    return doc
