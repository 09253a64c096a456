"""A partner's v3 job body to `deposited_offers` columns (Mapper, business rules); a row back to the v3 read shape."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.referentials import Referentials
from app.services.deposited_offers import doc_id, utc
from app.services.public_urls import detail_page
from app.services.siret import is_valid_siret, normalise_siret
from app.services.v3_adapter import AdapterContext, date_time, target_diploma, website_url

#: "Si pas présente, mettre à creation_date + 60j" (their GET schema, offer.publication.expiration).
DEFAULT_LIFETIME = timedelta(days=60)
STATUSES = {"Active": "active", "Filled": "filled", "Cancelled": "cancelled", "Pending": "pending"}
CONTRACTS = {"Apprentissage": "apprentissage", "Professionnalisation": "professionnalisation"}
POSTCODE_RE = re.compile(r"\b([0-9]{5})\b")
# PostgreSQL enforces the column sizes; the full body is kept in partner_payload, so cutting is harmless.
SIZES = {"title": 300, "company_name": 300, "address": 300, "apply_phone": 30, "apply_email": 320}
APPLY_URL_MAX = 500
MAX_DURATION = 1200  # months; beyond, the column keeps null (the body, kept whole, still says it)


class PartnerJobError(ValueError):
    """A schema-valid body refused for a business rule; `details` maps fields to French messages."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in details.values() for m in ms))
        self.details = details


def siret_is_valid(siret: str) -> bool:
    """Whether a workplace SIRET is exactly 14 ASCII digits passing the one check (app/services/siret.py)."""
    return siret == normalise_siret(siret) and is_valid_siret(siret)


def _moment(value: Any, field: str, problems: dict[str, list[str]]) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        problems.setdefault(field, []).append("Date invalide (format ISO 8601 attendu, ex. 2026-09-01T00:00:00Z).")
        return None
    return utc(parsed)


def _cut(text: Any, field: str) -> str:
    return str(text or "")[:SIZES[field]]


