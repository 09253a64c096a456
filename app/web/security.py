"""Security headers of the pages: one Content-Security-Policy per page type (site pages, widget)."""
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
    """Set CSP and companions on HTML pages; the widget alone may be framed by other sites."""

    @app.after_request
    def _page_headers(response: Response) -> Response:
        if request.blueprint not in PAGE_BLUEPRINTS and not response.mimetype == "text/html":
            return response
        if request.path.startswith("/assets/"):
            if request.args.get("v"):
                # Asset URLs carry their content hash: a new file gets a new URL.
                response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            return response
        settings = get_settings()
        widget = request.blueprint == "widget" and not request.path.startswith("/widget/test")
        ancestors = settings.frame_ancestors if widget else "'self'"
        response.headers["Content-Security-Policy"] = content_security_policy(ancestors, settings.map_tile_url)
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Permissions-Policy"] = "geolocation=(self), camera=(), microphone=()"
        if not widget:
            response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response
