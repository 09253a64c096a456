"""GET /api/v1/communes: place autocomplete by name, postal code or INSEE code."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app

from app.api import load_query
from app.schemas_autocomplete import CommuneQuerySchema
from app.services.communes import CommuneSearch

bp = Blueprint("communes", __name__, url_prefix="/api/v1")
_schema = CommuneQuerySchema()
EXTENSION = "lba.communes"


def init_app(app: Flask) -> None:
    """Build the commune search once, before gunicorn forks (about half a second)."""
    app.extensions[EXTENSION] = CommuneSearch(app.extensions["lba.refs"].communes)


@bp.get("/communes")
def suggest_communes():
    """Places matching what was typed, larger places first when the text is ambiguous."""
    params = load_query(_schema)
    places = current_app.extensions[EXTENSION].search(params["q"], params["limit"])
    return {"query": params["q"], "communes": [p.to_dict() for p in places]}
