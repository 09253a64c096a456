"""Marshmallow schemas of the contact endpoints (callbacks, appointment context, company opt-out), French messages."""
from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from app.schemas_responses import LabelSchema
from app.services.callbacks import APPLICANT_TYPES, REASONS, REFERRERS

REQUIRED = "Champ obligatoire."
STRING: dict[str, Any] = {"required": REQUIRED, "null": REQUIRED, "invalid": "Doit être une chaîne de caractères."}
UNKNOWN_FIELD = "Champ inconnu."
MAX_50 = "50 caractères au plus."
# A name is a name: no digits-only strings and no links (the public service forbids URLs there too).
URL_RE = re.compile(r"https?://|www\.", re.IGNORECASE)
#: French numbers (0X XX XX XX XX, +33 X...) or international ones: 8 to 15 digits once separators go.
PHONE_RE = re.compile(r"^\+?[\d\s.\-()]{8,20}$")
SIRET_RE = re.compile(r"^\d{14}$")


def _name(value: str) -> None:
    if not value.strip():
        raise ValidationError(REQUIRED)
    if URL_RE.search(value):
        raise ValidationError("Les liens ne sont pas acceptés.")


def _phone(value: str) -> None:
    digits = re.sub(r"\D", "", value)
    if not PHONE_RE.match(value.strip()) or not 8 <= len(digits) <= 15:
        raise ValidationError("Numéro de téléphone invalide (ex. 06 12 34 56 78 ou +33 6 12 34 56 78).")


class _Strict(Schema):
    class Meta:
        unknown = RAISE

    def handle_error(self, error: ValidationError, data: Any, **kwargs: Any) -> None:
        # marshmallow's English message for an unknown field, in French.
        messages = error.messages
        if isinstance(messages, dict):
            for name, value in list(messages.items()):
                if value == ["Unknown field."]:
                    messages[name] = [UNKNOWN_FIELD]
        raise error


def _email() -> fields.Email:
    return fields.Email(required=True, validate=validate.Length(max=320, error="320 caractères au plus."),
                        error_messages={**STRING, "invalid": "Adresse e-mail invalide."})


class CallbackRequestSchema(_Strict):
    """Body of POST /api/v1/callbacks."""

    formation_id = fields.String(required=True, validate=validate.Length(min=1, max=200, error="Identifiant invalide."),
                                 error_messages=STRING)
    first_name = fields.String(required=True, validate=[validate.Length(max=50, error=MAX_50), _name],
                               error_messages=STRING)
    last_name = fields.String(required=True, validate=[validate.Length(max=50, error=MAX_50), _name],
                              error_messages=STRING)
    email = _email()
    phone = fields.String(required=True, validate=_phone, error_messages=STRING)
    applicant_type = fields.String(required=True, validate=validate.OneOf(
        list(APPLICANT_TYPES), error=f"Valeurs possibles : {', '.join(APPLICANT_TYPES)}."), error_messages=STRING)
    reasons = fields.List(fields.String(validate=validate.OneOf(
        list(REASONS), error=f"Valeurs possibles : {', '.join(REASONS)}.")), required=True,
        validate=validate.Length(min=1, max=len(REASONS), error="Choisissez au moins un sujet."),
        error_messages={"required": REQUIRED, "null": REQUIRED, "invalid": "Doit être une liste."})
    message = fields.String(load_default="", allow_none=True,
                            validate=validate.Length(max=3000, error="3000 caractères au plus."),
                            error_messages={"invalid": "Doit être une chaîne de caractères."})
    referrer = fields.String(load_default="lba", validate=validate.OneOf(
        list(REFERRERS), error=f"Valeurs possibles : {', '.join(REFERRERS)}."), error_messages=STRING)


class CallbackCreatedSchema(Schema):
    """Answer of POST /api/v1/callbacks (202)."""

    id = fields.String(required=True)
    formation_id = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class CallbackContextQuerySchema(_Strict):
    """Query of GET /api/v1/callbacks/context."""

    formation_id = fields.String(required=True, validate=validate.Length(min=1, max=200), error_messages=STRING)


