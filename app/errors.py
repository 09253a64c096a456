"""One JSON error shape for every error: {"error": {"code", "message", "details", "request_id"}}."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from app.search.contract import EngineUnavailable

log = logging.getLogger(__name__)

# French messages shown to API users for the HTTP errors Flask raises by itself.
HTTP_MESSAGES = {
    400: "Requête invalide.",
    404: "Ressource introuvable.",
    405: "Méthode non autorisée pour cette adresse.",
    410: "Cette ressource n'est plus disponible.",
    413: "Requête trop volumineuse.",
    414: "Adresse trop longue.",
    429: "Trop de requêtes : réessayez dans quelques instants.",
    431: "En-têtes de requête trop volumineux.",
    500: "Erreur interne du service.",
    503: "Service momentanément indisponible.",
}
HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 410: "gone",
              413: "payload_too_large", 414: "uri_too_long", 431: "request_header_fields_too_large",
              429: "too_many_requests", 500: "internal_error", 503: "unavailable"}


class ApiError(Exception):
    """An error the API reports to its caller with a status, a stable code and a French message."""

    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of the error."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def invalid_parameters(messages: dict[str, Any]) -> ApiError:
    """A 400 listing every invalid parameter at once."""
    return ApiError(400, "invalid_parameters", "Paramètres invalides.", messages)


def load_json_object(schema: Any, body: Any) -> dict[str, Any]:
    """`body` (a parsed JSON request body) validated by the marshmallow `schema`; a 400 naming every invalid field."""
    from marshmallow import ValidationError

    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "Corps JSON attendu (un objet).")
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise invalid_parameters(exc.normalized_messages()) from None


def _response(error: ApiError):
    from app.http_hygiene import request_id  # lazy: http_hygiene imports the app's settings

    body = error.to_dict()
    body["error"]["request_id"] = request_id()  # quoted by a caller reporting a problem, found in the logs
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _allow_header(error: HTTPException) -> dict[str, str] | None:
    """The Allow header of a 405, which tells the caller which methods the path takes."""
    allow = error.get_response().headers.get("Allow") if error.code == 405 else None
    return {"Allow": allow} if allow else None


def _page(status: int):
    """The site's French HTML error page when the request is a person's page (app/web), else None."""
    render = current_app.extensions.get("lba.html_errors")
    if render is None or request.path.startswith("/api/") or request.path.startswith("/healthz"):
        return None
    return render(status)


def register_error_handlers(app: Flask) -> None:
    """Route every exception to the JSON error shape; no stack trace ever reaches a caller."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return _response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        page = _page(status)
        if page is not None:
            return page
        return _response(ApiError(status, HTTP_CODES.get(status, "http_error"),
                                  HTTP_MESSAGES.get(status, error.description or ""), None,
                                  _allow_header(error)))

    @app.errorhandler(EngineUnavailable)
    def _engine_down(error: EngineUnavailable):
        log.error("search engine unavailable: %s", error)
        page = _page(503)
        if page is not None:
            return page
        return _response(ApiError(503, "engine_unavailable",
                                  "Le moteur de recherche est momentanément indisponible.", None,
                                  {"Retry-After": "30"}))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        page = _page(500)
        if page is not None:
            return page
        return _response(ApiError(500, "internal_error", HTTP_MESSAGES[500]))
