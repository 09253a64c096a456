"""GET one formation, offer or company: 404 when absent, 410 for an offer no longer open."""
from __future__ import annotations

import re

from flask import Blueprint

from app.api.access import count_results
from app.clock import get_clock
from app.errors import ApiError, invalid_parameters
from app.extensions import get_engine
from app.services.details import Gone, NotFound, get_item

bp = Blueprint("details", __name__, url_prefix="/api/v1")
NOT_FOUND = {"formation": "Aucune formation n'a cet identifiant.", "offer": "Aucune offre n'a cet identifiant.",
             "company": "Aucune entreprise n'a ce SIRET."}


def _answer(kind: str, doc_id: str):
    try:
        item = get_item(get_engine(), kind, doc_id, get_clock().today())
    except NotFound:
        raise ApiError(404, "not_found", NOT_FOUND[kind], {"id": doc_id}) from None
    except Gone as exc:
        raise ApiError(410, "gone", "Cette offre n'est plus disponible (expirée, pourvue ou annulée).",
                       {"id": doc_id, "status": exc.item.get("status"),
                        "expires_at": exc.item.get("expires_at")}) from None
    count_results(1)
    return item


@bp.get("/formations/<path:formation_id>")
def formation_detail(formation_id: str):
    """One training course by its catalogue key."""
    return _answer("formation", formation_id)


@bp.get("/offers/<path:offer_id>")
def offer_detail(offer_id: str):
    """One offer by id (source-sourceid)."""
    return _answer("offer", offer_id)


@bp.get("/companies/<siret>")
def company_detail(siret: str):
    """One company by SIRET (14 digits)."""
    if not re.fullmatch(r"[0-9]{14}", siret):
        raise invalid_parameters({"siret": ["Le SIRET compte 14 chiffres."]})
    return _answer("company", siret)
