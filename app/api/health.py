"""GET /healthz: engine generation and document counts per kind."""
from __future__ import annotations

from flask import Blueprint

from app.extensions import get_engine, get_settings

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Say whether the engine answers and which generation of each index it serves."""
    engine = get_engine()
    healthy = engine.health()
    indexes = engine.stats() if healthy else {}
    ready = healthy and any(s["documents"] for s in indexes.values())
    # The configured engine name and each generation's time stamp: no class names, no process ids.
    public = {kind: {**stats, "generation": str(stats["generation"]).split("-")[0] if stats.get("generation") else None}
              for kind, stats in indexes.items()}
    body = {"status": "ok" if ready else "unavailable", "engine": get_settings().search_engine, "indexes": public}
    return body, 200 if ready else 503
