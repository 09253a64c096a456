"""The v3 partner write API: POST /api/v3/jobs, GET and PUT /api/v3/jobs/{id}, GET /api/v3/jobs/export."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request, send_from_directory

from app.clock import get_clock
from app.errors import ApiError
from app.extensions import get_engine, get_refs, get_settings
from app.services import offer_exports
from app.services.partner_jobs import (JobNotFound, PartnerJobError, PartnerJobs, clean_json, load_contract,
                                       read_shape, validate_body)
from app.services.partners import Partner
from app.services.v3_adapter import AdapterContext

bp = Blueprint("v3_jobs", __name__, url_prefix="/api/v3")

KEY_REQUIRED = ("Clé d'API obligatoire pour publier des offres : en-tête `Authorization: Bearer <clé>` "
                "(ou `X-API-Key`).")
NOT_FOUND = "Aucune offre de votre clé d'API n'a cet identifiant."
NO_EXPORT = "Aucun export n'a encore été produit : il est écrit chaque nuit (commande `lba offers export`)."


def _partner() -> Partner:
    """The calling partner: writes and the export need a key (401 in the one error shape otherwise)."""
    partner = g.get("partner")
    if partner is None:
        raise ApiError(401, "api_key_required", KEY_REQUIRED)
    return partner


def _service() -> PartnerJobs:
    return PartnerJobs(current_app.extensions["lba.store"], get_engine(), get_refs(),
                       current_app.extensions.get("lba.resolver"))


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON body, valid against the public document's request schema; a French 400 listing every problem."""
    body = request.get_json(silent=True)
    problems = validate_body(body, schema)
    if problems:
        raise ApiError(400, "invalid_body", "Corps de requête invalide.", problems)
    return clean_json(body)


def _ctx() -> AdapterContext:
    refs = get_refs()
    return AdapterContext(base_url=get_settings().public_base_url,
                          diploma_labels={level: d.label for level, d in refs.diplomas.levels.items() if d.label})


def _business_error(exc: PartnerJobError) -> ApiError:
    return ApiError(400, "invalid_body", "Offre refusée.", exc.details)


@bp.post("/jobs")
def create_job():
    """Create the partner's offer, or update it when its partner_job_id was already sent (upsert)."""
    partner = _partner()
    body = _body(load_contract(get_settings().data_dir).post_body)
    try:
        job_id = _service().create(partner.id, body, get_clock().now())
    except PartnerJobError as exc:
        raise _business_error(exc) from None
    return {"id": job_id}


@bp.get("/jobs/<job_id>")
def get_job(job_id: str):
    """One of the partner's offers in the v3 JobOffer read shape."""
    partner = _partner()
    try:
        row = _service().get(partner.id, job_id)
    except JobNotFound:
        raise ApiError(404, "not_found", NOT_FOUND) from None
    return read_shape(row, _ctx(), row["partner_name"])


@bp.put("/jobs/<job_id>")
def replace_job(job_id: str):
    """Replace one of the partner's offers (its partner_job_id stays); a closing status removes it from search."""
    partner = _partner()
    body = _body(load_contract(get_settings().data_dir).put_body)
    try:
        _service().replace(partner.id, job_id, body, get_clock().now())
    except JobNotFound:
        raise ApiError(404, "not_found", NOT_FOUND) from None
    except PartnerJobError as exc:
        raise _business_error(exc) from None
    return "", 204


@bp.get("/jobs/export")
def export_info():
    """Where the latest daily export of active multicast offers is, and when it was written."""
    _partner()
    info = offer_exports.latest(get_settings().export_dir)
    if info is None:
        raise ApiError(404, "not_found", NO_EXPORT)
    return {"url": f"{get_settings().public_base_url}/api/v3/jobs/export/{offer_exports.FEED}",
            "lastUpdate": info}


@bp.get("/jobs/export/<name>")
def export_file(name: str):
    """The export feed or its JSON Schema (the only two files served from the export folder)."""
    _partner()
    if name not in (offer_exports.FEED, offer_exports.FEED_SCHEMA):
        raise ApiError(404, "not_found", "Fichier d'export inconnu.")
    if offer_exports.latest(get_settings().export_dir) is None:
        raise ApiError(404, "not_found", NO_EXPORT)
    return send_from_directory(get_settings().export_dir, name, mimetype="application/json", max_age=0)
