"""GET /api/v3/jobs/search: our matches in the shape of the public service's v3 job search, for its partners."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from app.api import load_query
from app.api.access import count_results
from app.api.match import run_match
from app.errors import invalid_parameters
from app.extensions import get_certifications, get_refs, get_settings
from app.schemas import STRING, CommaList, FiniteFloat, validate_romes
from app.services.certifications import RNCP_RE, UnknownCertification
from app.services.v3_adapter import OPCO_LABELS, AdapterContext, Filters, opco_spellings, search

bp = Blueprint("v3", __name__, url_prefix="/api/v3")

#: Our engine needs a positive radius; their radius=0 ("exactly this point") becomes the smallest we take.
MIN_RADIUS_KM = 1.0
DIPLOMA_LEVELS = ("3", "4", "5", "6", "7")
DEPARTEMENT_RE = re.compile(r"^([0-9]{2,3}|2[AB])$")
#: What `departements` accepts, for the OpenAPI document: codes separated by commas, blanks ignored.
DEPARTEMENTS_PATTERN = r"^( *([0-9]{2,3}|2[ABab])? *)(, *([0-9]{2,3}|2[ABab])? *)*$"
# Parameters that may be repeated in the query string (?departements=69&departements=01).
LIST_PARAMS = ("partners_to_exclude", "departements")

#: Without romes nor rncp the public service searches every job; we do too, around a place only, so that
#: one request's cost stays bounded by its radius (the whole country is the export's job).
NO_JOB_NO_PLACE = ("Sans code ROME (romes) ni certification (rncp), indiquez un lieu (latitude et longitude) : "
                   "la recherche porte alors sur tous les métiers autour de ce lieu. Pour toutes les offres de "
                   "France, utilisez l'export (/v3/jobs/export).")
RNCP_FORMAT = "Code RNCP mal formé (RNCP suivi de 3 à 5 chiffres, ex. RNCP34826)."
RNCP_UNKNOWN = "Aucune certification connue pour ce code RNCP : aucune formation du catalogue ne le délivre."
PAIRED = "latitude et longitude vont ensemble : indiquez les deux ou aucune."
HANDICAP_UNSUPPORTED = ("Le filtre elligibleHandicapFilter=true n'est pas disponible : nos données n'indiquent pas "
                        "l'accueil des personnes en situation de handicap. Omettez-le ou indiquez false.")


class StringList(fields.Field):
    """A parameter given once, repeated, or comma-separated; blank values are ignored."""

    default_error_messages = {"invalid": "Doit être une chaîne ou une liste de chaînes."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self.make_error("invalid")
        return [part.strip() for v in values for part in v.split(",") if part.strip()]


def _validate_romes(codes: list[str]) -> None:
    # `romes=` (empty) is their null: no ROME filter, as when the parameter is absent.
    if codes:
        validate_romes(codes)


def _validate_departements(codes: list[str]) -> None:
    bad = [code for code in codes if not DEPARTEMENT_RE.match(code.upper())]
    if bad:
        raise ValidationError(f"Codes de département mal formés (ex. 69, 2A, 971) : {', '.join(bad)}.")


def _refuse_handicap_filter(value: bool) -> None:
    # Accepting it and returning unfiltered results would mislead: refused, as the OpenAPI document says.
    if value:
        raise ValidationError(HANDICAP_UNSUPPORTED)


class JobsSearchSchema(Schema):
    """Query parameters of GET /api/v3/jobs/search, as their OpenAPI document lists them."""

    class Meta:
        unknown = EXCLUDE  # partners may send parameters of later versions; they are not errors

    latitude = FiniteFloat(validate=validate.Range(-90, 90, error="Doit être compris entre {min} et {max}."))
    longitude = FiniteFloat(validate=validate.Range(-180, 180, error="Doit être compris entre {min} et {max}."))
    radius = FiniteFloat(load_default=30.0,
                         validate=validate.Range(0, 200, error="Doit être compris entre {min} et {max} km."),
                         metadata={"description": "Rayon en km autour du lieu (défaut 30), jamais élargi : aucun "
                                                  "résultat au-delà. 0 vaut le plus petit rayon pris en charge, "
                                                  "1 km."})
    target_diploma_level = fields.String(
        validate=validate.OneOf(DIPLOMA_LEVELS, error="Valeurs possibles : {choices}."), error_messages=STRING)
    romes = CommaList(load_default=list, validate=_validate_romes, metadata={
        "format": "rome-codes",
        "description": "Codes ROME séparés par des virgules (au plus 20), ex. D1102,M1805. Vide ou absent : pas "
                       "de filtre par métier. Avec rncp, les métiers des deux sont cherchés. Sans romes ni rncp, "
                       "un lieu (latitude, longitude) est obligatoire et tous les métiers y sont cherchés."})
    rncp = fields.String(validate=validate.Regexp(RNCP_RE, error=RNCP_FORMAT), error_messages=STRING, metadata={
        # Empty is their null (load_args drops it), so the documented pattern admits it too.
        "pattern": "^(RNCP[0-9]{3,5})?$",
        "description": "Certification RNCP, ex. RNCP34826 : cherche les métiers (codes ROME) auxquels mènent les "
                       "formations du catalogue qui la délivrent ; inconnue → 400."})
    partners_to_exclude = StringList(load_default=list)
    departements = StringList(load_default=list, validate=_validate_departements, metadata={
        "pattern": DEPARTEMENTS_PATTERN,
        "description": "Codes de département (ex. 69, 2A, 971), séparés par des virgules ou répétés."})
    opco = fields.String(validate=validate.OneOf(OPCO_LABELS, error="Valeurs possibles : {choices}."),
                         error_messages=STRING)
    elligibleHandicapFilter = fields.Boolean(load_default=False, truthy={"true", "1"}, falsy={"false", "0"},
                                             validate=_refuse_handicap_filter,
                                             error_messages={"invalid": "Doit valoir true ou false."}, metadata={
                                                 "enum": [False],
                                                 "description": "Seule la valeur false est prise en charge : "
                                                                "true → 400 (donnée non disponible)."})

    # Run even when some fields failed, on the raw input, so one answer lists every problem.
    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _check_pairs(self, data: dict[str, Any], original_data: dict[str, Any], **kwargs: Any) -> None:
        if ("latitude" in original_data) != ("longitude" in original_data):
            missing = "longitude" if "latitude" in original_data else "latitude"
            raise ValidationError({missing: [PAIRED]})

    @validates_schema
    def _check_job_or_place(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("romes") and not data.get("rncp") and "latitude" not in data:
            raise ValidationError({"romes": [NO_JOB_NO_PLACE]})

    def load_args(self, args: Any) -> dict[str, Any]:
        """Load a request's query string (repeatable parameters as lists); raises ValidationError with every problem."""
        raw = {key: args.getlist(key) if key in LIST_PARAMS else args.get(key) for key in args}
        # An empty value is their null (every parameter is nullable there): the same as no parameter.
        data = self.load({key: value for key, value in raw.items() if value not in ("", [])})
        data["romes"] = [code.upper() for code in data["romes"]]
        data["departements"] = [code.upper() for code in data["departements"]]
        return data


