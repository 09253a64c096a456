"""Public JSON of a document: what a result shows, never the private contact block."""
from __future__ import annotations

import re
from typing import Any

# Fields copied as they are, per kind, after the common ones. Anything not listed (notably
# `private`, which holds e-mail addresses) never leaves the service.
KIND_FIELDS = {
    "formation": ("diploma_level", "diploma", "rncp_code", "rncp_label", "cfd", "start_dates", "duration_days",
                  "distance_learning", "callback_eligible", "onisep_url"),
    "offer": ("source", "appellation", "description", "diploma_level", "contract_types", "start_date",
              "duration_months", "positions", "status", "published_at", "expires_at", "application_count",
              "apply"),
    "company": ("hiring_score", "predicted_hires", "application_count", "contact", "rome_scores"),
}
ORGANISATION_FIELDS = ("name", "siret", "uai", "naf", "naf_label", "size", "opco", "website")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
EMAIL_MASK = "[adresse e-mail masquée]"


def mask_emails(text: str) -> str:
    """Free text with any e-mail address replaced: contact details only go out through the application flow."""
    return EMAIL_RE.sub(EMAIL_MASK, text)


def _public_value(name: str, value: Any) -> Any:
    # Recruiters write addresses into descriptions and give mailto: links; neither is harvestable here.
    if name == "description" and isinstance(value, str):
        return mask_emails(value)
    if name == "apply" and isinstance(value, dict) and EMAIL_RE.search(str(value.get("url") or "")):
        return {**value, "url": None}
    return value


def public_item(doc: dict[str, Any], distance_km: float | None) -> dict[str, Any]:
    """One result item: kind, id, title, organisation, place, distance, then the kind's own fields."""
    organisation = doc.get("organisation") or {}
    place = doc.get("place") or {}
    item: dict[str, Any] = {
        "kind": doc["kind"],
        "id": doc["id"],
        "title": doc.get("title", ""),
        "organisation": {k: organisation[k] for k in ORGANISATION_FIELDS if organisation.get(k)},
        "place": {k: place.get(k) for k in ("address", "city", "postcode", "insee", "department", "latitude",
                                            "longitude")},
        "distance_km": None if distance_km is None else round(distance_km, 2),
        "romes": doc.get("romes", []),
    }
    for name in KIND_FIELDS.get(doc["kind"], ()):
        if name in doc:
            item[name] = _public_value(name, doc[name])
    return item
