"""Marshmallow schemas of the recruiter account forms (sign-in, sign-up, refusal), French messages per field."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, pre_load, validate

from app.services.siret import SiretError, check_siret, normalise_siret
from app.web.forms import REQUIRED, _FormSchema, _phone, _text

_EMAIL = fields.Email(required=True, validate=validate.Length(max=254, error="Au plus {max} caractères."),
                      error_messages={"required": REQUIRED,
                                      "invalid": "Adresse e-mail invalide, par exemple prenom.nom@entreprise.fr."})


def _siret(value: str) -> None:
    try:
        check_siret(value)
    except SiretError as exc:
        raise ValidationError(exc.message) from None


class LoginFormSchema(_FormSchema):
    """The address to send a magic link to."""

    email = _EMAIL


class SiretFormSchema(_FormSchema):
    """Step 1 of a sign-up: the establishment's SIRET."""

    siret = fields.String(required=True, error_messages={"required": REQUIRED}, validate=_siret)

    @pre_load
    def _compact(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "siret" in data:
            data["siret"] = normalise_siret(data["siret"])
        return data


class SignUpFormSchema(SiretFormSchema):
    """Step 2 of a sign-up: who the account belongs to."""

    first_name = _text(100, no_url=True)
    last_name = _text(100, no_url=True)
    email = _EMAIL
    phone = fields.String(required=True, error_messages={"required": REQUIRED}, validate=_phone)


class RefusalFormSchema(_FormSchema):
    """A validator's refusal: the reason is e-mailed to the recruiter."""

    reason = fields.String(required=True, validate=validate.Length(max=1000, error="Au plus {max} caractères."),
                           error_messages={"required": "Indiquez le motif du refus : il est envoyé au recruteur."})


class PartnerCompanyFormSchema(SiretFormSchema):
    """A CFA's partner company: its SIRET, and optionally the contact who receives the applications."""

    email = fields.Email(load_default="", validate=validate.Length(max=254, error="Au plus {max} caractères."),
                         error_messages={"invalid": "Adresse e-mail invalide, par exemple prenom.nom@entreprise.fr."})
    phone = fields.String(load_default="", validate=_phone)
