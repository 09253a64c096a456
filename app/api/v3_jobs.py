"""The v3 partner write API: POST /api/v3/jobs, GET and PUT /api/v3/jobs/{id}, GET /api/v3/jobs/export."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request, send_from_directory

from app.clock import get_clock
from app.errors import ApiError
from app.extensions import get_engine, get_refs, get_settings
from app.services import offer_exports
from app.services.partner_job_mapping import PartnerJobError, read_shape
from app.services.partner_job_schema import clean_json, load_contract, validate_body, with_nullable_enums
from app.services.partner_jobs import JobNotFound, PartnerJobs
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


def as_openapi30(schema: Any) -> Any:
    """A JSON Schema 2020-12 node of their document written for our OpenAPI 3.0 document (same constraints):
    `type: [x, "null"]` becomes `type: x, nullable: true`, `prefixItems` becomes `items`."""
    if isinstance(schema, list):
        return [as_openapi30(value) for value in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: as_openapi30(value) for key, value in schema.items() if key not in ("prefixItems",)}
    types = schema.get("type")
    if isinstance(types, list):
        kept = [t for t in types if t != "null"]
        out["type"] = kept[0] if len(kept) == 1 else None
        if out["type"] is None:
            del out["type"]
            out["anyOf"] = [{"type": t} for t in kept]
        if "null" in types:
            out["nullable"] = True
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
    if "prefixItems" in schema:
        out["items"] = {"type": "number"}
        out["minItems"] = out["maxItems"] = len(schema["prefixItems"])
    if isinstance(schema.get("anyOf"), list) and any(not isinstance(b, dict) or not b.get("type")
                                                     for b in schema["anyOf"]):
        out.pop("anyOf", None)  # `{description}` alone accepts anything: the branch says nothing more
    return out


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI operations of the partner write API, with the public document's own schemas."""
    from app.api.openapi import _error_responses

    contract = load_contract(get_settings().data_dir)
    security: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
    job_id = {"in": "path", "name": "job_id", "required": True, "schema": {"type": "string"},
              "description": "Identifiant rendu par POST /api/v3/jobs (ex. deposited-12)."}

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": as_openapi30(schema)}}}

    def answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": as_openapi30(schema)}}}

    return {
        "/api/v3/jobs": {"post": {
            "summary": "Publier une offre (upsert par identifier.partner_job_id), recherchable en moins de 2 s.",
            "tags": ["v3 écriture"], "security": security, "requestBody": body(contract.post_body),
            "responses": {"200": answer("Identifiant de l'offre.", contract.created),
                          **_error_responses("400", "401", "429")}}},
        "/api/v3/jobs/{job_id}": {
            "get": {"summary": "Une offre du partenaire, au format v3.", "tags": ["v3 écriture"],
                    "security": security, "parameters": [job_id],
                    "responses": {"200": answer("L'offre.", with_nullable_enums(contract.job)),
                                  **_error_responses("401", "404", "429")}},
            "put": {"summary": "Remplacer une offre du partenaire ; statut Filled ou Cancelled : retirée de la "
                               "recherche.", "tags": ["v3 écriture"], "security": security,
                    "parameters": [job_id], "requestBody": body(contract.put_body),
                    "responses": {"204": {"description": "Offre remplacée."},
                                  **_error_responses("400", "401", "404", "429")}}},
        "/api/v3/jobs/export": {"get": {
            "summary": "Adresse du dernier export quotidien des offres actives multidiffusables (JSON v3).",
            "tags": ["v3 écriture"], "security": security,
            "responses": {"200": answer("url et lastUpdate.", contract.export),
                          **_error_responses("401", "404", "429")}}},
    }
