"""GET /api/v1/metiers (job-title autocomplete) and /api/v1/metiers/resolve (free text to ROME codes)."""
from __future__ import annotations

from flask import Blueprint

from app.api import load_query
from app.metiers import get_metier_resolver
from app.schemas_autocomplete import MetierQuerySchema

bp = Blueprint("metiers", __name__, url_prefix="/api/v1")
_schema = MetierQuerySchema()
SUGGESTIONS = 20
RESOLVED = 10


def _params() -> dict:
    return load_query(_schema)


@bp.get("/metiers")
def suggest_metiers():
    """Job titles completing what was typed, each with its appellation, ROME and parent codes."""
    params = _params()
    suggestions = get_metier_resolver().suggest(params["q"], params["limit"] or SUGGESTIONS)
    return {"query": params["q"], "metiers": [s.to_dict() for s in suggestions]}


@bp.get("/metiers/resolve")
def resolve_metiers():
    """The ROME code families a free-text query means, best first, and the commune the text names."""
    params = _params()
    resolution = get_metier_resolver().resolve(params["q"], params["limit"] or RESOLVED)
    return {"query": params["q"], "romes": [m.to_dict() for m in resolution],
            "place": resolution.place.to_dict() if resolution.place else None}
