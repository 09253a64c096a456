"""GET /api/v3/jobs/search: our matches in the shape of the public service's v3 job search, for its partners."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from app.api import load_query
from app.api.access import count_results
from app.api.match import run_match
from app.extensions import get_refs
from app.schemas import STRING, CommaList, FiniteFloat, validate_romes
from app.services.v3_adapter import OPCO_LABELS, AdapterContext, Filters, opco_spellings, search

bp = Blueprint("v3", __name__, url_prefix="/api/v3")

#: Our engine needs a positive radius; their radius=0 ("exactly this point") becomes the smallest we take.
MIN_RADIUS_KM = 1.0
DIPLOMA_LEVELS = ("3", "4", "5", "6", "7")
DEPARTEMENT_RE = re.compile(r"^(\d{2,3}|2[AB])$")
# Parameters that may be repeated in the query string (?departements=69&departements=01).
LIST_PARAMS = ("partners_to_exclude", "departements")

ROMES_REQUIRED = ("Paramètre obligatoire : indiquez un ou plusieurs codes ROME (ex. romes=D1102,M1805). "
                  "La recherche sur tous les métiers à la fois n'est pas prise en charge ; pour l'ensemble "
                  "des offres, utilisez l'export (/v3/jobs/export).")
RNCP_UNSUPPORTED = ("La recherche par certification (rncp) n'est pas encore prise en charge : "
                    "indiquez les codes ROME des métiers visés (romes).")
PAIRED = "latitude et longitude vont ensemble : indiquez les deux ou aucune."
HANDICAP_WARNING = {
    "code": "ELLIGIBLE_HANDICAP_FILTER_IGNORED",
    "message": "Le filtre elligibleHandicapFilter n'est pas pris en charge (aucune donnée sur l'accueil "
               "des personnes en situation de handicap) : les résultats ne sont pas filtrés.",
}


class StringList(fields.Field):
    """A parameter given once, repeated, or comma-separated; blank values are ignored."""

    default_error_messages = {"invalid": "Doit être une chaîne ou une liste de chaînes."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self.make_error("invalid")
        return [part.strip() for v in values for part in v.split(",") if part.strip()]


def _validate_romes(codes: list[str]) -> None:
    validate_romes(codes, empty=ROMES_REQUIRED)


def _validate_departements(codes: list[str]) -> None:
    bad = [code for code in codes if not DEPARTEMENT_RE.match(code.upper())]
    if bad:
        raise ValidationError(f"Codes de département mal formés (ex. 69, 2A, 971) : {', '.join(bad)}.")


def _refuse_rncp(value: Any) -> None:
    # Any value is refused, well-formed or not: the RNCP → ROME table is not loaded yet.
    raise ValidationError(RNCP_UNSUPPORTED)


class JobsSearchSchema(Schema):
    """Query parameters of GET /api/v3/jobs/search, as their OpenAPI document lists them."""

    class Meta:
        unknown = EXCLUDE  # partners may send parameters of later versions; they are not errors

    latitude = FiniteFloat(validate=validate.Range(-90, 90, error="Doit être compris entre {min} et {max}."))
    longitude = FiniteFloat(validate=validate.Range(-180, 180, error="Doit être compris entre {min} et {max}."))
    radius = FiniteFloat(load_default=30.0,
                         validate=validate.Range(0, 200, error="Doit être compris entre {min} et {max} km."))
    target_diploma_level = fields.String(
        validate=validate.OneOf(DIPLOMA_LEVELS, error="Valeurs possibles : {choices}."), error_messages=STRING)
    romes = CommaList(required=True, validate=_validate_romes, error_messages={"required": ROMES_REQUIRED})
    rncp = fields.Raw(validate=_refuse_rncp)
    partners_to_exclude = StringList(load_default=list)
    departements = StringList(load_default=list, validate=_validate_departements)
    opco = fields.String(validate=validate.OneOf(OPCO_LABELS, error="Valeurs possibles : {choices}."),
                         error_messages=STRING)
    elligibleHandicapFilter = fields.Boolean(load_default=False, truthy={"true", "1"}, falsy={"false", "0"},
                                             error_messages={"invalid": "Doit valoir true ou false."})

    # Run even when some fields failed, on the raw input, so one answer lists every problem.
    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _check_pairs(self, data: dict[str, Any], original_data: dict[str, Any], **kwargs: Any) -> None:
        if ("latitude" in original_data) != ("longitude" in original_data):
            missing = "longitude" if "latitude" in original_data else "latitude"
            raise ValidationError({missing: [PAIRED]})

    def load_args(self, args: Any) -> dict[str, Any]:
        """Load a request's query string (repeatable parameters as lists); raises ValidationError with every problem."""
        data = self.load({key: args.getlist(key) if key in LIST_PARAMS else args.get(key) for key in args})
        data["romes"] = [code.upper() for code in data["romes"]]
        data["departements"] = [code.upper() for code in data["departements"]]
        return data


_schema = JobsSearchSchema()


@bp.get("/jobs/search")
def jobs_search():
    """Offers (jobs) and likely recruiters for ROME codes near a point, in their v3 read shapes."""
    args = load_query(_schema)
    params: dict[str, Any] = {"romes": args["romes"], "radius": max(args["radius"], MIN_RADIUS_KM)}
    if "latitude" in args:
        params.update(latitude=args["latitude"], longitude=args["longitude"])
    if "target_diploma_level" in args:
        params["diploma"] = int(args["target_diploma_level"])
    refs = get_refs()
    ctx = AdapterContext(base_url=request.url_root,
                         diploma_labels={level: d.label for level, d in refs.diplomas.levels.items() if d.label},
                         opco_labels=opco_spellings(refs.opcos))
    filters = Filters(partners_to_exclude=frozenset(args["partners_to_exclude"]),
                      departements=tuple(args["departements"]), opco=args.get("opco"))
    extra = [HANDICAP_WARNING] if args["elligibleHandicapFilter"] else []
    # run_match turns unknown ROME codes into our 400; it is called once per page and kind.
    answer = search(run_match, params, filters, ctx, extra)
    count_results(len(answer["jobs"]) + len(answer["recruiters"]))
    return answer
