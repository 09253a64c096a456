"""How a deposited offer reads in the API: its form's fields, status and reason labels in French, dates in ISO."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.schemas_recruiter import CANCEL_REASONS, DIPLOMA_LEVELS
from app.services.deposited_offers import doc_id, utc
from app.store.applications import CLOSE_OFFER_AFTER, CLOSED_BY_APPLICATIONS

STATUS_LABELS = {"pending": "En attente de validation", "active": "Active", "filled": "Pourvue",
                 "cancelled": "Annulée", "expired": "Expirée"}
#: status_reason of an offer the 80-application rule closed (the applications service leaves it empty).
REASON_LABELS = {"filled": "Offre pourvue", "expired": "Date d'expiration atteinte",
                 CLOSED_BY_APPLICATIONS: f"Clôturée automatiquement : {CLOSE_OFFER_AFTER} candidatures reçues",
                 **CANCEL_REASONS}


def reason_of(row: Mapping[Any, Any]) -> str:
    """Why an offer left search: its recorded reason, or the 80-application rule when that closed it."""
    if row["status_reason"]:
        return row["status_reason"]
    # Offers the rule closed before it wrote its reason are recognised by their count.
    if row["status"] == "cancelled" and (row["application_count"] or 0) >= CLOSE_OFFER_AFTER:
        return CLOSED_BY_APPLICATIONS
    return ""


def reason_label(reason: str) -> str:
    """The French label of a status reason ("autre: précision" shows the precision)."""
    key, _, comment = reason.partition(": ")
    label = REASON_LABELS.get(key, reason)
    return f"{label} — {comment}" if comment else label


def level_key(level: int | None) -> str:
    """The form's key of a European diploma level."""
    return next((key for key, (_, value) in DIPLOMA_LEVELS.items() if value == level), "indifferent")


def offer_view(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The API form of a row: the form's fields, status, why it left search, application count."""
    reason = reason_of(row)
    expires = utc(row["expires_at"])
    return {
        "id": row["id"], "search_id": doc_id(row["id"]), "title": row["title"],
        "appellation": row["appellation"], "appellation_code": row["appellation_code"],
        "rome": (row["romes"] or [""])[0], "contract_types": list(row["contract_types"] or []),
        "diploma_level": level_key(row["diploma_level"]), "start_asap": bool(row["start_asap"]),
        "start_date": row["start_date"], "duration_months": row["duration_months"],
        "positions": row["positions"], "rhythm": row["rhythm"], "description": row["description"],
        "questions": list(row["questions"] or []), "disability_friendly": bool(row["disability_friendly"]),
        "cfa_partner_company_id": row["cfa_partner_company_id"],
        "company_name": row["company_name"], "city": row["city"],
        "status": row["status"], "status_label": STATUS_LABELS.get(row["status"], row["status"]),
        "status_reason": reason, "status_reason_label": reason_label(reason) if reason else "",
        "application_count": row["application_count"] or 0,
        "published_at": _iso(row["published_at"]), "expires_at": _iso(expires),
        "prolongation_count": row["prolongation_count"] or 0,
    }


def _iso(moment: datetime | None) -> str | None:
    value = utc(moment)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
