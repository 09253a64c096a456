"""Partner compatibility: the public service's /api/v2 bodies and answers (add one handler per endpoint here)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from app.api.applications import _load, get_application_service, idempotency
from app.errors import ApiError
from app.schemas_applications import V2ApplicationSchema
from app.services.application_checks import decode_base64
from app.services.applications import ApplicationInput

bp = Blueprint("v2", __name__, url_prefix="/api/v2")
_application_schema = V2ApplicationSchema()
#: recipient_id prefixes ("<collection>_<id>", like the public service) and what they designate here.
RECIPIENT_COLLECTIONS = {"offers": "offer", "partners": "offer", "recruiters": "offer", "companies": "company",
                         "recruteurslba": "company"}
V2_EXTRA = ("applicant_contract_duration", "applicant_contract_start", "applicant_formation_description",
            "applicant_rythm_description", "applicant_inscription_formation", "foreign_application_id",
            "foreign_application_status_url")


def _recipient(recipient_id: str) -> tuple[str, str]:
    """(kind, id) of a recipient_id: offers_<offer id>, recruiters_<deposited offer id>, companies_<SIRET>."""
    collection, _, ident = recipient_id.partition("_")
    kind = RECIPIENT_COLLECTIONS.get(collection)
    if kind is None or not ident:
        raise ApiError(404, "target_not_found", "Offre ou entreprise introuvable.",
                       {"recipient_id": ["Format attendu : offers_<id>, recruiters_<id> ou companies_<SIRET>."]})
    if collection == "recruiters" and ident.isdigit():
        ident = f"deposited-{ident}"
    if collection == "partners" and ident.isdigit() and len(ident) == 14:
        kind = "company"  # the public service's partners collection also holds companies, keyed by SIRET here
    return kind, ident


def _clean(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL characters; they carry no meaning in an application.
    return value.replace("\x00", "") if isinstance(value, str) else value


@bp.post("/application")
def create_application():
    """The public /v2/application: same body, 202 {"id"}."""
    data = _load(_application_schema, request.get_json(silent=True))
    kind, target_id = _recipient(data["recipient_id"])
    key, scope = idempotency()
    caller = scope.split(":", 2)[2] if scope.startswith("key:") else ""
    answers = [{"question": _clean(a["question"]), "answer": _clean(a["answer"])}
               for a in data["applicant_answers_to_recruiter_questions"] or []]
    application = ApplicationInput(
        first_name=_clean(data["applicant_first_name"]).strip() or data["applicant_first_name"],
        last_name=_clean(data["applicant_last_name"]).strip() or data["applicant_last_name"],
        email=data["applicant_email"].strip(), phone=data["applicant_phone"].strip(),
        message=_clean(data["applicant_message"] or ""), cv_name=_clean(data["applicant_attachment_name"]),
        cv_content=decode_base64(data["applicant_attachment_content"]), target_kind=kind, target_id=target_id,
        caller=caller[:100], answers=answers,
        extra={name: _clean(data[name]) if not isinstance(data[name], list) else [_clean(v) for v in data[name]]
               for name in V2_EXTRA if data.get(name) is not None})
    status, answer = get_application_service().submit(application, key, f"v2:{scope}")
    return {"id": answer["id"]}, status


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI operations of the v2 compatibility endpoints."""
    from app.api.applications import ACCEPTED, APPLICATION_ERRORS, IDEMPOTENCY_PARAMETER

    return {
        "/api/v2/application": {"post": {
            "summary": "Candidature au format de l'API publique v2 (recipient_id : offers_<id>, "
                       "recruiters_<id d'offre déposée>, companies_<SIRET> ; CV en data-URL base64).",
            "tags": ["v2"], "parameters": [IDEMPOTENCY_PARAMETER],
            "requestBody": {"required": True, "content": {"application/json": {"schema": V2ApplicationSchema}}},
            "responses": {"202": {**ACCEPTED, "content": {"application/json": {"schema": {
                "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}},
                **APPLICATION_ERRORS}}},
    }
