"""Contact endpoints: callback requests to CFAs (v1 and the public service's v2 appointment) and company opt-out."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, request
from marshmallow import Schema, ValidationError

from app.clock import get_clock
from app.errors import ApiError, invalid_parameters
from app.extensions import get_engine, get_settings
from app.schemas_contact import (
    AppointmentRequestSchema,
    CallbackContextQuerySchema,
    CallbackRequestSchema,
    OptOutConfirmSchema,
    OptOutRequestSchema,
)
from app.services import callbacks, opt_out
from app.services.contact_links import LinkError, LinkSigner

bp = Blueprint("contact", __name__, url_prefix="/api")

#: The public service's v2 answer when no request can be made (its OpenAPI document, 200).
APPOINTMENT_UNAVAILABLE = {"error": "Appointment request not available"}


def now() -> datetime:
    """Now by the app's one clock (app/clock.py; tests inject a controlled one), in UTC."""
    return get_clock().now()


def signer() -> LinkSigner:
    """The signer of e-mailed links, keyed by the configured secret."""
    return LinkSigner(get_settings().secret_key)


def base_url() -> str:
    """The public root links in e-mails point to."""
    return get_settings().public_base_url


def store() -> Any:
    return current_app.extensions["lba.store"]


def load_json(schema: Schema) -> dict[str, Any]:
    """The JSON body loaded by `schema`; a 400 listing every invalid field otherwise."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "Le corps de la requête doit être un objet JSON.")
    try:
        return schema.load(_without_nul(body))
    except ValidationError as exc:
        raise invalid_parameters(exc.normalized_messages()) from None


def _without_nul(value: Any) -> Any:
    """`value` with NUL characters removed from every string: PostgreSQL text cannot hold them."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _refused(error: callbacks.CallbackError | opt_out.OptOutError | LinkError) -> ApiError:
    if isinstance(error, LinkError):
        return ApiError(403 if error.code == "invalid_link" else 410, error.code, error.message)
    return ApiError(error.status, error.code, error.message, error.details)


@bp.post("/v1/callbacks")
def create_callback():
    """Ask the CFA of a formation to call back; 202 once the request and its e-mails are stored."""
    data = load_json(CallbackRequestSchema())
    data["message"] = data.get("message") or ""
    try:
        created = callbacks.create_callback(store(), get_engine(), signer(), callbacks.CallbackInput(**data), now(),
                                            base_url())
    except callbacks.CallbackError as exc:
        raise _refused(exc) from None
    current_app.extensions["lba.usage"].record("callback", "api", "formation", 0)
    return created, 202


@bp.get("/v1/callbacks/context")
def callback_context():
    """Whether a formation takes callback requests, with the form's fixed choices."""
    try:
        query = CallbackContextQuerySchema().load(request.args.to_dict())
    except ValidationError as exc:
        raise invalid_parameters(exc.normalized_messages()) from None
    return callbacks.callback_form(get_engine(), query["formation_id"])


@bp.post("/v2/appointment")
def appointment_v2():
    """The public service's v2 appointment context: CFA, place and form link of a formation, or unavailable."""
    data = load_json(AppointmentRequestSchema())
    key = data.get("cle_ministere_educatif")
    if key is None:
        # Formations are identified by their clé ministère éducatif; no Parcoursup or ONISEP mapping is kept.
        return APPOINTMENT_UNAVAILABLE
    try:
        return callbacks.appointment_context(get_engine(), key, base_url(), referrer="lba")
    except callbacks.CallbackError:
        return APPOINTMENT_UNAVAILABLE


@bp.post("/v1/companies/opt-out/match")
def opt_out_match():
    """Which of the named SIRETs this address may remove (no e-mail sent, nothing removed)."""
    data = load_json(OptOutRequestSchema())
    candidates = opt_out.match_companies(store(), get_engine(), data["email"], data["sirets"])
    return {"companies": [c.as_dict() for c in candidates]}


@bp.post("/v1/companies/opt-out")
def opt_out_request():
    """Ask to remove companies; 202 once the confirmation e-mail is queued."""
    data = load_json(OptOutRequestSchema())
    try:
        created = opt_out.request_opt_out(store(), get_engine(), signer(), data["email"], data["sirets"],
                                          data["reason"], now(), base_url())
    except opt_out.OptOutError as exc:
        raise _refused(exc) from None
    return created, 202


@bp.post("/v1/companies/opt-out/confirm")
def opt_out_confirm():
    """Confirm with the e-mailed link's id and token: the companies leave search at once."""
    data = load_json(OptOutConfirmSchema())
    try:
        return opt_out.confirm_opt_out(store(), get_engine(), signer(), data["id"], data["token"], now())
    except (opt_out.OptOutError, LinkError) as exc:
        raise _refused(exc) from None


