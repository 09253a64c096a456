"""Company documents: companies predicted to hire an apprentice (the hidden market)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappings.common import Place, core_fields, employer_mapping, es_mapping

KIND = "company"


@dataclass(frozen=True)
class Company:
    """A normalised predicted recruiter, as the predicted-recruiters indexer produces it."""

    siret: str
    name: str
    place: Place
    # Hiring score 0–100 per ROME code the company is shown for.
    rome_scores: dict[str, float]
    rome_index_codes: list[str]
    legal_name: str = ""
    naf: str = ""
    naf_label: str = ""
    size: str = ""
    hiring_score: float = 0.0
    predicted_hires: float = 0.0
    opco: str = ""
    website: str = ""
    email: str = ""
    phone: str = ""
    application_count: int = 0
    updated_at: str | None = None


ES_MAPPING = es_mapping({
    "legal_name": {"type": "text", "analyzer": "french_folded"},
    "hiring_score": {"type": "float"},
    "predicted_hires": {"type": "float"},
    "organisation": employer_mapping(website={"type": "keyword", "index": False}),
    "contact": {
        "properties": {
            "has_email": {"type": "boolean"},
            "has_phone": {"type": "boolean"},
        },
    },
})


def to_document(record: Company) -> dict[str, Any]:
    """The company document stored in the engine; e-mail and phone go to `private`."""
    doc = core_fields(
        kind=KIND, doc_id=record.siret, source="recruteurs_lba", romes=sorted(record.rome_scores),
        rome_index_codes=record.rome_index_codes, place=record.place, title=record.name,
        search_text=" ".join(filter(None, [record.name, record.legal_name, record.naf_label])),
        published_at=record.updated_at, application_count=record.application_count,
        rome_scores=record.rome_scores,
        private={key: value for key, value in (("email", record.email), ("phone", record.phone)) if value} or None,
    )
    doc.update({
        "legal_name": record.legal_name,
        "hiring_score": record.hiring_score,
        "predicted_hires": record.predicted_hires,
        "organisation": {"name": record.name, "siret": record.siret, "naf": record.naf,
                         "naf_label": record.naf_label, "size": record.size, "opco": record.opco,
                         "website": record.website},
        "contact": {"has_email": bool(record.email), "has_phone": bool(record.phone)},
    })
    return doc
