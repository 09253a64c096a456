"""GET /api/v1/match: the nearest formations, offers and companies for ROME codes around a place."""
from __future__ import annotations

from flask import Blueprint, request
from marshmallow import ValidationError

from app.errors import ApiError, invalid_parameters
from app.extensions import get_engine, get_refs
from app.schemas import MatchRequestSchema
from app.services.match import UnknownRome, match
from app.services.places import UnknownPlace

bp = Blueprint("match", __name__, url_prefix="/api/v1")
_schema = MatchRequestSchema()


@bp.get("/match")
def match_endpoint():
    """Validate the query string, run the match service, return its JSON."""
    try:
        params = _schema.load_args(request.args)
    except ValidationError as exc:
        raise invalid_parameters(exc.normalized_messages()) from None
    if "q" in params and "romes" not in params:
        raise ApiError(400, "not_available", "La recherche par texte libre (q) n'est pas encore disponible : "
                                             "indiquez des codes ROME (romes).", {"q": ["Non disponible."]})
    try:
        return match(get_engine(), get_refs(), params)
    except UnknownRome as exc:
        raise invalid_parameters({"romes": [f"Codes ROME inconnus : {', '.join(exc.codes)}."]}) from None
    except UnknownPlace as exc:
        raise invalid_parameters({exc.field: [exc.message]}) from None
