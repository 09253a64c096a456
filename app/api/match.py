"""GET /api/v1/match and the one-kind searches: ranked formations, offers and companies near a place."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g

from app.api import load_query
from app.api.access import count_results
from app.errors import ApiError, invalid_parameters
from app.schemas import KindSearchSchema, MatchRequestSchema
from app.services.match import MAX_RESULT_DEPTH, MatchService, NoJobForText, PageTooDeep, TextNotAvailable, UnknownRome
from app.services.places import UnknownPlace

bp = Blueprint("match", __name__, url_prefix="/api/v1")
_match_schema = MatchRequestSchema()
_kind_schema = KindSearchSchema()


def get_match_service() -> MatchService:
    """The match service of the running app."""
    return current_app.extensions["lba.match"]


def run_match(params: dict[str, Any]) -> dict[str, Any]:
    """Call the match service, turning its lookup errors into 400s with the parameter to blame."""
    service = get_match_service()
    g.weights_version = service.weights_version  # named in the request's log line (app/api/access.py)
    try:
        answer = service.match(params)
    except PageTooDeep:
        message = (f"Au plus {MAX_RESULT_DEPTH} résultats sont accessibles par pages (page × page_size ≤ "
                   f"{MAX_RESULT_DEPTH}) : précisez la recherche (rayon, filtres) plutôt que d'aller plus loin.")
        raise invalid_parameters({"page": [message]}) from None
    except UnknownRome as exc:
        raise invalid_parameters({"romes": [f"Codes ROME inconnus : {', '.join(exc.codes)}."]}) from None
    except UnknownPlace as exc:
        raise invalid_parameters({exc.field: [exc.message]}) from None
    except NoJobForText:
        raise invalid_parameters({"q": ["Aucun métier ne correspond à ce texte : précisez-le ou choisissez "
                                        "une suggestion."],
                                  "suggestions": _job_suggestions(params.get("q", ""))}) from None
    except TextNotAvailable:
        raise ApiError(400, "not_available", "La recherche par texte libre (q) n'est pas disponible : "
                                             "indiquez des codes ROME (romes).", {"q": ["Non disponible."]}) from None
    count_results(len(answer["items"]))
    return answer


def counted(answer: dict[str, Any]) -> dict[str, Any]:
    """`answer`, its search counted once in the usage counters (surface api)."""
    current_app.extensions["lba.usage"].record_search("api", answer["items"])
    return answer


def _job_suggestions(text: str, count: int = 5) -> list[str]:
    """Job titles to offer when the text means no job: autocomplete's best, or common titles."""
    index = current_app.extensions.get("lba.metiers")
    found = [s.label for s in index.suggest(text, count)] if index is not None else []
    return found or list(FALLBACK_SUGGESTIONS[:count])


# What young people search most, offered when the text gives nothing to complete.
FALLBACK_SUGGESTIONS = ("Vendeur / Vendeuse en boulangerie-pâtisserie", "Cuisinier / Cuisinière",
                        "Coiffeur / Coiffeuse", "Électricien / Électricienne du bâtiment",
                        "Assistant / Assistante de gestion administrative")


@bp.get("/match")
def match_endpoint():
    """Formations, offers and companies for a job near a place, ranked and blended in one list."""
    return counted(run_match(load_query(_match_schema)))


@bp.get("/formations")
def formations_endpoint():
    """Training courses only."""
    return counted(run_match({**load_query(_kind_schema), "kinds": ["formation"]}))


@bp.get("/offers")
def offers_endpoint():
    """Apprenticeship offers only."""
    return counted(run_match({**load_query(_kind_schema), "kinds": ["offer"]}))


@bp.get("/companies")
def companies_endpoint():
    """Companies likely to hire (spontaneous applications) only."""
    return counted(run_match({**load_query(_kind_schema), "kinds": ["company"]}))
