"""Contact endpoints: callback requests to CFAs (v1 and the public service's v2 appointment) and company opt-out."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, current_app, request
from marshmallow import Schema, ValidationError

from app.errors import ApiError, invalid_parameters
from app.extensions import get_engine, get_settings
from app.schemas_contact import (AppointmentRequestSchema, CallbackContextQuerySchema, CallbackRequestSchema,
                                 OptOutConfirmSchema, OptOutRequestSchema)
from app.services import callbacks, opt_out
from app.services.contact_links import LinkError, LinkSigner

bp = Blueprint("contact", __name__, url_prefix="/api")

#: The public service's v2 answer when no request can be made (its OpenAPI document, 200).
APPOINTMENT_UNAVAILABLE = {"error": "Appointment request not available"}


def now() -> datetime:
    """The app's clock (tests install a controlled one as `lba.clock`), in UTC."""
    clock = current_app.extensions.get("lba.clock")
    moment = clock() if clock is not None else datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc)


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
        return schema.load(body)
    except ValidationError as exc:
        raise invalid_parameters(exc.normalized_messages()) from None


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
