"""Marshmallow schemas of the API's query parameters, with French error messages."""
from __future__ import annotations

import math
import re
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

# [0-9], not \d: Python's \d also matches Arabic-Indic and other Unicode digits ("٤٥").
ROME_RE = re.compile(r"^[A-Na-n][0-9]{4}$")
INSEE_RE = r"^([0-9]{5}|2[ABab][0-9]{3})$"
POSTCODE_RE = r"^[0-9]{5}$"
#: A decimal number in ASCII digits (no "4_5", no "٤٥"); nan/inf words pass here so FiniteFloat names them.
ASCII_NUMBER_RE = re.compile(r"^[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|nan|inf|infinity)$",
                             re.IGNORECASE | re.ASCII)
ASCII_INTEGER_RE = re.compile(r"^[+-]?[0-9]+$", re.ASCII)
MAX_ROMES = 20
KIND_NAMES = {"formations": "formation", "offers": "offer", "companies": "company"}

REQUIRED = "Paramètre obligatoire."
NUMBER: dict[str, Any] = {"required": REQUIRED, "invalid": "Doit être un nombre.", "null": REQUIRED}
INTEGER: dict[str, Any] = {"required": REQUIRED, "invalid": "Doit être un nombre entier.", "null": REQUIRED}
STRING: dict[str, Any] = {"required": REQUIRED, "invalid": "Doit être une chaîne de caractères.", "null": REQUIRED}


class FiniteFloat(fields.Float):
    """A float in ASCII digits that refuses NaN and infinities with a French message."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, error_messages={**NUMBER, "special": "Doit être un nombre fini."},
                         **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        # float() takes "٤٥", "4_5" and surrounding spaces: a query string number is ASCII digits only.
        if isinstance(value, str) and not ASCII_NUMBER_RE.match(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class AsciiInteger(fields.Integer):
    """An integer written in ASCII digits only (int() also takes "٣" and "1_0")."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", INTEGER)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and not ASCII_INTEGER_RE.match(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class CommaList(fields.Field):
    """A comma-separated list in one query parameter ("D1102,M1805"); empty items are ignored."""

    default_error_messages = {"invalid": "Doit être une liste séparée par des virgules.", "required": REQUIRED}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return [item.strip() for item in value.split(",") if item.strip()]


def validate_romes(codes: list[str], empty: str = "Indiquez au moins un code ROME.") -> None:
    """Refuse an empty list (with the message `empty`), more than MAX_ROMES codes, or malformed codes."""
    if not codes:
        raise ValidationError(empty)
    if len(codes) > MAX_ROMES:
        raise ValidationError(f"Au plus {MAX_ROMES} codes ROME.")
    bad = [c for c in codes if not ROME_RE.match(c)]
    if bad:
        raise ValidationError(f"Codes ROME mal formés (une lettre et 4 chiffres, ex. D1102) : {', '.join(bad)}.")


def _validate_kinds(kinds: list[str]) -> None:
    bad = [k for k in kinds if k not in KIND_NAMES]
    if bad or not kinds:
        raise ValidationError(f"Valeurs possibles : {', '.join(KIND_NAMES)}.")


class MatchRequestSchema(Schema):
    """Query parameters of GET /api/v1/match."""

    class Meta:
        unknown = EXCLUDE  # partners send extra parameters such as `caller`; they are not errors

    romes = CommaList(validate=validate_romes, metadata={
        "format": "rome-codes", "minLength": 1,
        "description": "Codes ROME séparés par des virgules (au plus 20), ex. D1102,M1805 ; vide refusé."})
    q = fields.String(validate=validate.Length(min=1, max=200, error="Entre {min} et {max} caractères."),
                      error_messages=STRING)
    latitude = FiniteFloat(validate=validate.Range(-90, 90, error="Doit être compris entre {min} et {max}."))
    longitude = FiniteFloat(validate=validate.Range(-180, 180, error="Doit être compris entre {min} et {max}."))
    insee = fields.String(validate=validate.Regexp(INSEE_RE, error="Code INSEE à 5 caractères (ex. 69123, 2A004)."),
                          error_messages=STRING, metadata={"pattern": INSEE_RE})
    postcode = fields.String(validate=validate.Regexp(POSTCODE_RE, error="Code postal à 5 chiffres."),
                             error_messages=STRING, metadata={"pattern": POSTCODE_RE})
    radius = FiniteFloat(load_default=30.0, validate=validate.Range(1, 200, error="Doit être compris entre "
                                                                                     "{min} et {max} km."))
    diploma = AsciiInteger(validate=validate.Range(3, 7, error="Niveau de diplôme entre {min} et {max}."),
                             error_messages=INTEGER, strict=False)
    contract = fields.String(validate=validate.OneOf(["apprentissage", "professionnalisation"],
                                                     error="Valeurs possibles : {choices}."),
                             error_messages=STRING)
    kinds = CommaList(load_default=lambda: list(KIND_NAMES), validate=_validate_kinds, metadata={
        "pattern": "^(formations|offers|companies)(,(formations|offers|companies)){0,2}$",
        "description": "Types de résultats, parmi formations, offers, companies (défaut : tous)."})
    sort = fields.String(load_default="relevance",
                         validate=validate.OneOf(["relevance", "distance", "date"],
                                                 error="Valeurs possibles : {choices}."),
                         error_messages=STRING)
    explain = fields.Boolean(load_default=False, truthy={"1", "true", "oui", "yes"}, falsy={"0", "false", "non", "no"},
                             error_messages={"invalid": "Doit valoir 1 ou 0."})
    page = AsciiInteger(load_default=1, validate=validate.Range(1, 500, error="Entre {min} et {max}."),
                        error_messages=INTEGER, metadata={
                            "description": "Page (à partir de 1). page × page_size ≤ 1000 : au-delà, 400 "
                                           "(les 1 000 premiers résultats seulement sont accessibles)."})
    page_size = AsciiInteger(load_default=20, validate=validate.Range(1, 100, error="Entre {min} et {max}."),
                               error_messages=INTEGER)

    @validates_schema
    def _check_combinations(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        if "romes" not in data and "q" not in data:
            errors["romes"] = ["Indiquez des codes ROME (romes) ou un métier (q)."]
        if ("latitude" in data) != ("longitude" in data):
            missing = "longitude" if "latitude" in data else "latitude"
            errors[missing] = ["latitude et longitude vont ensemble."]
        places = [name for name in ("latitude", "insee", "postcode") if name in data]
        if len(places) > 1:
            errors["place"] = ["Un seul lieu : latitude+longitude, insee ou postcode."]
        if errors:
            raise ValidationError(errors)

    def load_args(self, args: Any) -> dict[str, Any]:
        """Load a request's query string, upper-casing codes; raises ValidationError with every problem."""
        data = self.load({key: args.get(key) for key in args})
        if "romes" in data:
            data["romes"] = [code.upper() for code in data["romes"]]
        if "insee" in data:
            data["insee"] = data["insee"].upper()
        if "latitude" in data and not (math.isfinite(data["latitude"]) and math.isfinite(data["longitude"])):
            raise ValidationError({"latitude": ["Doit être un nombre fini."]})
        if "kinds" in data:
            data["kinds"] = [KIND_NAMES[k] for k in dict.fromkeys(data["kinds"])]
        return data


class KindSearchSchema(MatchRequestSchema):
    """Query parameters of the one-kind searches: those of /match without `kinds`."""

    class Meta:
        unknown = EXCLUDE
        exclude = ("kinds",)