class CallbackContextSchema(Schema):
    """Answer of GET /api/v1/callbacks/context: whether the form can be shown, and its choices."""

    formation_id = fields.String(required=True)
    available = fields.Boolean(required=True)
    message = fields.String(allow_none=True)
    formation = fields.Dict(allow_none=True, metadata={"description": "Titre, centre de formation et lieu."})
    reasons = fields.List(fields.Nested(LabelSchema), required=True)
    applicant_types = fields.List(fields.Nested(LabelSchema), required=True)


class AppointmentRequestSchema(_Strict):
    """Body of POST /api/v2/appointment, as the public service defines it: exactly one identifier."""

    cle_ministere_educatif = fields.String(validate=validate.Length(min=1), error_messages=STRING)
    parcoursup_id = fields.String(error_messages=STRING)
    onisep_id = fields.String(error_messages=STRING)

    @validates_schema
    def _one_identifier(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len(data) != 1:
            raise ValidationError("Indiquez exactement un identifiant : cle_ministere_educatif, parcoursup_id ou "
                                  "onisep_id.", "_schema")


class AppointmentContextSchema(Schema):
    """Answer of POST /api/v2/appointment when requests are available (the public service's fields)."""

    etablissement_formateur_entreprise_raison_sociale = fields.String(required=True, allow_none=True)
    intitule_long = fields.String(required=True)
    lieu_formation_adresse = fields.String(required=True)
    code_postal = fields.String(required=True)
    etablissement_formateur_siret = fields.String(required=True, allow_none=True)
    cfd = fields.String(required=True)
    localite = fields.String(required=True)
    cle_ministere_educatif = fields.String(required=True)
    form_url = fields.String(required=True)


class AppointmentUnavailableSchema(Schema):
    """Answer of POST /api/v2/appointment when requests are not available (the public service's shape)."""

    error = fields.String(required=True, validate=validate.OneOf(["Appointment request not available"]))


class OptOutRequestSchema(_Strict):
    """Body of POST /api/v1/companies/opt-out and /api/v1/companies/opt-out/match."""

    email = _email()
    sirets = fields.List(fields.String(validate=validate.Regexp(SIRET_RE, error="Le SIRET compte 14 chiffres.")),
                         required=True, validate=validate.Length(min=1, max=50, error="Entre 1 et 50 SIRET."),
                         error_messages={"required": REQUIRED, "null": REQUIRED, "invalid": "Doit être une liste."})
    reason = fields.String(load_default="", validate=validate.Length(max=1000, error="1000 caractères au plus."),
                           error_messages={"invalid": "Doit être une chaîne de caractères."})


class OptOutCompanySchema(Schema):
    siret = fields.String(required=True)
    name = fields.String()
    address = fields.String()
    postcode = fields.String()
    city = fields.String()
    status = fields.String(required=True, metadata={"enum": ["eligible", "already_opted_out", "not_listed",
                                                             "no_contact", "email_mismatch"]})
    message = fields.String(required=True)


class OptOutMatchSchema(Schema):
    """Answer of POST /api/v1/companies/opt-out/match."""

    companies = fields.List(fields.Nested(OptOutCompanySchema), required=True)


class OptOutCreatedSchema(Schema):
    """Answer of POST /api/v1/companies/opt-out (202): the confirmation e-mail is on its way."""

    id = fields.String(required=True)
    companies = fields.List(fields.Nested(OptOutCompanySchema), required=True)
    expires_at = fields.String(required=True, metadata={"format": "date-time"})


class OptOutConfirmSchema(_Strict):
    """Body of POST /api/v1/companies/opt-out/confirm: the id and token of the e-mailed link."""

    id = fields.String(required=True, validate=validate.Length(min=1, max=64), error_messages=STRING)
    token = fields.String(required=True, validate=validate.Length(min=1, max=500), error_messages=STRING)


class OptOutConfirmedSchema(Schema):
    """Answer of POST /api/v1/companies/opt-out/confirm."""

    id = fields.String(required=True)
    sirets = fields.List(fields.String(), required=True)
    removed_from_search = fields.Integer(required=True)
