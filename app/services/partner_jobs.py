"""Partner offers of the v3 write API: checked against the public document, upserted by partner_job_id, indexed."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from app.referentials import Referentials
from app.search.contract import SearchEngine
from app.services.deposited_offers import doc_id, index_deposited_offer, utc
from app.services.public_urls import detail_page
from app.services.siret import is_valid_siret, normalise_siret
from app.services.v3_adapter import AdapterContext, date_time, target_diploma, website_url
from app.store import api_keys, deposited_offers

#: Where the public service's OpenAPI document lies under Settings.data_dir (read, never copied).
CONTRACT_FILE = Path("samples") / "lba_openapi_2026.json"
#: "Si pas présente, mettre à creation_date + 60j" (their GET schema, offer.publication.expiration).
DEFAULT_LIFETIME = timedelta(days=60)
STATUSES = {"Active": "active", "Filled": "filled", "Cancelled": "cancelled", "Pending": "pending"}
CONTRACTS = {"Apprentissage": "apprentissage", "Professionnalisation": "professionnalisation"}
POSTCODE_RE = re.compile(r"\b([0-9]{5})\b")
ID_RE = re.compile(r"^(?:deposited-)?([0-9]{1,18})\Z")
# PostgreSQL enforces the column sizes; the full body is kept in partner_payload, so cutting is harmless.
SIZES = {"title": 300, "company_name": 300, "address": 300, "apply_phone": 30, "apply_email": 320}
APPLY_URL_MAX = 500
MAX_JOB_ID = 200  # the column's size: a longer id is refused, never cut (two ids would become one)
MAX_DURATION = 1200  # months; beyond, the column keeps null (the body, kept whole, still says it)

# French messages for the JSON Schema keywords a body can break (jsonschema's validator names).
MESSAGES = {
    "required": "Champ obligatoire manquant : {missing}.",
    "type": "Type invalide (attendu : {expected}).",
    "pattern": "Format invalide (motif attendu : {pattern}).",
    "minLength": "Au moins {limit} caractères.",
    "minimum": "Doit être supérieur ou égal à {limit}.",
    "enum": "Valeurs possibles : {choices}.",
    "format": "Format {format} invalide.",
}
TYPE_NAMES = {"string": "texte", "integer": "entier", "number": "nombre", "boolean": "booléen", "array": "liste",
              "object": "objet", "null": "null"}


class PartnerJobError(ValueError):
    """A schema-valid body refused for a business rule; `details` maps fields to French messages."""

    def __init__(self, details: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in details.values() for m in ms))
        self.details = details


class JobNotFound(LookupError):
    """No offer with that id belongs to the calling partner."""


@dataclass(frozen=True)
class Contract:
    """The request and response schemas of the public document's v3 job operations, unchanged."""

    post_body: dict[str, Any]
    put_body: dict[str, Any]
    job: dict[str, Any]  # GET /v3/jobs/{id} 200: the v3 JobOffer read shape
    created: dict[str, Any]  # POST /v3/jobs 200
    export: dict[str, Any]  # GET /v3/jobs/export 200


def _json_schema(operation: Mapping[str, Any], status: str | None = None) -> dict[str, Any]:
    if status is None:
        return operation["requestBody"]["content"]["application/json"]["schema"]
    return operation["responses"][status]["content"]["application/json"]["schema"]


@lru_cache(maxsize=4)
def load_contract(data_dir: str) -> Contract:
    """The v3 job schemas of the public document under `data_dir` (no $ref in them: used as they are)."""
    document = json.loads((Path(data_dir) / CONTRACT_FILE).read_text(encoding="utf-8"))
    paths = document["paths"]
    return Contract(post_body=_json_schema(paths["/v3/jobs"]["post"]),
                    put_body=_json_schema(paths["/v3/jobs/{id}"]["put"]),
                    job=_json_schema(paths["/v3/jobs/{id}"]["get"], "200"),
                    created=_json_schema(paths["/v3/jobs"]["post"], "200"),
                    export=_json_schema(paths["/v3/jobs/export"]["get"], "200"))


def with_nullable_enums(schema: Any) -> Any:
    """A copy of `schema` where every enum whose type allows null accepts null (their generator's one slip).

    Their document writes a nullable enum as `type: [string, null]` with an enum lacking null, so a
    strict reader refuses null where the type allows it: for us `contract.remote`, which we answer
    null when the partner did not say (tests/api/test_v3.py makes the same single correction).
    """
    if isinstance(schema, dict):
        fixed = {key: with_nullable_enums(value) for key, value in schema.items()}
        types = schema.get("type")
        if "enum" in schema and isinstance(types, list) and "null" in types and None not in schema["enum"]:
            fixed["enum"] = [*schema["enum"], None]
        return fixed
    if isinstance(schema, list):
        return [with_nullable_enums(value) for value in schema]
    return schema


def _message(error: Any) -> str:
    kind = error.validator
    if kind == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        return MESSAGES["required"].format(missing=", ".join(missing))
    if kind == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return MESSAGES["type"].format(expected=" ou ".join(TYPE_NAMES.get(t, t) for t in expected))  # type: ignore[misc]
    if kind == "enum":
        return MESSAGES["enum"].format(choices=", ".join(str(v) for v in error.validator_value))
    if kind in ("minLength", "minimum"):
        return MESSAGES[kind].format(limit=error.validator_value)
    if kind == "pattern":
        return MESSAGES["pattern"].format(pattern=error.validator_value)
    if kind == "format":
        return MESSAGES["format"].format(format=error.validator_value)
    return "Valeur invalide."


