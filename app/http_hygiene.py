"""HTTP hygiene for every response: request id, JSON logs, generic security headers, CORS, body limits, proxy hops."""
from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import Settings

REQUEST_ID_HEADER = "X-Request-Id"
#: A request id from the proxy is kept only when it cannot break a log line or a header (nginx's
#: $request_id is 32 hex digits; UUIDs and most tracing ids fit too).
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{8,128}")

#: Applications carry a CV of at most 3 MB as base64 (4,215,276 characters) plus the form's text.
LARGE_BODY_BYTES = 5 * 1024 * 1024
LARGE_BODY_PREFIXES = ("/api/v1/application", "/api/v2/application", "/api/v2/_private/application", "/postuler")
#: Every other body (searches, deposits, answers) is small.
SMALL_BODY_BYTES = 256 * 1024

HSTS = "max-age=31536000; includeSubDomains"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_HEADERS = "Authorization, X-API-Key, Content-Type, Idempotency-Key, X-Request-Id"
CORS_EXPOSED = "X-Request-Id, Retry-After"


def request_id() -> str | None:
    """The id of the current request (created on first use), None outside a request."""
    if not has_request_context():
        return None
    rid = g.get("request_id")
    if rid is None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        rid = given if REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex
        g.request_id = rid
    return rid


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id; a JSON message is merged in."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        fields = None
        if message.startswith("{"):
            try:
                fields = json.loads(message)
            except ValueError:
                fields = None
        if isinstance(fields, dict):  # lba.api_calls and others already log JSON objects: keep them flat
            line.update({k: v for k, v in fields.items() if k not in line})
        else:
            line["message"] = message
        rid = getattr(record, "request_id", None)
        if rid:
            line["request_id"] = rid
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class RequestIdFilter(logging.Filter):
    """Stamps the current request's id on every record logged while it is served."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Route the root logger to stderr as JSON lines; idempotent, so several apps in one process log once."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        if getattr(handler, "lba_json", False):
            return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.lba_json = True  # type: ignore[attr-defined]
    # A plain handler someone installed earlier (logging.basicConfig) would print each line twice.
    for old in [h for h in root.handlers if type(h) is logging.StreamHandler]:
        root.removeHandler(old)
    root.addHandler(handler)


def _allowed_origin(settings: Settings) -> str | None:
    origin = request.headers.get("Origin")
    if not origin or not settings.cors_origins:
        return None
    if "*" in settings.cors_origins:
        return "*"
    return origin if origin.rstrip("/") in settings.cors_origins else None


def init_http_hygiene(app: Flask, settings: Settings) -> None:
    """Register the hooks; call it before the access hooks so preflights and oversized bodies go unmetered."""
    if settings.trusted_proxies:
        # Only the hops we run are believed: X-Forwarded-For/-Proto set by the client itself are ignored.
        # X-Forwarded-Host is never trusted: public URLs come from configuration.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=settings.trusted_proxies)

    @app.before_request
    def _hygiene_before() -> Response | None:
        request_id()
        limit = LARGE_BODY_BYTES if request.path.startswith(LARGE_BODY_PREFIXES) else SMALL_BODY_BYTES
        request.max_content_length = limit
        request.max_form_memory_size = limit
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge()
        if (request.method == "OPTIONS" and request.path.startswith("/api/")
                and request.headers.get("Access-Control-Request-Method") and _allowed_origin(settings)):
            return Response(status=204)  # a CORS preflight: answered here, never metered
        return None

    @app.after_request
    def _hygiene_after(response: Response) -> Response:
        headers = response.headers
        headers[REQUEST_ID_HEADER] = request_id() or ""
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        # The Content-Security-Policy of HTML answers (and its companions) is app/web/security.py's.
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if request.path.startswith("/api/"):
            origin = _allowed_origin(settings)
            headers.add("Vary", "Origin")
            if origin:
                headers["Access-Control-Allow-Origin"] = origin
                headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
                if request.method == "OPTIONS":
                    headers["Access-Control-Allow-Methods"] = CORS_METHODS
                    headers["Access-Control-Allow-Headers"] = CORS_HEADERS
                    headers["Access-Control-Max-Age"] = "600"
        return response