_schema = JobsSearchSchema()


def job_romes(args: dict[str, Any]) -> list[str]:
    """The ROME codes a v3 search covers: `romes`, those `rncp` leads to, or every job (parent codes)."""
    romes = list(args["romes"])
    if args.get("rncp"):
        try:
            romes += get_certifications().romes(args["rncp"])
        except UnknownCertification:
            raise invalid_parameters({"rncp": [RNCP_UNKNOWN]}) from None
    # Every document is indexed under a parent code: the 532 parents are every job.
    return list(dict.fromkeys(romes)) or get_refs().rome.parents


@bp.get("/jobs/search")
def jobs_search():
    """Offers (jobs) and likely recruiters for ROME codes near a point, in their v3 read shapes."""
    args = load_query(_schema)
    # widen=False: their search never widens the radius (asked 20 km, nothing beyond 20 km).
    params: dict[str, Any] = {"romes": job_romes(args), "radius": max(args["radius"], MIN_RADIUS_KM),
                              "widen": False}
    if "latitude" in args:
        params.update(latitude=args["latitude"], longitude=args["longitude"])
    if "target_diploma_level" in args:
        params["diploma"] = int(args["target_diploma_level"])
    refs = get_refs()
    ctx = AdapterContext(base_url=get_settings().public_base_url,
                         diploma_labels={level: d.label for level, d in refs.diplomas.levels.items() if d.label},
                         opco_labels=opco_spellings(refs.opcos))
    filters = Filters(partners_to_exclude=frozenset(args["partners_to_exclude"]),
                      departements=tuple(args["departements"]), opco=args.get("opco"))
    # run_match turns unknown ROME codes into our 400; it is called once per page and kind.
    answer = search(run_match, params, filters, ctx)
    count_results(len(answer["jobs"]) + len(answer["recruiters"]))
    current_app.extensions["lba.usage"].record_search("api", ())  # one search, whatever its pages and kinds
    return answer
