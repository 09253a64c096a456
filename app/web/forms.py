"""Marshmallow schemas of the site's forms (search, application, callback, opt-out), French messages per field."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema
from werkzeug.datastructures import FileStorage, MultiDict

from app.schemas import MAX_ROMES, ROME_RE

REQUIRED = "Ce champ est obligatoire."
RADII = (10, 30, 60, 100, 200)
DIPLOMAS = {3: "CAP, BEP", 4: "Bac, Bac pro, BP", 5: "BTS, DEUST, Bac+2", 6: "Licence, BUT, Bac+3",
            7: "Master, diplôme d'ingénieur, Bac+5"}
CONTRACTS = {"apprentissage": "Apprentissage", "professionnalisation": "Professionnalisation"}
KINDS = {"formations": "Formations", "offers": "Offres d'emploi", "companies": "Candidatures spontanées"}
SORTS = {"relevance": "Pertinence", "distance": "Distance", "date": "Date de publication"}
#: Why a young person asks a CFA to call back (the public service's reasons, la-bonne-alternance.md §4).
CALLBACK_REASONS = {
    "modalite": "Modalités d'inscription", "contenu": "Contenu de la formation", "porte": "Journées portes ouvertes",
    "frais": "Frais d'inscription", "place": "Places disponibles", "horaire": "Horaires et rythme",
    "plus": "En savoir plus sur l'alternance", "accompagnement": "Aide pour trouver une entreprise",
    "lieu": "Lieu de la formation", "suivi": "Suivi de ma candidature", "debouche": "Débouchés", "autre": "Autre",
}
APPLICANT_TYPES = {"etudiant": "Je suis le candidat ou la candidate", "parent": "Je suis un parent"}
OPT_OUT_REASONS = {
    "non_recrutement": "Nous ne recrutons pas d'alternants",
    "trop_candidatures": "Nous recevons trop de candidatures",
    "metier_inadapte": "Les candidatures ne correspondent pas à nos métiers",
    "fermeture": "L'entreprise a fermé",
    "opposition": "Je m'oppose au traitement des données de l'entreprise",
    "autre": "Autre raison",
}
CV_MAX_BYTES = 3 * 1024 * 1024
CV_TYPES = {".pdf": b"%PDF-", ".docx": b"PK\x03\x04"}
_URL = re.compile(r"(https?://|www\.)", re.I)
_PHONE = re.compile(r"^(?:\+33|0033|0)[1-9]\d{8}$")


def _no_url(value: str) -> None:
    if _URL.search(value):
        raise ValidationError("Les adresses de sites web ne sont pas acceptées ici.")


def _phone(value: str) -> None:
    if not _PHONE.match(re.sub(r"[\s.\-()]", "", value)):
        raise ValidationError("Numéro de téléphone français à 10 chiffres, par exemple 06 12 34 56 78.")


def _strip(data: Any, many: tuple[str, ...] = ()) -> dict[str, Any]:
    """Form data as a dict: values trimmed, empty ones dropped, `many` fields as lists."""
    out: dict[str, Any] = {}
    getlist = data.getlist if isinstance(data, MultiDict) else (lambda k: [data[k]] if k in data else [])
    for key in data:
        values = [v.strip() for v in getlist(key) if isinstance(v, str) and v.strip()]
        if key in many:
            if values:
                out[key] = values
        elif values:
            out[key] = values[0]
    return out


class _FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # tracking parameters (utm_*, caller…) are not errors

    def load_form(self, data: Any) -> dict[str, Any]:
        """Load submitted form data; raises ValidationError with one list of messages per field."""
        return self.load(_strip(data, getattr(self, "MANY", ())))


def _text(max_length: int, required: bool = True, no_url: bool = False, **kwargs: Any) -> fields.String:
    checks = [validate.Length(max=max_length, error="Au plus {max} caractères.")] + ([_no_url] if no_url else [])
    return fields.String(required=required, error_messages={"required": REQUIRED}, validate=checks, **kwargs)


class SearchFormSchema(_FormSchema):
    """The search of the home page and the results filters; everything lives in the query string."""

    MANY = ("kinds",)
    metier = _text(200, required=False)
    romes = fields.String(load_default=None)
    lieu = _text(200, required=False)
    insee = fields.String(load_default=None, validate=validate.Regexp(r"^(\d{5}|2[AB]\d{3})$",
                                                                      error="Code INSEE inconnu."))
    latitude = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(-90, 90),
                            error_messages={"invalid": "Position invalide."})
    longitude = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(-180, 180),
                             error_messages={"invalid": "Position invalide."})
    radius = fields.Integer(load_default=30, validate=validate.OneOf(RADII, error="Choisissez un rayon de la liste."),
                            error_messages={"invalid": "Choisissez un rayon de la liste."})
    diploma = fields.Integer(load_default=None, validate=validate.OneOf(tuple(DIPLOMAS),
                                                                        error="Choisissez un niveau de la liste."),
                             error_messages={"invalid": "Choisissez un niveau de la liste."})
    contract = fields.String(load_default=None, validate=validate.OneOf(tuple(CONTRACTS),
                                                                        error="Choisissez un contrat de la liste."))
    kinds = fields.List(fields.String(validate=validate.OneOf(tuple(KINDS), error="Type de résultat inconnu.")),
                        load_default=lambda: list(KINDS))
    sort = fields.String(load_default="relevance", validate=validate.OneOf(tuple(SORTS), error="Tri inconnu."))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 500, error="Page inconnue."),
                          error_messages={"invalid": "Page inconnue."})
    # Widget only: who embeds it (the partner's name) and which results it shows.
    caller = _text(100, required=False)
    scope = fields.String(load_default=None, validate=validate.OneOf(("all", "training", "job"),
                                                                     error="Valeurs possibles : all, training, job."))

    @pre_load
    def _upper(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        for name in ("romes", "insee"):
            if name in data:
                data[name] = data[name].upper()
        return data

    @validates_schema(skip_on_field_errors=False)
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        romes = [c for c in (data.get("romes") or "").split(",") if c]
        if romes and (len(romes) > MAX_ROMES or not all(ROME_RE.match(c) for c in romes)):
            errors["metier"] = ["Choisissez un métier dans la liste proposée."]
        if not romes and not data.get("metier"):
            errors["metier"] = ["Indiquez un métier ou une formation, par exemple « boulanger »."]
        located = data.get("latitude") is not None and data.get("longitude") is not None
        if not located and not data.get("lieu") and not data.get("insee"):
            errors["lieu"] = ["Indiquez une ville ou un code postal, ou utilisez « Autour de moi »."]
        if errors:
            raise ValidationError(errors)


class _Person(_FormSchema):
    first_name = _text(50, no_url=True)
    last_name = _text(50, no_url=True)
    email = fields.Email(required=True, error_messages={"required": REQUIRED,
                                                        "invalid": "Adresse e-mail invalide, par exemple "
                                                                   "prenom.nom@exemple.fr."},
                         validate=validate.Length(max=254, error="Au plus {max} caractères."))
    phone = fields.String(required=True, error_messages={"required": REQUIRED}, validate=_phone)
    message = _text(3000, required=False, load_default="")


class ApplicationFormSchema(_Person):
    """An application to an offer or a spontaneous application to a company (the CV is checked apart)."""

    cv_token = fields.String(load_default=None)


class CallbackFormSchema(_Person):
    """A request to be called back by a training centre about one course."""

    MANY = ("reasons",)
    applicant_type = fields.String(required=True, error_messages={"required": "Indiquez qui fait la demande."},
                                   validate=validate.OneOf(tuple(APPLICANT_TYPES),
                                                           error="Indiquez qui fait la demande."))
    reasons = fields.List(fields.String(validate=validate.OneOf(tuple(CALLBACK_REASONS), error="Sujet inconnu.")),
                          required=True, error_messages={"required": "Choisissez au moins un sujet."})


class OptOutFormSchema(_FormSchema):
    """A company asking not to receive spontaneous applications any more."""

    siret = fields.String(required=True, error_messages={"required": REQUIRED},
                          validate=validate.Regexp(r"^\d{14}$", error="Le SIRET compte 14 chiffres, sans espace."))
    email = fields.Email(required=True, error_messages={"required": REQUIRED, "invalid": "Adresse e-mail invalide."})
    reason = fields.String(required=True, error_messages={"required": "Choisissez une raison."},
                           validate=validate.OneOf(tuple(OPT_OUT_REASONS), error="Choisissez une raison."))
    comment = _text(1000, required=False, load_default="")

    @pre_load
    def _compact(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "siret" in data:
            data["siret"] = re.sub(r"\s", "", data["siret"])
        return data


@dataclass(frozen=True)
class UploadedCv:
    """A CV that passed the checks: its file name and content."""

    filename: str
    content: bytes


def check_cv(storage: FileStorage | None) -> UploadedCv:
    """The uploaded CV, or ValidationError: PDF or Word (.docx) whose content matches the name, ≤ 3 MB."""
    if storage is None or not storage.filename:
        raise ValidationError("Joignez votre CV (PDF ou Word .docx, 3 Mo au plus).")
    name = storage.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if extension not in CV_TYPES:
        raise ValidationError("Le CV doit être un fichier PDF ou Word (.docx).")
    content = storage.stream.read(CV_MAX_BYTES + 1)
    if len(content) > CV_MAX_BYTES:
        raise ValidationError("Le CV dépasse 3 Mo : réduisez-le ou enregistrez-le en PDF.")
    if not content:
        raise ValidationError("Le fichier du CV est vide.")
    if not content.startswith(CV_TYPES[extension]):
        # The name says PDF or Word but the content is something else: refused, as the public service does.
        raise ValidationError("Le contenu du fichier ne correspond pas à un PDF ou un document Word.")
    return UploadedCv(name, content)
