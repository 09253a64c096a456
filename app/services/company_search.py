"""Client of the public company-search API (recherche-entreprises): timeouts, retries, a shared cache, French outcomes.

One establishment is looked up by SIRET (`GET {url}/search?q=<siret>`); the answer is reduced to a
normalised record (`Company`). The API's own verdicts (found, unknown, non-diffusible) are cached
in the store table `company_lookups`, shared by every process, for `company_search_cache_days`;
errors and timeouts are never cached, so the next try asks again. Retries (urllib3's Retry through
requests) back off on 429, 5xx and connection errors, and honour Retry-After.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import timedelta, timezone
from typing import Any

import requests
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.clock import Clock
from app.config import Settings
from app.http_client import policy, retrying_session
from app.store import company_lookups, write_tx

log = logging.getLogger(__name__)

#: INSEE's headcount bands (tranche_effectif_salarie) as shown to recruiters.
SIZE_LABELS = {
    "NN": "Non employeuse", "00": "0 salarié", "01": "1 ou 2 salariés", "02": "3 à 5 salariés",
    "03": "6 à 9 salariés", "11": "10 à 19 salariés", "12": "20 à 49 salariés", "21": "50 à 99 salariés",
    "22": "100 à 199 salariés", "31": "200 à 249 salariés", "32": "250 à 499 salariés",
    "41": "500 à 999 salariés", "42": "1 000 à 1 999 salariés", "51": "2 000 à 4 999 salariés",
    "52": "5 000 à 9 999 salariés", "53": "10 000 salariés et plus",
}
#: NAF division of education (section P): such establishments sign up as CFAs, not as companies.
EDUCATION_DIVISION = "85"
_NOT_DIFFUSIBLE = ("P", "N")


class CompanySearchError(Exception):
    """An outcome that stops an account from being created, with a stable code and a French message."""

    code = "company_search_error"
    message = "La recherche de l'entreprise a échoué."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class CompanyUnknown(CompanySearchError):
    code = "unknown"
    message = ("Aucun établissement ne correspond à ce numéro SIRET dans la base Sirene : "
               "vérifiez le numéro (14 chiffres, sur un bulletin de salaire ou un extrait Kbis).")


class CompanyNotDiffusible(CompanySearchError):
    code = "non_diffusible"
    message = ("Les informations de cet établissement ne sont pas diffusables (statut de diffusion partielle "
               "de l'INSEE) : nous ne pouvons pas créer le compte automatiquement. Écrivez-nous pour le créer.")


class CompanyMalformed(CompanySearchError):
    code = "malformed"
    message = ("Le service de recherche d'entreprises a renvoyé une réponse illisible : "
               "réessayez dans quelques minutes.")


class CompanySearchUnavailable(CompanySearchError):
    code = "unavailable"
    message = ("Le service de recherche d'entreprises ne répond pas pour le moment : "
               "réessayez dans quelques minutes.")


class CompanyClosed(CompanySearchError):
    code = "closed"
    message = ("Cet établissement est fermé selon la base Sirene : un compte ne peut être créé "
               "que pour un établissement en activité.")


class EducationSector(CompanySearchError):
    code = "education_sector"
    message = ("Cet établissement relève de l'enseignement (code NAF 85) : un établissement de formation "
               "doit créer un compte CFA.")


@dataclass(frozen=True)
class Company:
    """One establishment, normalised from the API's answer."""

    siret: str
    siren: str
    name: str
    address: str = ""
    postcode: str = ""
    city: str = ""
    insee: str = ""
    latitude: float | None = None
    longitude: float | None = None
    naf: str = ""          # as the API writes it, e.g. "62.01Z"
    naf_label: str = ""
    size: str = ""
    opco: str = ""
    active: bool = True    # etat_administratif of the establishment is A (not F)

    @property
    def is_education(self) -> bool:
        """Whether the establishment's activity is in NAF division 85 (education)."""
        return self.naf.replace(".", "")[:2] == EDUCATION_DIVISION

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON (the cached payload)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Company":
        """The record back from its JSON."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if -180.0 <= number <= 180.0 else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


class CompanySearch:
    """Looks establishments up by SIRET; `refs` (the referentials, or a callable returning the current ones,
    so a reloaded version is used at once) gives NAF labels and IDCC → OPCO."""

    def __init__(self, base_url: str, timeout_s: float, cache_days: int, store: Engine, clock: Clock,
                 refs: Any = None, retries: int = 3, backoff_s: float = 0.5) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.cache_for = timedelta(days=cache_days)
        self.store = store
        self.clock = clock
        self.refs = refs
        self.session = retrying_session(policy(retries, backoff_s),
                                        user_agent="la-bonne-alternance (recruiter accounts)")

    # -- the one public entry --------------------------------------------------------------------------------
    def lookup(self, siret: str) -> Company:
        """The establishment `siret` (already checked by app.services.siret), or a CompanySearchError.

        Raises CompanyUnknown, CompanyNotDiffusible, CompanyMalformed or CompanySearchUnavailable;
        closed and education-sector establishments are returned (see `eligible`).
        """
        cached = self._cached(siret)
        if cached is not None:
            return self._outcome(*cached)
        outcome, company = self._ask(siret)
        self._remember(siret, outcome, company)
        return self._outcome(outcome, company)

    @staticmethod
    def _outcome(outcome: str, company: Company | None) -> Company:
        if outcome == "unknown":
            raise CompanyUnknown()
        if outcome == "non_diffusible":
            raise CompanyNotDiffusible()
        assert company is not None
        return company

    # -- the cache -------------------------------------------------------------------------------------------
    def _cached(self, siret: str) -> tuple[str, Company | None] | None:
        with self.store.connect() as conn:
            row = conn.execute(sa.select(company_lookups).where(company_lookups.c.siret == siret)).mappings().first()
        if row is None:
            return None
        fetched = row["fetched_at"]
        if fetched.tzinfo is None:  # SQLite gives back naive UTC datetimes
            fetched = fetched.replace(tzinfo=timezone.utc)
        if self.clock.now() - fetched > self.cache_for:
            return None
        company = Company.from_dict(row["payload"]) if row["outcome"] == "found" and row["payload"] else None
        if row["outcome"] == "found" and company is None:
            return None
        return row["outcome"], company

    def _remember(self, siret: str, outcome: str, company: Company | None) -> None:
        values = dict(outcome=outcome, payload=company.as_dict() if company else None, fetched_at=self.clock.now())
        try:
            with write_tx(self.store) as conn:
                done = conn.execute(sa.update(company_lookups).where(company_lookups.c.siret == siret)
                                    .values(**values)).rowcount
                if not done:
                    conn.execute(sa.insert(company_lookups).values(siret=siret, **values))
        except sa.exc.IntegrityError:
            pass  # another process cached the same SIRET at the same moment: its answer is as good

    # -- the API ---------------------------------------------------------------------------------------------
    def _ask(self, siret: str) -> tuple[str, Company | None]:
        try:
            response = self.session.get(f"{self.base_url}/search", params={"q": siret, "page": "1", "per_page": "5"},
                                        timeout=self.timeout_s)
        except requests.RequestException as exc:  # timeouts and connection errors, after the retries
            log.warning("company search: %s for one SIRET", type(exc).__name__)
            raise CompanySearchUnavailable() from None
        if response.status_code == 429 or response.status_code >= 500:
            log.warning("company search: HTTP %s after retries", response.status_code)
            raise CompanySearchUnavailable()
        if response.status_code == 404:
            return "unknown", None
        if response.status_code != 200:
            log.warning("company search: unexpected HTTP %s", response.status_code)
            raise CompanyMalformed()
        try:
            body = response.json()
        except ValueError:
            raise CompanyMalformed() from None
        return self._read(siret, body)

    def _read(self, siret: str, body: Any) -> tuple[str, Company | None]:
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise CompanyMalformed()
        for unit in body["results"]:
            if not isinstance(unit, dict):
                raise CompanyMalformed()
            if _text(unit.get("siren")) != siret[:9]:
                continue
            places = [p for p in [*(unit.get("matching_etablissements") or []), unit.get("siege") or {}]
                      if isinstance(p, dict)]
            place = next((p for p in places if _text(p.get("siret")) == siret), None)
            if place is None:
                continue
            if unit.get("statut_diffusion") in _NOT_DIFFUSIBLE \
                    or place.get("statut_diffusion_etablissement") in _NOT_DIFFUSIBLE \
                    or "NON-DIFFUSIBLE" in _text(unit.get("nom_complet")).upper():
                return "non_diffusible", None
            return "found", self._company(siret, unit, place)
        return "unknown", None

    def _company(self, siret: str, unit: dict[str, Any], place: dict[str, Any]) -> Company:
        name = _text(unit.get("nom_complet")) or _text(unit.get("nom_raison_sociale"))
        if not name:
            raise CompanyMalformed()
        naf = _text(place.get("activite_principale")) or _text(unit.get("activite_principale"))
        size = _text(place.get("tranche_effectif_salarie")) or _text(unit.get("tranche_effectif_salarie"))
        idccs = place.get("liste_idcc") or (unit.get("complements") or {}).get("liste_idcc") or []
        return Company(
            siret=siret, siren=siret[:9], name=name, address=_text(place.get("adresse")),
            postcode=_text(place.get("code_postal")), city=_text(place.get("libelle_commune")),
            insee=_text(place.get("commune")), latitude=_float(place.get("latitude")),
            longitude=_float(place.get("longitude")), naf=naf, naf_label=self._naf_label(naf),
            size=SIZE_LABELS.get(size, ""), opco=self._opco(idccs),
            active=_text(place.get("etat_administratif")) != "F")

    def _referentials(self) -> Any:
        return self.refs() if callable(self.refs) else self.refs

    def _naf_label(self, naf: str) -> str:
        naf_ref = getattr(self._referentials(), "naf", None)
        return naf_ref.label(naf) if naf_ref is not None and naf else ""

    def _opco(self, idccs: Any) -> str:
        opcos = getattr(self._referentials(), "opcos", None)
        if opcos is None or not isinstance(idccs, list):
            return ""
        for idcc in idccs:
            found = opcos.for_idcc(str(idcc)) if idcc else None
            if found is not None:
                return found.name
        return ""


def eligible(company: Company, allow_education: bool = False) -> Company:
    """`company` if an account may be opened for it: CompanyClosed when closed, EducationSector when NAF 85."""
    if not company.active:
        raise CompanyClosed()
    if company.is_education and not allow_education:
        raise EducationSector()
    return company


def client_from_settings(settings: Settings, store: Engine, clock: Clock, refs: Any = None) -> CompanySearch:
    """The client the app uses, built from LBA_COMPANY_SEARCH_URL / _TIMEOUT_S / _CACHE_DAYS."""
    return CompanySearch(settings.company_search_url, settings.company_search_timeout_s,
                         settings.company_search_cache_days, store, clock, refs)
