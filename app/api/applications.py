"""POST /api/v1/applications, the recruiter's reply (JSON and the page behind the e-mailed links)."""
from __future__ import annotations

import base64
import json
from typing import Any

from flask import Blueprint, current_app, g, render_template, request
from marshmallow import ValidationError

from app.errors import ApiError, invalid_parameters
from app.schemas_applications import ApplicationSchema, ReplySchema
from app.services.applications import ApplicationInput, ApplicationService, decode_base64

bp = Blueprint("applications", __name__)
_schema = ApplicationSchema()
_reply_schema = ReplySchema()
IDEMPOTENCY_HEADER = "Idempotency-Key"


def get_application_service() -> ApplicationService:
    """The application service of the running app."""
    return current_app.extensions["lba.applications"]


def idempotency() -> tuple[str | None, str]:
    """The request's Idempotency-Key (≤ 200 characters) and the caller scope it is unique within."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not 1 <= len(key) <= 200:
        raise invalid_parameters({IDEMPOTENCY_HEADER: ["Entre 1 et 200 caractères."]})
    return key, g.get("caller") or "anonymous"


def _multipart_body() -> dict[str, Any]:
    """The multipart form as the JSON body would carry it (the CV file part becomes name + base64)."""
    body: dict[str, Any] = {key: value for key, value in request.form.items() if key != "answers"}
    if "answers" in request.form:
        try:
            body["answers"] = json.loads(request.form["answers"])
        except ValueError:
            raise invalid_parameters({"answers": ["JSON attendu : [{\"question\", \"answer\"}]."]}) from None
    upload = request.files.get("cv")
    if upload is not None:
        body["cv"] = {"name": upload.filename or "", "content": base64.b64encode(upload.read()).decode()}
    return body


def _load(schema: Any, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "Corps JSON attendu (un objet).")
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise invalid_parameters(exc.normalized_messages()) from None


@bp.post("/api/v1/applications")
def create_application():
    """Store an application and queue its e-mails; 202 with its id."""
    if request.mimetype == "multipart/form-data":
        body = _multipart_body()
    else:
        body = request.get_json(silent=True)
    data = _load(_schema, body)
    key, scope = idempotency()
    application = ApplicationInput(
        first_name=data["first_name"].strip(), last_name=data["last_name"].strip(), email=data["email"].strip(),
        phone=data["phone"].strip(), message=data["message"], cv_name=data["cv"]["name"],
        cv_content=decode_base64(data["cv"]["content"]),
        target_kind="offer" if "offer_id" in data else "company",
        target_id=data.get("offer_id") or data["company_siret"], caller=data["caller"], answers=data["answers"])
    status, answer = get_application_service().submit(application, key, f"v1:{scope}")
    return answer, status


@bp.post("/api/v1/applications/reply")
def reply_api():
    """The recruiter's answer (interview or refusal with a reason) given with a signed link's token."""
    data = _load(_reply_schema, request.get_json(silent=True))
    return get_application_service().reply(data["token"], data["reason"], data["message"]), 200


@bp.route("/candidature/reponse", methods=["GET", "POST"])
def reply_page():
    """The page the e-mailed links open: GET shows the form (it changes nothing), POST records the answer.

    Mail scanners open links by themselves: only the form's POST uses the single-use link.
    """
    service = get_application_service()
    token = request.values.get("token", "")
    try:
        if request.method == "GET":
            context = service.reply_context(token)
            return render_template("applications/reply.html", token=token, **context)
        answer = service.reply(token, request.form.get("reason") or None, request.form.get("message", "")[:5000])
        return render_template("applications/replied.html", intention=answer["intention"])
    except ApiError as error:
        return render_template("applications/link_error.html", message=error.message), error.status