def validate_body(body: Any, schema: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every violation of the document's request schema, as {"offer.title": ["Au moins 3 caractères."]}."""
    if not isinstance(body, dict):
        return {"body": ["Le corps de la requête doit être un objet JSON."]}
    problems: dict[str, list[str]] = {}
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        field = ".".join(str(part) for part in error.absolute_path) or "body"
        problems.setdefault(field, []).append(_message(error))
    return problems


def clean_json(value: Any) -> Any:
    """`value` with every string storable anywhere: lone surrogates (valid JSON escapes, not text) become
    U+FFFD, and so do NUL characters (refused by PostgreSQL text): lengths the schema checked stay; keys alike."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {clean_json(key): clean_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_json(item) for item in value]
    return value


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


def _upsert(conn: sa.Connection, values: dict[str, Any]) -> int:
    """INSERT … ON CONFLICT (partner_id, partner_job_id) DO UPDATE: one statement, racing writers never duplicate."""
    dialect = conn.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(deposited_offers).values(**values)
    changed = {k: v for k, v in values.items() if k not in ("created_at", "partner_id", "partner_job_id")}
    statement = insert.on_conflict_do_update(
        index_elements=[deposited_offers.c.partner_id, deposited_offers.c.partner_job_id], set_=changed,
    ).returning(deposited_offers.c.id)
    return int(conn.execute(statement).scalar_one())


class PartnerJobs:
    """Create, replace, read and count a partner's offers; every write reaches the search engine at once."""

    def __init__(self, store: Engine, engine: SearchEngine, refs: Referentials,
                 resolver: Callable[..., Any] | None = None) -> None:
        self.store = store
        self.engine = engine
        self.mapper = Mapper(refs, resolver)
        self.refs = refs

    def _index(self, offer_id: int) -> None:
        with self.store.connect() as conn:
            row = conn.execute(sa.select(deposited_offers).where(deposited_offers.c.id == offer_id)).mappings().one()
        index_deposited_offer(self.engine, dict(row), self.refs)

    def create(self, partner_id: int, body: dict[str, Any], now: datetime) -> str:
        """Upsert the offer of `body` by its partner_job_id; returns its id (the same on every repeat)."""
        values = self.mapper.columns(body, now)
        # identifier is optional in their schema: without it each POST is a new offer (no key to upsert on).
        raw_id = (body.get("identifier") or {}).get("partner_job_id")
        job_id = None if raw_id is None else str(raw_id)
        if job_id is not None and (not job_id.strip() or len(job_id) > MAX_JOB_ID):
            raise PartnerJobError({"identifier.partner_job_id": [
                f"Identifiant obligatoire, de {MAX_JOB_ID} caractères au plus."]})
        row = {**values, "partner_id": partner_id, "partner_job_id": job_id, "partner_payload": body,
               "created_at": now, "updated_at": now}
        with self.store.begin() as conn:
            offer_id = _upsert(conn, row)
        self._index(offer_id)  # after commit: the engine never shows an offer the store does not hold
        return doc_id(offer_id)

    def replace(self, partner_id: int, job_id: str, body: dict[str, Any], now: datetime) -> None:
        """Replace every field of the partner's offer `job_id` by `body` (PUT); JobNotFound otherwise."""
        offer_id = self._own(partner_id, job_id)["id"]
        values = self.mapper.columns(body, now)
        with self.store.begin() as conn:
            stored = conn.execute(sa.select(deposited_offers.c.partner_payload)
                                  .where(deposited_offers.c.id == offer_id)).scalar_one()
            payload = {**body, "identifier": (stored or {}).get("identifier") or {}}
            conn.execute(sa.update(deposited_offers).where(deposited_offers.c.id == offer_id)
                         .values(**values, partner_payload=payload, updated_at=now))
        self._index(offer_id)

    def _own(self, partner_id: int, job_id: str) -> dict[str, Any]:
        match = ID_RE.match(job_id.strip())
        if not match:
            raise JobNotFound(job_id)
        with self.store.connect() as conn:
            row = conn.execute(sa.select(deposited_offers, api_keys.c.name.label("partner_name"))
                               .join(api_keys, api_keys.c.id == deposited_offers.c.partner_id)
                               .where(deposited_offers.c.id == int(match.group(1)),
                                      deposited_offers.c.partner_id == partner_id)).mappings().first()
        if row is None:
            raise JobNotFound(job_id)  # another partner's offer is not even said to exist
        return dict(row)

    def get(self, partner_id: int, job_id: str) -> dict[str, Any]:
        """The stored row of the partner's offer `job_id` (with `partner_name`); JobNotFound otherwise."""
        return self._own(partner_id, job_id)


def partner_counts(store: Engine, now: datetime) -> dict[int, dict[str, int]]:
    """Per partner key id: {"active": live offers, "total": every offer it pushed}."""
    live = sa.and_(deposited_offers.c.status == "active", deposited_offers.c.expires_at > now)
    query = (sa.select(deposited_offers.c.partner_id, sa.func.count().label("total"),
                       sa.func.sum(sa.case((live, 1), else_=0)).label("active"))
             .where(deposited_offers.c.partner_id.is_not(None)).group_by(deposited_offers.c.partner_id))
    with store.connect() as conn:
        return {row.partner_id: {"active": int(row.active or 0), "total": int(row.total)}
                for row in conn.execute(query)}


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
