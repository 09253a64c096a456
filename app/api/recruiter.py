"""The recruiter's offers API (`/api/v1/recruiter/offers`), authenticated by the recruiter's session cookie."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from app.clock import get_clock
from app.errors import ApiError, invalid_parameters, load_json_object
from app.schemas_recruiter import CancelSchema, DelegationSchema, OfferSchema, PartnerCompanySchema
from app.services.company_search import CompanySearchError, CompanySearchUnavailable
from app.services.delegations import Delegations
from app.services.recruiter_accounts import AccountService, NotAllowed
from app.services.recruiter_offers import RecruiterOffers
from app.web.csrf import csrf
from app.web.recruiter_session import current_account

bp = Blueprint("recruiter_api", __name__, url_prefix="/api/v1/recruiter")
# CSRF is checked below, after the session: a caller without a session learns 401 first, then a
# signed-in caller's write without the X-CSRFToken header gets the CSRF 400 (app/web/csrf.py).
csrf.exempt(bp)


def get_offers_service() -> RecruiterOffers:
    """The recruiter offers service of the running app."""
    return current_app.extensions["lba.recruiter_offers"]


def get_delegations() -> Delegations:
    """The CFA delegation service of the running app."""
    return current_app.extensions["lba.delegations"]


def signed_in() -> dict[str, Any]:
    """The signed-in account, else a 401 in the API's error shape."""
    account = current_account()
    if account is None:
        raise ApiError(401, "not_signed_in", "Connectez-vous à votre espace recruteur.")
    return account


def load_body(schema: Any) -> dict[str, Any]:
    """The JSON body validated by `schema`; a 400 naming every invalid field."""
    return load_json_object(schema, request.get_json(silent=True))


@bp.before_request
def _session_then_csrf() -> None:
    signed_in()
    protection = current_app.extensions.get("csrf")  # Flask-WTF's CSRFProtect, when installed
    if protection is not None:
        protection.protect()


@bp.get("/offers")
def list_offers():
    """The account's offers with status, why they left search and their application count."""
    return {"offers": get_offers_service().list_offers(signed_in())}


@bp.post("/offers")
def create_offer():
    """Deposit an offer: active for two months, or pending until the account is validated."""
    account = signed_in()
    return get_offers_service().create(account, load_body(OfferSchema(today=get_clock().today()))), 201


@bp.get("/offers/<int:offer_id>")
def get_offer(offer_id: int):
    """One of the account's offers."""
    return get_offers_service().get(signed_in(), offer_id)


@bp.put("/offers/<int:offer_id>")
def update_offer(offer_id: int):
    """Replace an open offer's fields (status and expiry unchanged)."""
    account = signed_in()
    return get_offers_service().update(account, offer_id, load_body(OfferSchema(today=get_clock().today())))


@bp.post("/offers/<int:offer_id>/extend")
def extend_offer(offer_id: int):
    """Two more months from now."""
    return get_offers_service().act(signed_in(), offer_id, "extend")


@bp.post("/offers/<int:offer_id>/filled")
def fill_offer(offer_id: int):
    """The offer is filled: it leaves search."""
    return get_offers_service().act(signed_in(), offer_id, "filled")


@bp.post("/offers/<int:offer_id>/cancel")
def cancel_offer(offer_id: int):
    """Cancel with a reason: the offer leaves search."""
    account = signed_in()
    data = load_body(CancelSchema())
    reason = f"{data['reason']}: {data['comment'].strip()}" if data["comment"].strip() else data["reason"]
    return get_offers_service().act(account, offer_id, "cancel", reason)


@bp.get("/offers/<int:offer_id>/cfas")
def offer_cfas(offer_id: int):
    """CFAs within 100 km training for the offer's job (nearest first) and those already picked."""
    return get_delegations().proposals(signed_in(), offer_id)


@bp.post("/offers/<int:offer_id>/cfas")
def choose_cfas(offer_id: int):
    """Pick CFAs among those proposed; each is e-mailed once the account is validated."""
    account = signed_in()
    return get_delegations().choose(account, offer_id, load_body(DelegationSchema())["cfa_sirets"])


def get_accounts() -> AccountService:
    """The recruiter account service of the running app (it keeps the CFAs' partner companies)."""
    return current_app.extensions["lba.accounts"]


