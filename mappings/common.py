"""Fields and analysis settings shared by the matchable document types (formation, offer, company)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

CONTRACT_TYPES = ("apprentissage", "professionnalisation")

# French analysis for Elasticsearch/OpenSearch: elision (l', d'...), lowercase, ASCII folding so
# "Boulangère" and "boulangere" meet, and light stemming so plurals meet singulars.
ES_SETTINGS: dict[str, Any] = {
    "analysis": {
        "filter": {
            "french_elision": {
                "type": "elision",
                "articles_case": True,
                "articles": ["l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"],
            },
            "french_light_stem": {"type": "stemmer", "language": "light_french"},
        },
        "analyzer": {
            "french_folded": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["french_elision", "lowercase", "asciifolding", "french_light_stem"],
            },
        },
    },
}

# Fields every matchable document has; the engines filter and rank on these.
CORE_ES_PROPERTIES: dict[str, Any] = {
    "id": {"type": "keyword"},
    "kind": {"type": "keyword"},
    "source": {"type": "keyword"},
    # ROME codes as given plus their parent codes, so a parent-code query finds child-coded documents.
    "romes": {"type": "keyword"},
    "rome_index_codes": {"type": "keyword"},
    "location": {"type": "geo_point"},
    "title": {"type": "text", "analyzer": "french_folded", "fields": {"raw": {"type": "keyword"}}},
    "search_text": {"type": "text", "analyzer": "french_folded"},
    "diploma_level": {"type": "byte"},
    "contract_types": {"type": "keyword"},
    "published_at": {"type": "date"},
    "expires_at": {"type": "date"},
    "application_count": {"type": "integer"},
    # Per-ROME hiring score (companies): stored as an object, not searched.
    "rome_scores": {"type": "object", "enabled": False},
    "place": {
        "properties": {
            "address": {"type": "text", "analyzer": "french_folded"},
            "city": {"type": "keyword"},
            "postcode": {"type": "keyword"},
            "insee": {"type": "keyword"},
            "department": {"type": "keyword"},
            "latitude": {"type": "float", "index": False},
            "longitude": {"type": "float", "index": False},
        },
    },
    # Contact details kept for the application flow; never part of any API output.
    "private": {"type": "object", "enabled": False},
}


# The employer of an offer or a company document: the same fields, so the engines filter both alike.
EMPLOYER_PROPERTIES: dict[str, Any] = {
    "name": {"type": "text", "analyzer": "french_folded", "fields": {"raw": {"type": "keyword"}}},
    "siret": {"type": "keyword"},
    "naf": {"type": "keyword"},
    "naf_label": {"type": "keyword", "index": False},
    "size": {"type": "keyword"},
    "opco": {"type": "keyword"},
}


def employer_mapping(**extra: dict[str, Any]) -> dict[str, Any]:
    """The `organisation` object of an employer (offer or company), with the kind's own `extra` fields."""
    return {"properties": {**EMPLOYER_PROPERTIES, **extra}}


@dataclass(frozen=True)
class Place:
    """Where a formation, offer or company is: WGS84 point plus what a person reads."""

    latitude: float
    longitude: float
    address: str = ""
    city: str = ""
    postcode: str = ""
    insee: str = ""
    department: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latitude) and math.isfinite(self.longitude)):
            raise ValueError("coordinates must be finite numbers")
        if not (-90 <= self.latitude <= 90 and -180 <= self.longitude <= 180):
            raise ValueError(f"coordinates out of range: {self.latitude}, {self.longitude}")

    def to_dict(self) -> dict[str, Any]:
        """The `place` block of a document."""
        return {"address": self.address, "city": self.city, "postcode": self.postcode, "insee": self.insee,
                "department": self.department, "latitude": self.latitude, "longitude": self.longitude}


def es_mapping(extra: dict[str, Any]) -> dict[str, Any]:
    """A strict (non-dynamic) index body: shared settings, core properties plus `extra`."""
    return {
        "settings": ES_SETTINGS,
        "mappings": {"dynamic": "strict", "properties": {**CORE_ES_PROPERTIES, **extra}},
    }


def core_fields(*, kind: str, doc_id: str, source: str, romes: list[str], rome_index_codes: list[str],
                place: Place, title: str, search_text: str, diploma_level: int | None = None,
                contract_types: list[str] | None = None, published_at: str | None = None,
                expires_at: str | None = None, application_count: int = 0,
                rome_scores: dict[str, float] | None = None,
                private: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields every matchable document carries, in one place so the three types cannot drift."""
    return {
        "id": doc_id,
        "kind": kind,
        "source": source,
        "romes": romes,
        "rome_index_codes": rome_index_codes,
        "location": {"lat": place.latitude, "lon": place.longitude},
        "title": title,
        "search_text": search_text,
        "diploma_level": diploma_level,
        "contract_types": contract_types or [],
        "published_at": published_at,
        "expires_at": expires_at,
        "application_count": application_count,
        "rome_scores": rome_scores or {},
        "place": place.to_dict(),
        "private": private or {},
    }
