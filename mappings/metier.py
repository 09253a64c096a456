"""Métier documents: ROME appellations and codes, searched by free text to resolve a job to ROME codes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappings.common import ES_SETTINGS

KIND = "metier"
VERSION = "1"


@dataclass(frozen=True)
class Metier:
    """One searchable job label: an appellation, a ROME code label or a synonym."""

    label: str
    rome: str
    parent: str
    rome_label: str
    appellation_code: str = ""
    domain_code: str = ""
    domain_label: str = ""
    origin: str = "appellation"  # appellation | rome | synonym


ES_MAPPING: dict[str, Any] = {
    "settings": ES_SETTINGS,
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "id": {"type": "keyword"},
            "label": {"type": "text", "analyzer": "french_folded", "fields": {"raw": {"type": "keyword"}}},
            "appellation_code": {"type": "keyword"},
            "rome": {"type": "keyword"},
            "parent": {"type": "keyword"},
            "rome_label": {"type": "text", "analyzer": "french_folded"},
            "domain_code": {"type": "keyword"},
            "domain_label": {"type": "text", "analyzer": "french_folded"},
            "origin": {"type": "keyword"},
            # all-MiniLM-L6-v2 vectors; a deployment with another model changes dims with the model.
            "embedding": {"type": "dense_vector", "dims": 384, "index": False},
        },
    },
}


def to_document(record: Metier, embedding: list[float] | None = None) -> dict[str, Any]:
    """The métier document; its id is the appellation code, or origin + label for ROME labels and synonyms."""
    doc_id = record.appellation_code or f"{record.origin}:{record.rome}:{record.label}"
    doc: dict[str, Any] = {
        "id": doc_id, "label": record.label, "appellation_code": record.appellation_code, "rome": record.rome,
        "parent": record.parent, "rome_label": record.rome_label, "domain_code": record.domain_code,
        "domain_label": record.domain_label, "origin": record.origin,
    }
    if embedding is not None:
        doc["embedding"] = embedding
    return doc