PARTNER_FIELDS = ("id", "siret", "company_name", "address", "postcode", "city", "naf", "naf_label", "email", "phone")


def _partner(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row.get(name) for name in PARTNER_FIELDS}


def _cfa() -> dict[str, Any]:
    account = signed_in()
    if account["kind"] != "cfa":
        raise ApiError(403, "forbidden", "Seul un compte CFA gère des entreprises partenaires.")
    return account


@bp.get("/partner-companies")
def list_partner_companies():
    """The signed-in CFA's partner companies, by name."""
    return {"partner_companies": [_partner(row) for row in get_accounts().partner_companies(_cfa())]}


@bp.post("/partner-companies")
def add_partner_company():
    """Add a partner company by SIRET: closed establishments and education ones (NAF 85) are refused."""
    account = _cfa()
    data = load_body(PartnerCompanySchema())
    try:
        row = get_accounts().add_partner_company(account, data["siret"], data["email"], data["phone"])
    except CompanySearchUnavailable as exc:
        raise ApiError(503, "company_search_unavailable", exc.message) from None
    except CompanySearchError as exc:
        raise invalid_parameters({"siret": [exc.message]}) from None
    except NotAllowed as exc:
        raise ApiError(403, "forbidden", exc.message) from None
    return _partner(row), 201


