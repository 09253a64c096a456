"""GET /healthz: engine generation and document counts per kind."""
from __future__ import annotations

from flask import Blueprint

from app.extensions import get_engine

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Say whether the engine answers and which generation of each index it serves."""
    engine = get_engine()
    healthy = engine.health()
    indexes = engine.stats() if healthy else {}
    ready = healthy and any(s["documents"] for s in indexes.values())
    body = {"status": "ok" if ready else "unavailable", "engine": type(engine).__name__, "indexes": indexes}
    return body, 200 if ready else 503