# ----- OpenAPI ------------------------------------------------------------------------------------------
def _errors(**described: str) -> dict[str, Any]:
    return {code: {"description": text, "content": {"application/json": {"schema": "ErrorSchema"}}}
            for code, text in described.items()}


def _json(schema: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI operations of this blueprint (collected by app/api/openapi.py)."""
    from app.schemas_contact import (
        AppointmentContextSchema,
        AppointmentUnavailableSchema,
        CallbackContextSchema,
        CallbackCreatedSchema,
        OptOutConfirmedSchema,
        OptOutCreatedSchema,
        OptOutMatchSchema,
    )

    invalid = {"400": "Corps invalide : chaque champ fautif est listé dans `details`."}
    link = {"403": "Lien falsifié, d'un autre usage ou d'une autre demande.", "410": "Lien expiré."}
    return {
        "/api/v1/callbacks": {"post": {
            "summary": "Demander à être recontacté par le centre de formation d'une formation (RDV Apprentissage).",
            "description": "Seulement pour les formations qui acceptent les demandes et ont une adresse de contact. "
                           "Une même adresse ne peut redemander la même formation avant 4 jours.",
            "tags": ["contact"], "requestBody": {"required": True, "content": {"application/json": {
                "schema": CallbackRequestSchema}}},
            "responses": {"202": _json(CallbackCreatedSchema, "Demande enregistrée ; les e-mails partent."),
                          **_errors(**invalid, **{"404": "Formation introuvable.",
                                                  "409": "Demande en cours pour cette adresse et cette formation "
                                                         "(date dans `details.pending_since`).",
                                                  "422": "Cette formation ne reçoit pas de demandes.",
                                                  "429": "Trop de requêtes."})}}},
        "/api/v1/callbacks/context": {"get": {
            "summary": "Si une formation accepte les demandes de contact, et les choix du formulaire.",
            "tags": ["contact"], "parameters": [{"in": "query", "schema": CallbackContextQuerySchema}],
            "responses": {"200": _json(CallbackContextSchema, "Disponibilité et choix."),
                          **_errors(**{"400": "Paramètre manquant."})}}},
        "/api/v2/appointment": {"post": {
            "summary": "Contexte de prise de rendez-vous d'une formation, au format du service public "
                       "(compatibilité).",
            "description": "Corps : exactement un identifiant. Seule `cle_ministere_educatif` est reconnue ; "
                           "les autres répondent « non disponible ».",
            "tags": ["compatibilité"], "requestBody": {"required": True, "content": {"application/json": {
                "schema": AppointmentRequestSchema}}},
            "responses": {"200": {"description": "Contexte, ou `{\"error\": \"Appointment request not available\"}`.",
                                  "content": {"application/json": {"schema": {"oneOf": [
                                      AppointmentContextSchema, AppointmentUnavailableSchema]}}}},
                          **_errors(**invalid)}}},
        "/api/v1/companies/opt-out/match": {"post": {
            "summary": "Lesquels des SIRET indiqués cette adresse peut retirer (rien n'est envoyé ni retiré).",
            "tags": ["entreprises"], "requestBody": {"required": True, "content": {"application/json": {
                "schema": OptOutRequestSchema}}},
            "responses": {"200": _json(OptOutMatchSchema, "Statut de chaque SIRET."), **_errors(**invalid)}}},
        "/api/v1/companies/opt-out": {"post": {
            "summary": "Demander le retrait d'entreprises : un lien de confirmation est envoyé à l'adresse donnée.",
            "description": "L'adresse doit être le contact connu de l'établissement ou une adresse du même domaine "
                           "d'entreprise (pas une messagerie publique).",
            "tags": ["entreprises"], "requestBody": {"required": True, "content": {"application/json": {
                "schema": OptOutRequestSchema}}},
            "responses": {"202": _json(OptOutCreatedSchema, "Demande enregistrée ; e-mail de confirmation envoyé."),
                          **_errors(**invalid, **{"422": "Aucun établissement ne peut être retiré avec cette "
                                                         "adresse (statuts dans `details.companies`)."})}}},
        "/api/v1/companies/opt-out/confirm": {"post": {
            "summary": "Confirmer avec le lien reçu : les entreprises disparaissent de la recherche immédiatement.",
            "tags": ["entreprises"], "requestBody": {"required": True, "content": {"application/json": {
                "schema": OptOutConfirmSchema}}},
            "responses": {"200": _json(OptOutConfirmedSchema, "Retrait enregistré."),
                          **_errors(**invalid, **link, **{"409": "Lien déjà utilisé."})}}},
    }


@bp.record_once
def _register_openapi(state: Any) -> None:
    state.app.extensions.setdefault("lba.openapi_paths", []).append(openapi_paths)
