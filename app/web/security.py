"""The Content-Security-Policy of every HTML answer, one per page type (site pages, framable widget)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

from app.extensions import get_settings

PAGE_BLUEPRINTS = ("pages", "widget")


def tile_source(tile_url: str) -> str:
    """The CSP source of a Leaflet tile URL template: its origin, `{s}` subdomains as a wildcard."""
    parts = urlsplit(tile_url.replace("{s}.", "*.").replace("{s}", "*"))
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(frame_ancestors: str, tile_url: str) -> str:
    """Only our own scripts and styles (no inline code), map tiles from their server, framing as asked."""
    images = " ".join(filter(None, ["'self'", "data:", tile_source(tile_url)]))
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {images}",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
        f"frame-ancestors {frame_ancestors}",
    ])


def register_page_headers(app: Flask) -> None:
    """Set the one CSP and its companions on every HTML answer and on the pages' own; only the widget is framable.

    app/http_hygiene.py adds what every answer carries (nosniff, Referrer-Policy, HSTS); JSON answers of the API
    get no CSP: they are never rendered as documents.
    """

    @app.after_request
    def _page_headers(response: Response) -> Response:
        html = response.mimetype == "text/html"
        if request.blueprint not in PAGE_BLUEPRINTS and not html:
            return response
        if request.path.startswith("/assets/"):
            if request.args.get("v"):
                # Asset URLs carry their content hash: a new file gets a new URL.
                response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            if not html:
                return response
        settings = get_settings()
        widget = request.blueprint == "widget" and not request.path.startswith("/widget/test")
        ancestors = settings.frame_ancestors if widget else "'self'"
        response.headers["Content-Security-Policy"] = content_security_policy(ancestors, settings.map_tile_url)
        response.headers["Permissions-Policy"] = "geolocation=(self), camera=(), microphone=()"
        if not widget:
            response.headers["X-Frame-Options"] = "SAMEORIGIN"  # for browsers without CSP level 2
        return response
