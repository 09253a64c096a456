"""Formation documents: apprenticeship training courses of the national catalogue."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mappings.common import Place, core_fields, es_mapping

KIND = "formation"


@dataclass(frozen=True)
class Formation:
    """A normalised catalogue course, as the catalogue indexer produces it."""

    key: str  # clé ministère éducatif
    title: str
    romes: list[str]
    rome_index_codes: list[str]
    place: Place
    diploma_level: int | None = None
    diploma: str = ""
    rncp_code: str = ""
    rncp_label: str = ""
    cfd: str = ""
    centre_name: str = ""
    centre_siret: str = ""
    centre_uai: str = ""
    manager_siret: str = ""
    start_dates: list[str] = field(default_factory=list)
    duration_days: int | None = None
    distance_learning: bool = False
    callback_eligible: bool = False
    onisep_url: str = ""
    updated_at: str | None = None
    contact_email: str = ""


ES_MAPPING = es_mapping({
    "diploma": {"type": "keyword"},
    "rncp_code": {"type": "keyword"},
    "rncp_label": {"type": "text", "analyzer": "french_folded"},
    "cfd": {"type": "keyword"},
    "organisation": {
        "properties": {
            "name": {"type": "text", "analyzer": "french_folded", "fields": {"raw": {"type": "keyword"}}},
            "siret": {"type": "keyword"},
            "uai": {"type": "keyword"},
            "manager_siret": {"type": "keyword"},
        },
    },
    "start_dates": {"type": "date"},
    "duration_days": {"type": "integer"},
    "distance_learning": {"type": "boolean"},
    "callback_eligible": {"type": "boolean"},
    "onisep_url": {"type": "keyword", "index": False},
})


def to_document(record: Formation) -> dict[str, Any]:
    """The formation document stored in the engine."""
    doc = core_fields(
        kind=KIND, doc_id=record.key, source="catalogue", romes=record.romes,
        rome_index_codes=record.rome_index_codes, place=record.place, title=record.title,
        search_text=" ".join(filter(None, [record.title, record.rncp_label, record.diploma, record.centre_name])),
        diploma_level=record.diploma_level, contract_types=["apprentissage"], published_at=record.updated_at,
        private={"email": record.contact_email} if record.contact_email else None,
    )
    doc.update({
        "diploma": record.diploma,
        "rncp_code": record.rncp_code,
        "rncp_label": record.rncp_label,
        "cfd": record.cfd,
        "organisation": {"name": record.centre_name, "siret": record.centre_siret, "uai": record.centre_uai,
                         "manager_siret": record.manager_siret},
        "start_dates": record.start_dates,
        "duration_days": record.duration_days,
        "distance_learning": record.distance_learning,
        "callback_eligible": record.callback_eligible,
        "onisep_url": record.onisep_url,
    })
    return doc
