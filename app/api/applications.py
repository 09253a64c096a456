"""POST /api/v1/applications, the recruiter's reply (JSON and the page behind the e-mailed links)."""
from __future__ import annotations

import base64
import json
from typing import Any

from flask import Blueprint, current_app, g, render_template, request

from app.errors import ApiError, invalid_parameters, load_json_object
from app.schemas_applications import ApplicationSchema, ReplySchema
from app.services.application_checks import decode_base64
from app.services.applications import ApplicationInput, ApplicationService

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


_load = load_json_object


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
    # Counted at position 0: the API does not say which result (if any) the application came from.
    current_app.extensions["lba.usage"].record("application", "api", application.target_kind, 0)
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


def _errors(**descriptions: str) -> dict[str, Any]:
    return {code.removeprefix("e"): {"description": text, "content": {"application/json": {"schema": "ErrorSchema"}}}
            for code, text in descriptions.items()}


APPLICATION_ERRORS = _errors(
    e400="Champ invalide, CV d'un type refusé (vérifié sur son contenu), adresse e-mail jetable.",
    e404="Offre ou entreprise introuvable.",
    e409="Recruteur sans adresse de candidature, ou clé d'idempotence déjà utilisée pour une autre candidature.",
    e410="Offre expirée, pourvue, annulée ou close (80 candidatures).",
    e413="CV de plus de 3 Mo.",
    e429="Plafond atteint : 100 candidatures par jour, 3 par offre ou entreprise, 20 par jour et par entreprise "
         "pour un même service partenaire (`details.rule` le nomme).",
    e503="Service momentanément indisponible.")
IDEMPOTENCY_PARAMETER = {"in": "header", "name": IDEMPOTENCY_HEADER, "required": False, "schema": {
    "type": "string", "maxLength": 200}, "description": "Une nouvelle tentative avec la même clé et le même corps "
                                                        "renvoie la première réponse sans rien renvoyer deux fois ; "
                                                        "la même clé avec un autre corps répond 409."}
ACCEPTED = {"description": "Candidature enregistrée ; les e-mails partent par la file d'envoi.",
            "content": {"application/json": {"schema": {
                "type": "object", "required": ["id"], "properties": {
                    "id": {"type": "string"}, "status": {"type": "string", "enum": ["stored"]}}}}}}


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI operations of this blueprint (added to /api/openapi.json)."""
    return {
        "/api/v1/applications": {"post": {
            "summary": "Candidater à une offre (offer_id) ou spontanément auprès d'une entreprise (company_siret).",
            "tags": ["candidatures"], "parameters": [IDEMPOTENCY_PARAMETER],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": ApplicationSchema},
                "multipart/form-data": {"schema": {"type": "object", "description": (
                    "Les mêmes champs ; le CV en fichier `cv`, `answers` en texte JSON.")}}}},
            "responses": {"202": ACCEPTED, **APPLICATION_ERRORS}}},
        "/api/v1/applications/reply": {"post": {
            "summary": "Réponse du recruteur par lien signé : entretien, ou refus avec un motif de la liste.",
            "tags": ["candidatures"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ReplySchema}}},
            "responses": {"200": {"description": "Réponse enregistrée, le candidat est prévenu par e-mail.",
                                  "content": {"application/json": {"schema": {"type": "object", "properties": {
                                      "id": {"type": "string"},
                                      "intention": {"type": "string", "enum": ["interview", "refusal"]}}}}}},
                          **_errors(e400="Lien invalide ou falsifié, ou motif de refus absent de la liste.",
                                    e404="Candidature introuvable.",
                                    e409="Lien déjà utilisé ou candidature déjà traitée.",
                                    e410="Lien expiré.")}}},
    }
