"""Request schemas of applications: v1 (JSON or multipart) and the public service's /v2/application body."""
from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

URL_RE = re.compile(r"(https?://|www\.)", re.IGNORECASE)
# Digits with optional +, spaces, dots, dashes or parentheses: 6 to 15 digits (E.164 allows 15).
PHONE_RE = re.compile(r"^\+?[\d\s().-]{6,25}$")
NAME_LENGTH = validate.Length(min=1, max=50, error="Entre {min} et {max} caractères.")
CV_NAME_RE = r"(?i)^.+\.(pdf|docx)$"


def strip_nul(value: Any) -> Any:
    """`value` without NUL characters, at any depth: they mean nothing and PostgreSQL text cannot hold them."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [strip_nul(item) for item in value]
    if isinstance(value, dict):
        return {key: strip_nul(item) for key, item in value.items()}
    return value


class CleanSchema(Schema):
    """A request schema whose input loses its NUL characters before validation."""

    @pre_load
    def _clean(self, data: Any, **_: Any) -> Any:
        return strip_nul(data)


class StrictSchema(CleanSchema):
    """A clean request schema that refuses fields it does not define."""

    class Meta:
        unknown = RAISE


def _no_url(value: str) -> None:
    if URL_RE.search(value):
        raise ValidationError("Les adresses web ne sont pas autorisées ici.")


def _phone(value: str) -> None:
    digits = re.sub(r"\D", "", value)
    if not PHONE_RE.match(value) or not 6 <= len(digits) <= 15:
        raise ValidationError("Numéro de téléphone invalide.")


def _person_name() -> fields.String:
    return fields.String(required=True, validate=[NAME_LENGTH, _no_url])


def _email() -> fields.Email:
    return fields.Email(required=True, error_messages={"invalid": "Adresse e-mail invalide."})


def _phone_number() -> fields.String:
    return fields.String(required=True, validate=_phone)


def _cv_name() -> fields.String:
    return fields.String(required=True, validate=validate.Regexp(
        CV_NAME_RE, error="Seuls les fichiers .pdf et .docx sont acceptés."))


class AnswerSchema(StrictSchema):
    question = fields.String(required=True, validate=validate.Length(max=500))
    answer = fields.String(required=True, validate=validate.Length(max=2000))


class V2AnswerSchema(AnswerSchema):
    """The public schema lets answer objects carry other properties: they are ignored, not refused."""

    class Meta:
        unknown = EXCLUDE


class CvSchema(StrictSchema):
    name = _cv_name()
    content = fields.String(required=True, metadata={"description": "Contenu du fichier en base64 (≤ 3 Mo)."})


class ApplicationSchema(StrictSchema):
    """POST /api/v1/applications (JSON; multipart sends the same fields, the CV as a file part `cv`)."""

    first_name = _person_name()
    last_name = _person_name()
    email = _email()
    phone = _phone_number()
    message = fields.String(load_default="", validate=validate.Length(max=10000))
    cv = fields.Nested(CvSchema, required=True)
    offer_id = fields.String(validate=validate.Length(min=1, max=120))
    company_siret = fields.String(validate=validate.Regexp(r"^\d{14}$", error="SIRET à 14 chiffres."))
    caller = fields.String(load_default="", validate=validate.Length(max=100))
    answers = fields.List(fields.Nested(AnswerSchema), load_default=list,
                          validate=validate.Length(max=3, error="Au plus {max} réponses."))

    @validates_schema
    def _one_target(self, data: dict[str, Any], **_: Any) -> None:
        if ("offer_id" in data) == ("company_siret" in data):
            raise ValidationError("Indiquez soit offer_id, soit company_siret.", "offer_id")


class V2ApplicationSchema(StrictSchema):
    """The public service's /v2/application body, field for field (its OpenAPI has additionalProperties false)."""

    applicant_first_name = _person_name()
    applicant_last_name = _person_name()
    applicant_email = _email()
    applicant_phone = _phone_number()
    applicant_attachment_name = _cv_name()
    applicant_attachment_content = fields.String(required=True, validate=validate.Length(max=4215276))
    recipient_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    applicant_message = fields.String(allow_none=True, load_default=None)
    applicant_answers_to_recruiter_questions = fields.List(fields.Nested(V2AnswerSchema), allow_none=True,
                                                           load_default=None)
    applicant_contract_duration = fields.String(allow_none=True, load_default=None)
    applicant_contract_start = fields.List(fields.String(), allow_none=True, load_default=None)
    applicant_formation_description = fields.String(allow_none=True, load_default=None,
                                                    validate=validate.Length(max=200))
    applicant_rythm_description = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=200))
    applicant_inscription_formation = fields.Boolean(allow_none=True, load_default=None)
    foreign_application_id = fields.String(allow_none=True, load_default=None)
    foreign_application_status_url = fields.String(allow_none=True, load_default=None)


class ReplySchema(CleanSchema):
    """A recruiter's answer through a signed link (JSON API or the reply page's form)."""

    token = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    reason = fields.String(load_default=None, allow_none=True)
    message = fields.String(load_default="", validate=validate.Length(max=5000))
