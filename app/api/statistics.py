"""GET /api/v1/statistiques: the public statistics as JSON, for partners."""
from __future__ import annotations

from flask import Blueprint

from app.services.statistics import get_statistics

bp = Blueprint("statistics_api", __name__)


@bp.get("/api/v1/statistiques")
def statistics():
    """The same figures as the /statistiques page (cached a few minutes)."""
    return get_statistics().figures()
