"""GET /api/v1/statistiques: the public statistics as JSON, for partners."""
from __future__ import annotations

from typing import Any

from flask import Blueprint

from app.services.statistics import get_statistics

bp = Blueprint("statistics_api", __name__)


@bp.get("/api/v1/statistiques")
def statistics():
    """The same figures as the /statistiques page (cached a few minutes)."""
    return get_statistics().figures()


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI operation of this blueprint (collected by app/api/openapi.py)."""
    from app.schemas_statistics import StatisticsSchema

    return {"/api/v1/statistiques": {"get": {
        "summary": "Statistiques publiques : documents consultables (par type, source et région), candidatures "
                   "et demandes de rappel par mois, part de réponses et délai médian.",
        "description": "Les chiffres de la page /statistiques, recalculés au plus toutes les 5 minutes. Ce ne sont "
                       "que des totaux : aucune personne n'y figure.",
        "tags": ["statistiques"],
        "responses": {"200": {"description": "Les chiffres.", "content": {"application/json": {
            "schema": StatisticsSchema}}}}}}}


@bp.record_once
def _register_openapi(state: Any) -> None:
    state.app.extensions.setdefault("lba.openapi_paths", []).append(openapi_paths)
