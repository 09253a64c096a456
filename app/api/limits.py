"""Request size limits the app enforces itself, below gunicorn's, so that callers get the JSON error shape."""
from __future__ import annotations

from flask import Flask, request

from app.errors import ApiError

#: Longest header field (name + value) the app accepts; gunicorn's own limit (gunicorn.conf.py) is higher.
MAX_HEADER_BYTES = 8190
#: Most header fields the app accepts; gunicorn's own limit is higher.
MAX_HEADERS = 100


def register_request_limits(app: Flask, max_query_bytes: int) -> None:
    """Refuse, before any other hook, a query string over `max_query_bytes` (414) or oversized headers (431)."""

    @app.before_request
    def _check_sizes() -> None:
        size = len(request.query_string)
        if size > max_query_bytes:
            raise ApiError(414, "uri_too_long",
                           f"Adresse trop longue : la chaîne de requête dépasse {max_query_bytes} octets.",
                           {"query_string_bytes": size, "limit": max_query_bytes})
        headers = request.headers
        if len(headers) > MAX_HEADERS:
            raise ApiError(431, "request_header_fields_too_large",
                           f"Trop d'en-têtes : au plus {MAX_HEADERS}.", {"limit": MAX_HEADERS})
        for name, value in headers.items():
            if len(name) + len(value) > MAX_HEADER_BYTES:
                raise ApiError(431, "request_header_fields_too_large",
                               f"En-tête trop long : au plus {MAX_HEADER_BYTES} octets.",
                               {"header": name[:64], "limit": MAX_HEADER_BYTES})
