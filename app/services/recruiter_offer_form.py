"""The deposit form turned into store columns: ROME and appellation checked, company and place from the account."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.errors import invalid_parameters
from app.referentials import Referentials
from app.schemas_recruiter import DIPLOMA_LEVELS
from app.store import cfa_partner_companies

#: ROME codes the public service refuses for deposited offers (reference §5.2, its issue #3468).
BLOCKED_ROMES = frozenset({"K2202", "G1605", "I1201", "L1102", "N4104"})


def department_of(postcode: str) -> str:
    """The département code of a postcode (3 digits overseas, 2A/2B for Corsica)."""
    if not postcode:
        return ""
    if postcode.startswith("97"):
        return postcode[:3]
    if postcode.startswith("20"):
        return "2A" if postcode < "20200" else "2B"
    return postcode[:2]


def offer_columns(conn: Connection, refs: Referentials, account: Mapping[Any, Any],
                  data: Mapping[Any, Any]) -> dict[str, Any]:
    """Store columns of a validated form: referentials checked, company and place from the account."""
    errors: dict[str, list[str]] = {}
    rome = data["rome"]
    if rome not in refs.rome:
        errors["rome"] = ["Code ROME inconnu : choisissez un métier dans la liste proposée."]
    elif rome in BLOCKED_ROMES:
        errors["rome"] = ["Ce métier ne peut pas faire l'objet d'une offre en alternance sur La bonne alternance."]
    code = data.get("appellation_code") or ""
    if code:
        appellation = refs.rome.appellations.get(code)
        if appellation is None:
            errors["appellation"] = ["Métier inconnu : choisissez-le dans la liste proposée."]
        elif appellation.rome != rome:
            errors["appellation"] = ["Ce métier ne correspond pas au code ROME choisi."]
    company: Mapping[Any, Any] = account
    partner_id = data.get("cfa_partner_company_id")
    if account["kind"] == "cfa":
        partner = None
        if partner_id is not None:
            partner = conn.execute(sa.select(cfa_partner_companies).where(
                cfa_partner_companies.c.id == partner_id,
                cfa_partner_companies.c.cfa_account_id == account["id"])).mappings().first()
        if partner is None:
            errors["cfa_partner_company_id"] = ["Choisissez l'entreprise pour laquelle vous publiez l'offre."]
        else:
            company = partner
    elif partner_id is not None:
        errors["cfa_partner_company_id"] = ["Seul un compte CFA publie pour une entreprise partenaire."]
    if company is not None and (company["latitude"] is None or company["longitude"] is None):
        errors.setdefault("form", []).append(
            "L'adresse de l'établissement n'est pas localisée : l'offre ne peut pas être placée sur la carte.")
    if errors:
        raise invalid_parameters(errors)
    level = DIPLOMA_LEVELS[data["diploma_level"]][1]
    start: date | None = data.get("start_date")
    return {
        "title": data.get("title") or data["appellation"], "romes": [rome], "appellation": data["appellation"],
        "appellation_code": code, "contract_types": data["contract_types"], "diploma_level": level,
        "start_asap": data["start_asap"], "start_date": start.isoformat() if start else None,
        "duration_months": data["duration_months"], "positions": data["positions"], "rhythm": data["rhythm"],
        "description": data["description"], "questions": data["questions"],
        "disability_friendly": data["disability_friendly"], "cfa_partner_company_id": partner_id,
        "latitude": company["latitude"], "longitude": company["longitude"], "address": company["address"],
        "city": company["city"], "postcode": company["postcode"], "insee": company["insee"],
        "department": department_of(company["postcode"]), "company_name": company["company_name"],
        "company_siret": company["siret"], "company_naf": (company["naf"] or "").replace(".", "")[:5],
        "company_naf_label": company["naf_label"], "company_size": company["size"],
        "company_opco": company["opco"],
        "apply_email": (company.get("email") if company is not account else "") or account["email"],
        "apply_phone": (company.get("phone") if company is not account else "") or account["phone"],
    }