@dataclass(frozen=True)
class Mapper:
    """Turns an accepted v3 body into `deposited_offers` columns (referentials for ROME codes and places)."""

    refs: Referentials
    resolver: Callable[..., Any] | None = None

    def romes(self, offer: Mapping[str, Any], problems: dict[str, list[str]]) -> list[str]:
        codes = [code for code in offer.get("rome_codes") or []]
        unknown = [code for code in codes if code not in self.refs.rome]
        if unknown:
            problems["offer.rome_codes"] = [f"Code(s) ROME inconnu(s) du référentiel : {', '.join(unknown)}."]
            return []
        if not codes and self.resolver is not None:
            # As the public service fills a missing ROME from the title, our métier index resolves it.
            codes = [found.code for found in self.resolver(offer.get("title") or "", limit=1)]
        if not codes:
            problems["offer.rome_codes"] = ["Indiquez au moins un code ROME : aucun métier ne correspond au titre."]
        return list(dict.fromkeys(codes))

    def appellation(self, title: str, romes: list[str]) -> tuple[str, str]:
        """(OGR code, label) of the appellation of `romes` named like the title, else empty (for France Travail)."""
        wanted = " ".join(title.casefold().split())
        for code, found in self.refs.rome.appellations.items():
            if found.rome in romes and wanted in (" ".join(found.label.casefold().split()),
                                                   " ".join(found.short_label.casefold().split())):
                return code, found.label
        return "", ""

    def place(self, workplace: Mapping[str, Any], problems: dict[str, list[str]]) -> dict[str, Any]:
        location = workplace.get("location") or {}
        address = str(location.get("address") or "").strip()
        commune = None
        match = POSTCODE_RE.search(address)
        if match:
            found = self.refs.communes.for_postcode(match.group(1))
            commune = found[0] if found else None
        point = (location.get("geopoint") or {}).get("coordinates") if isinstance(location.get("geopoint"), dict) \
            else None
        if isinstance(point, list) and len(point) == 2 and all(isinstance(v, (int, float)) for v in point) \
                and -180 <= point[0] <= 180 and -90 <= point[1] <= 90:
            longitude, latitude = float(point[0]), float(point[1])  # GeoJSON order, as their read shape
        elif commune is not None:
            longitude, latitude = commune.longitude, commune.latitude
        else:
            problems["workplace.location.address"] = [
                "Lieu introuvable : indiquez une adresse avec un code postal existant (ex. « 12 rue de la Paix, "
                "75002 Paris »)."]
            return {}
        return {"latitude": latitude, "longitude": longitude, "address": address[:SIZES["address"]],
                "city": commune.name if commune else "", "postcode": match.group(1) if commune and match else "",
                "insee": commune.insee if commune else "",
                "department": commune.department if commune else ""}

    def columns(self, body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """The row's columns for `body`; raises PartnerJobError listing every business problem."""
        problems: dict[str, list[str]] = {}
        offer, workplace = body.get("offer") or {}, body.get("workplace") or {}
        contract, apply = body.get("contract") or {}, body.get("apply") or {}
        siret = str(workplace.get("siret") or "")
        if not siret_is_valid(siret):
            problems["workplace.siret"] = ["SIRET invalide : 14 chiffres dont la clé de contrôle (Luhn) est fausse."]
        romes = self.romes(offer, problems)
        place = self.place(workplace, problems)
        publication = offer.get("publication") or {}
        created = _moment(publication.get("creation"), "offer.publication.creation", problems) or now
        expires = _moment(publication.get("expiration"), "offer.publication.expiration", problems)
        start = _moment(contract.get("start"), "contract.start", problems)
        if problems:
            raise PartnerJobError(problems)
        diploma = (offer.get("target_diploma") or {}).get("european")
        appellation_code, appellation = self.appellation(str(offer["title"]), romes)
        url = str(apply.get("url") or "")
        return {
            "title": _cut(offer["title"], "title"), "romes": romes, "appellation_code": appellation_code,
            "appellation": appellation[:300], "description": offer["description"],
            "contract_types": [CONTRACTS[t] for t in dict.fromkeys(contract.get("type") or list(CONTRACTS))],
            "diploma_level": int(diploma) if diploma else None,
            "start_date": start.date().isoformat() if start else None,
            "duration_months": contract.get("duration") if (contract.get("duration") or 0) <= MAX_DURATION else None,
            "positions": max(1, int(offer.get("opening_count") or 1)) if offer.get("opening_count", 1) < 2**31 else 1,
            **place,
            "company_name": _cut(workplace.get("name"), "company_name"), "company_siret": siret,
            "apply_url": url if len(url) <= APPLY_URL_MAX else "",
            "apply_phone": _cut(apply.get("phone"), "apply_phone"),
            "apply_email": _cut(apply.get("email"), "apply_email"),
            "status": STATUSES[offer.get("status") or "Active"],
            "multicast": bool(offer.get("multicast", True)),
            "published_at": created, "expires_at": expires or created + DEFAULT_LIFETIME,
        }


def read_shape(row: Mapping[str, Any], ctx: AdapterContext, partner_name: str | None = None) -> dict[str, Any]:
    """A `deposited_offers` row in the v3 JobOffer read shape (GET /v3/jobs/{id}, the export's items).

    Columns give what search shows; the partner's body (partner_payload) gives what only it holds
    (skills, website, remote work). Offers of the deposit form have no payload and read as empty there.
    """
    payload = row.get("partner_payload") or {}
    offer, workplace = payload.get("offer") or {}, payload.get("workplace") or {}
    contract = payload.get("contract") or {}
    identifier = payload.get("identifier") or {}
    town = " ".join(p for p in (row.get("postcode") or "", row.get("city") or "") if p)
    address = row.get("address") or town
    labels = {v: k for k, v in CONTRACTS.items()}
    statuses = {v: k for k, v in STATUSES.items()}
    return {
        "identifier": {"id": doc_id(row["id"]), "partner_label": partner_name or "offres_emploi_lba",
                       "partner_job_id": str(identifier.get("partner_job_id") or row.get("partner_job_id")
                                             or row["id"])},
        "workplace": {
            "siret": row.get("company_siret") or None, "brand": None, "legal_name": None,
            "website": website_url(workplace.get("website")), "name": row.get("company_name") or None,
            "description": workplace.get("description"), "size": row.get("company_size") or None,
            "location": {"address": address,
                         "geopoint": {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]}},
            "domain": {"idcc": None, "opco": "inconnu", "naf": (
                {"code": row["company_naf"], "label": row.get("company_naf_label") or None}
                if row.get("company_naf") else None)},
        },
        "apply": {"url": row.get("apply_url") or detail_page(ctx.base_url, "offer", doc_id(row["id"])),
                  "phone": row.get("apply_phone") or None, "recipient_id": None},
        "contract": {"start": date_time(row.get("start_date")), "duration": row.get("duration_months"),
                     "type": [labels[c] for c in row.get("contract_types") or [] if c in labels],
                     "remote": contract.get("remote")},
        "offer": {
            "title": row["title"], "rome_codes": list(row.get("romes") or []),
            "description": row.get("description") or "",
            "target_diploma": target_diploma(row.get("diploma_level"), ctx),
            "desired_skills": list(offer.get("desired_skills") or []),
            "to_be_acquired_skills": list(offer.get("to_be_acquired_skills") or []),
            "access_conditions": list(offer.get("access_conditions") or []),
            "publication": {"creation": date_time(_iso(row.get("published_at"))),
                            "expiration": date_time(_iso(row.get("expires_at")))},
            "opening_count": row.get("positions") or 1,
            "status": statuses.get(row["status"], "Cancelled"),  # expired reads as closed: their enum has no Expired
        },
        "is_delegated": bool(row.get("cfa_partner_company_id")),
    }


def _iso(moment: Any) -> str | None:
    value = utc(moment) if isinstance(moment, datetime) else None
    return value.isoformat() if value else None