# ----- OpenAPI ---------------------------------------------------------------------------------
def _error(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": "ErrorSchema"}}}


OFFER = {"type": "object", "description": "Une offre déposée telle que l'API la rend.", "properties": {
    "id": {"type": "integer"}, "search_id": {"type": "string", "description": "Identifiant dans /api/v1/match."},
    "title": {"type": "string"}, "appellation": {"type": "string"}, "appellation_code": {"type": "string"},
    "rome": {"type": "string"}, "contract_types": {"type": "array", "items": {"type": "string"}},
    "diploma_level": {"type": "string"}, "start_asap": {"type": "boolean"},
    "start_date": {"type": "string", "format": "date", "nullable": True},
    "duration_months": {"type": "integer"}, "positions": {"type": "integer"}, "rhythm": {"type": "string"},
    "description": {"type": "string"}, "questions": {"type": "array", "items": {"type": "string"}},
    "disability_friendly": {"type": "boolean"}, "cfa_partner_company_id": {"type": "integer", "nullable": True},
    "company_name": {"type": "string"}, "city": {"type": "string"},
    "status": {"type": "string", "enum": ["pending", "active", "filled", "cancelled", "expired"]},
    "status_label": {"type": "string"},
    "status_reason": {"type": "string", "description": "filled, expired, max_applications (80 candidatures) "
                                                       "ou le motif d'annulation."},
    "status_reason_label": {"type": "string"}, "application_count": {"type": "integer"},
    "published_at": {"type": "string", "format": "date-time"},
    "expires_at": {"type": "string", "format": "date-time"}, "prolongation_count": {"type": "integer"}}}
PARTNER = {"type": "object", "description": "Une entreprise partenaire d'un CFA.", "properties": {
    "id": {"type": "integer", "description": "À passer en cfa_partner_company_id d'une offre."},
    "siret": {"type": "string"}, "company_name": {"type": "string"}, "address": {"type": "string"},
    "postcode": {"type": "string"}, "city": {"type": "string"}, "naf": {"type": "string"},
    "naf_label": {"type": "string"}, "email": {"type": "string"}, "phone": {"type": "string"}}}
AUTH = {"401": _error("Pas de session recruteur (cookie de l'espace recruteur).")}
OWN = {**AUTH, "404": _error("Offre introuvable (ou d'un autre compte).")}
ONE = {"200": {"description": "L'offre.", "content": {"application/json": {"schema": OFFER}}}}
CSRF = ("Authentification par la session de l'espace recruteur (cookie) ; les écritures portent l'en-tête "
        "X-CSRFToken de la page.")
ID = [{"in": "path", "name": "offer_id", "required": True, "schema": {"type": "integer"}}]


def _action(summary: str, body: Any = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": ["recruteurs"], "description": CSRF, "parameters": ID,
                                 "responses": {**ONE, **OWN, "409": _error("Offre déjà close, ou en attente.")}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        operation["responses"]["400"] = _error("Motif absent ou inconnu.")
    return {"post": operation}


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI operations of this blueprint (added to /api/openapi.json)."""
    body = {"required": True, "content": {"application/json": {"schema": OfferSchema}}}
    invalid = _error("Champ invalide : `details` donne un message en français par champ.")
    return {
        "/api/v1/recruiter/offers": {
            "get": {"summary": "Les offres du compte, avec statut, motif et nombre de candidatures.",
                    "tags": ["recruteurs"], "description": CSRF, "responses": {
                        "200": {"description": "Offres, la plus récente d'abord.", "content": {"application/json": {
                            "schema": {"type": "object", "properties": {
                                "offers": {"type": "array", "items": OFFER}}}}}}, **AUTH}},
            "post": {"summary": "Déposer une offre (active deux mois, ou en attente de validation du compte).",
                     "tags": ["recruteurs"], "description": CSRF, "requestBody": body,
                     "responses": {"201": ONE["200"], "400": invalid, **AUTH}}},
        "/api/v1/recruiter/partner-companies": {
            "get": {"summary": "Les entreprises partenaires du compte CFA (pour qui il publie des offres).",
                    "tags": ["recruteurs"], "description": CSRF, "responses": {
                        "200": {"description": "Entreprises partenaires, par nom.", "content": {"application/json": {
                            "schema": {"type": "object", "properties": {
                                "partner_companies": {"type": "array", "items": PARTNER}}}}}},
                        **AUTH, "403": _error("Le compte n'est pas un compte CFA.")}},
            "post": {"summary": "Ajouter une entreprise partenaire par son SIRET (vérifié dans Sirene : établissement "
                                "fermé ou de l'enseignement, NAF 85, refusé).", "tags": ["recruteurs"],
                     "description": CSRF, "requestBody": {"required": True, "content": {
                         "application/json": {"schema": PartnerCompanySchema}}},
                     "responses": {"201": {"description": "L'entreprise (la même si elle était déjà partenaire).",
                                           "content": {"application/json": {"schema": PARTNER}}},
                                   "400": _error("SIRET invalide, inconnu, établissement fermé ou de l'enseignement."),
                                   **AUTH, "403": _error("Le compte n'est pas un compte CFA."),
                                   "503": _error("Recherche d'entreprises indisponible.")}}},
        "/api/v1/recruiter/offers/{offer_id}": {
            "get": {"summary": "Une offre du compte.", "tags": ["recruteurs"], "description": CSRF, "parameters": ID,
                    "responses": {**ONE, **OWN}},
            "put": {"summary": "Modifier une offre ouverte.", "tags": ["recruteurs"], "description": CSRF,
                    "parameters": ID, "requestBody": body,
                    "responses": {**ONE, "400": invalid, **OWN, "409": _error("Offre close.")}}},
        "/api/v1/recruiter/offers/{offer_id}/extend": _action("Prolonger de deux mois à partir de maintenant."),
        "/api/v1/recruiter/offers/{offer_id}/filled": _action("Marquer l'offre pourvue (elle quitte la recherche)."),
        "/api/v1/recruiter/offers/{offer_id}/cancel": _action("Annuler l'offre avec un motif.", CancelSchema),
        "/api/v1/recruiter/offers/{offer_id}/cfas": {
            "get": {"summary": "Écoles à moins de 100 km qui forment au métier de l'offre, la plus proche d'abord.",
                    "tags": ["recruteurs"], "description": CSRF, "parameters": ID, "responses": {
                        "200": {"description": "Écoles proposées et écoles choisies.",
                                "content": {"application/json": {"schema": {"type": "object"}}}}, **OWN}},
            "post": {"summary": "Choisir des écoles : chacune reçoit un e-mail une fois le compte validé.",
                     "tags": ["recruteurs"], "description": CSRF, "parameters": ID, "requestBody": {
                         "required": True, "content": {"application/json": {"schema": DelegationSchema}}},
                     "responses": {"200": {"description": "Écoles proposées et écoles choisies.",
                                           "content": {"application/json": {"schema": {"type": "object"}}}},
                                   "400": _error("École non proposée pour cette offre."), **OWN}}},
    }
