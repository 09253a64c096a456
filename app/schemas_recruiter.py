"""Request schemas of the recruiter side: the deposited offer (reference §5.2), its cancellation, CFA picks."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from marshmallow import RAISE, ValidationError, fields, post_load, validate, validates_schema

from app.clock import get_clock
from app.schemas_applications import URL_RE, CleanSchema
from app.services.siret import SiretError, check_siret

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
CONTRACT_TYPES = ("apprentissage", "professionnalisation")
#: The public service's `job_level_label` choices (reference §5.2) → European level (None: any level).
DIPLOMA_LEVELS: dict[str, tuple[str, int | None]] = {
    "indifferent": ("Indifférent", None),
    "3": ("CAP, BEP (Infrabac)", 3),
    "4": ("Bac, Bac Pro, BP (Bac)", 4),
    "5": ("BTS, DEUST (Bac+2)", 5),
    "6": ("Licence, BUT, Licence Pro (Bac+3)", 6),
    "7": ("Master, titre ingénieur, grande école (Bac+5)", 7),
}
CANCEL_REASONS = {
    "recrute_ailleurs": "J'ai recruté par un autre moyen",
    "plus_besoin": "Je n'ai plus besoin de recruter",
    "pas_de_candidat": "Je n'ai pas reçu de candidature adaptée",
    "autre": "Autre motif",
}
MAX_QUESTIONS = 3
MIN_DURATION, MAX_DURATION = 6, 36
#: How far ahead a precise start date may be (reference §5.2: today + 2 years).
START_HORIZON_YEARS = 2
ROME_RE = r"^[A-N][0-9]{4}\Z"


def _no_url_or_email(value: str) -> None:
    if URL_RE.search(value):
        raise ValidationError("Les adresses web ne sont pas autorisées ici.")
    if EMAIL_RE.search(value):
        raise ValidationError("Les adresses e-mail ne sont pas autorisées ici.")


def _no_url(value: str) -> None:
    if URL_RE.search(value):
        raise ValidationError("Les adresses web ne sont pas autorisées ici.")


def _description(value: str) -> None:
    if value.strip() and len(value.strip()) < 30:
        raise ValidationError("La description doit faire au moins 30 caractères (ou rester vide).")
    _no_url_or_email(value)


def _question(value: str) -> None:
    if not value.strip():
        raise ValidationError("Une question ne peut pas être vide.")


def add_years(day: date, years: int) -> date:
    """`day` plus `years` calendar years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class OfferSchema(CleanSchema):
    """An offer as the form and `POST/PUT /api/v1/recruiter/offers` send it; today (Paris, app clock) bounds the start.

    Rules that need the referentials (the ROME code, the appellation) are checked by the service.
    """

    class Meta:
        unknown = RAISE

    def __init__(self, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.today = today

    appellation = fields.String(required=True, validate=validate.Length(
        min=2, max=300, error="Choisissez un métier dans la liste proposée."),
        error_messages={"required": "Choisissez un métier dans la liste proposée."})
    appellation_code = fields.String(load_default="", validate=validate.Regexp(
        r"^[0-9]{0,10}\Z", error="Code d'appellation invalide."))
    rome = fields.String(required=True, validate=validate.Regexp(
        ROME_RE, error="Choisissez un métier dans la liste proposée (code ROME absent)."),
        error_messages={"required": "Choisissez un métier dans la liste proposée (code ROME absent)."})
    title = fields.String(load_default="", validate=[validate.Length(
        max=150, error="150 caractères au plus."), _no_url_or_email])
    contract_types = fields.List(fields.String(validate=validate.OneOf(
        CONTRACT_TYPES, error="Type de contrat inconnu.")), required=True, validate=validate.Length(
        min=1, error="Choisissez au moins un type de contrat."),
        error_messages={"required": "Choisissez au moins un type de contrat."})
    diploma_level = fields.String(load_default="indifferent", validate=validate.OneOf(
        list(DIPLOMA_LEVELS), error="Niveau de diplôme inconnu."))
    start_asap = fields.Boolean(load_default=False)
    start_date = fields.Date(load_default=None, allow_none=True,
                             error_messages={"invalid": "Date invalide (format attendu : AAAA-MM-JJ)."})
    duration_months = fields.Integer(required=True, strict=False, validate=validate.Range(
        MIN_DURATION, MAX_DURATION, error=f"La durée du contrat va de {MIN_DURATION} à {MAX_DURATION} mois."),
        error_messages={"required": "Indiquez la durée du contrat en mois.",
                        "invalid": "Indiquez un nombre de mois."})
    positions = fields.Integer(load_default=1, validate=validate.Range(
        1, 999, error="Au moins un poste, 999 au plus."), error_messages={"invalid": "Indiquez un nombre de postes."})
    rhythm = fields.String(load_default="", validate=[validate.Length(
        max=100, error="100 caractères au plus."), _no_url])
    description = fields.String(load_default="", validate=[validate.Length(
        max=5000, error="5 000 caractères au plus."), _description])
    questions = fields.List(fields.String(validate=[validate.Length(
        max=500, error="500 caractères au plus par question."), _question, _no_url_or_email]),
        load_default=list, validate=validate.Length(
        max=MAX_QUESTIONS, error=f"{MAX_QUESTIONS} questions au plus."))
    disability_friendly = fields.Boolean(load_default=False)
    cfa_partner_company_id = fields.Integer(load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _start(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        # Runs beside the other fields' errors, so the form shows every message at once.
        if data.get("start_asap"):
            return
        start = data.get("start_date")
        if start is None and isinstance(original, dict) and original.get("start_date"):
            return  # unreadable: the field's own "Date invalide" says so
        today = self.today or get_clock().today()
        if start is None:
            raise ValidationError("Indiquez une date de début, ou cochez « dès que possible ».", "start_date")
        if start < today:
            raise ValidationError("La date de début ne peut pas être passée.", "start_date")
        if start > add_years(today, START_HORIZON_YEARS):
            raise ValidationError("La date de début doit être dans les deux ans.", "start_date")

    @post_load
    def _normalise(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["appellation"] = data["appellation"].strip()
        data["contract_types"] = [c for c in CONTRACT_TYPES if c in data["contract_types"]]
        data["questions"] = [q.strip() for q in data["questions"]]
        data["rhythm"] = data["rhythm"].strip()
        data["description"] = data["description"].strip()
        if data["start_asap"]:
            data["start_date"] = None
        return data


class CancelSchema(CleanSchema):
    """Cancelling an offer: a reason of the list, optional precision."""

    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.OneOf(
        list(CANCEL_REASONS), error="Choisissez un motif d'annulation."),
        error_messages={"required": "Choisissez un motif d'annulation."})
    comment = fields.String(load_default="", validate=validate.Length(max=500, error="500 caractères au plus."))


class DelegationSchema(CleanSchema):
    """The CFAs a recruiter picks for an offer, by SIRET among those proposed."""

    class Meta:
        unknown = RAISE

    cfa_sirets = fields.List(fields.String(validate=validate.Regexp(r"^[0-9]{14}\Z", error="SIRET invalide.")),
                             required=True, validate=validate.Length(max=20, error="20 écoles au plus."))


def _siret(value: str) -> None:
    try:
        check_siret(value)
    except SiretError as exc:
        raise ValidationError(exc.message) from None


class PartnerCompanySchema(CleanSchema):
    """A CFA's partner company: its SIRET (checked in Sirene like a company account's), its optional contact."""

    class Meta:
        unknown = RAISE

    siret = fields.String(required=True, validate=_siret,
                          error_messages={"required": "Indiquez le SIRET de l'entreprise (14 chiffres)."},
                          metadata={"description": "SIRET de l'établissement qui recrute (14 chiffres)."})
    email = fields.Email(load_default="", validate=validate.Length(max=254, error="254 caractères au plus."),
                         error_messages={"invalid": "Adresse e-mail invalide."},
                         metadata={"description": "Contact qui reçoit les candidatures (sinon le CFA)."})
    phone = fields.String(load_default="", validate=validate.Regexp(r"^\+?[\d\s().-]{6,25}$",
                                                                    error="Numéro de téléphone invalide."))
