"""Our public match items in the shapes of the public service's `GET /v3/jobs/search` (JobOffer, Recruiter)."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from app.referentials.opco import Opcos
from app.services.items import EMAIL_MASK, EMAIL_RE, mask_emails  # noqa: F401 - re-exported
from app.services.public_urls import detail_page

#: Partner label of each of our offer sources, as the public service names them (la-bonne-alternance.md §1.7).
OFFER_PARTNER_LABELS = {"deposited": "offres_emploi_lba", "france_travail": "France Travail"}
#: Partner label of our predicted recruiters (companies).
RECRUITERS_LABEL = "recruteurs_lba"
#: The OPCO enum of their OpenAPI document: every `domain.opco` we output is one of these.
OPCO_LABELS = (
    "AFDAS",
    "AKTO / Opco entreprises et salariés des services à forte intensité de main d'oeuvre",
    "ATLAS",
    "Constructys",
    "L'Opcommerce",
    "OCAPIAT",
    "OPCO 2i",
    "Opco entreprises de proximité",
    "Opco Mobilités",
    "Opco Santé",
    "Uniformation, l'Opco de la Cohésion sociale",
    "inconnu",
    "OPCO multiple",
)
UNKNOWN_OPCO = "inconnu"
CONTRACT_LABELS = {"apprentissage": "Apprentissage", "professionnalisation": "Professionnalisation"}
OFFER_STATUSES = {"active": "Active", "filled": "Filled", "cancelled": "Cancelled"}
# Their warning codes for items dropped because they do not fit the read shape (same spelling as theirs).
JOB_FORMAT_WARNING = "JOB_OFFER_FORMATING_ERROR"
RECRUITER_FORMAT_WARNING = "RECRUITERS_FORMATING_ERROR"
MAX_IDS_IN_WARNING = 10  # a warning names a few dropped ids, enough to investigate, not a dump

_ROME_RE = re.compile(r"^[A-Z][0-9]{4}$")
_SIRET_RE = re.compile(r"^[0-9]{14}$")
_EMAIL_RE = EMAIL_RE
_HOST_RE = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}(?:[/?#]\S*)?$")


class NotRepresentable(ValueError):
    """An item cannot be written in their read shape (e.g. a title under 3 characters)."""


@dataclass(frozen=True)
class AdapterContext:
    """What the mapping needs besides the item: where our detail pages are, and label tables."""

    #: Root URL of the public site (LBA_PUBLIC_BASE_URL, never the request's Host); detail links are built on it.
    base_url: str
    #: Diploma level (3–7) → label shown with it.
    diploma_labels: Mapping[int, str] = field(default_factory=dict)
    #: Any spelling of an OPCO we may hold (code, usual name, their label), folded → their label.
    opco_labels: Mapping[str, str] = field(default_factory=dict)


def opco_spellings(opcos: Opcos) -> dict[str, str]:
    """Folded code, usual name and label of every OPCO of the referential → the label of their enum."""
    table = {_fold(label): label for label in OPCO_LABELS}
    for opco in opcos.opcos.values():
        if opco.label in OPCO_LABELS:
            for spelling in (opco.code, opco.name, opco.label):
                table[_fold(spelling)] = opco.label
    return table


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def partner_label(item: Mapping[str, Any]) -> str:
    """Their partner label of one of our items (offers by source, companies are all `recruteurs_lba`)."""
    if item.get("kind") == "company":
        return RECRUITERS_LABEL
    source = str(item.get("source") or "")
    # An unknown future source keeps its own name rather than being passed off as one of theirs.
    return OFFER_PARTNER_LABELS.get(source, source or "inconnu")


def opco_label(value: str | None, ctx: AdapterContext) -> str:
    """Their OPCO label for what our document holds; "inconnu" when we hold nothing or an unknown spelling.

    Their schema types the field as nullable but its enum has no null: "inconnu", their own value
    for an OPCO nobody could determine, is the one answer that both says so and validates.
    """
    if not value:
        return UNKNOWN_OPCO
    return ctx.opco_labels.get(_fold(value)) or (value if value in OPCO_LABELS else UNKNOWN_OPCO)


def department_matches(item: Mapping[str, Any], departements: Iterable[str]) -> bool:
    """Whether the item's place is in one of `departements` (department code, else postal-code prefix).

    The public service matches departments as zip-code prefixes; the explicit department field
    is checked too so that Corsica ("2A", "2B", postcodes 20xxx) can be asked either way.
    """
    place = item.get("place") or {}
    department = str(place.get("department") or "").upper()
    postcode = str(place.get("postcode") or "")
    return any(code == department or (postcode and postcode.startswith(code)) for code in departements)


def date_time(value: Any) -> str | None:
    """An ISO date or date-time as RFC 3339 UTC with milliseconds (their JSON dates); None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    # Bare dates and naive date-times are UTC in our documents (indexers' convention).
    parsed = parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"


def _http_url(value: Any) -> str | None:
    """An absolute http(s) URL, or None: mailto: links and URLs carrying an e-mail address are not given out."""
    text = str(value or "").strip()
    if not re.match(r"^https?://[^\s/@]+(?:[/?#]\S*)?$", text, re.IGNORECASE) or _EMAIL_RE.search(text):
        return None
    return text


def website_url(value: Any) -> str | None:
    """A company website as an absolute URL; a bare host ("www.example.fr") gets http:// as a browser would."""
    text = str(value or "").strip()
    if _http_url(text):
        return text
    return f"http://{text}" if _HOST_RE.match(text) and "@" not in text else None


def detail_url(item: Mapping[str, Any], ctx: AdapterContext) -> str:
    """The public site's page of an item, where a candidate applies (theirs is their own detail page)."""
    return detail_page(ctx.base_url, "company" if item.get("kind") == "company" else "offer", str(item["id"]))


def _text_or_none(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def location(item: Mapping[str, Any]) -> dict[str, Any]:
    """`workplace.location`: a readable address and a GeoJSON point (longitude first)."""
    place = item.get("place") or {}
    address = str(place.get("address") or "").strip()
    town = " ".join(p for p in (str(place.get("postcode") or ""), str(place.get("city") or "")) if p)
    # France Travail addresses are often already "69 - LYON 03": only add the town when it is missing.
    if town and _fold(str(place.get("city") or "")) not in _fold(address):
        address = f"{address}, {town}" if address else town
    return {
        "address": mask_emails(address),
        "geopoint": {"type": "Point", "coordinates": [place["longitude"], place["latitude"]]},
    }


def workplace(item: Mapping[str, Any], ctx: AdapterContext) -> dict[str, Any]:
    """`workplace` of both shapes; nulls where our documents hold nothing (brand, description, IDCC)."""
    organisation = item.get("organisation") or {}
    siret = str(organisation.get("siret") or "")
    naf_code = _text_or_none(organisation.get("naf"))
    return {
        "siret": siret if _SIRET_RE.match(siret) else None,
        "brand": None,
        # Public items carry one name only; their legal_name is the registry name, which we do not expose.
        "legal_name": None,
        "website": website_url(organisation.get("website")),
        "name": _text_or_none(organisation.get("name")),
        "description": None,
        "size": _text_or_none(organisation.get("size")),
        "location": location(item),
        "domain": {
            "idcc": None,
            "opco": opco_label(organisation.get("opco"), ctx),
            "naf": {"code": naf_code, "label": _text_or_none(organisation.get("naf_label"))} if naf_code else None,
        },
    }


def target_diploma(level: Any, ctx: AdapterContext) -> dict[str, str] | None:
    """`offer.target_diploma` for a level 3–7, else None (no level, or one outside their enum)."""
    if not isinstance(level, int) or not 3 <= level <= 7:
        return None
    return {"european": str(level), "label": ctx.diploma_labels.get(level, f"Niveau {level}")}


def job_offer(item: Mapping[str, Any], ctx: AdapterContext) -> dict[str, Any]:
    """One of our offer items as their v3 JobOffer read shape; raises NotRepresentable when it cannot fit."""
    title = str(item.get("title") or "").strip()
    if len(title) < 3:
        raise NotRepresentable(f"title too short: {title!r}")
    status = OFFER_STATUSES.get(str(item.get("status") or "active"))
    if status is None:
        raise NotRepresentable(f"status {item.get('status')!r}")
    source = str(item.get("source") or "")
    offer_id = str(item["id"])
    apply = item.get("apply") or {}
    duration = item.get("duration_months")
    return {
        "identifier": {
            "id": offer_id,
            "partner_label": partner_label(item),
            # Our id is "<source>-<source id>": the partner's own id is what follows the prefix.
            "partner_job_id": offer_id.removeprefix(f"{source}-") if source else offer_id,
        },
        "workplace": workplace(item, ctx),
        "apply": {
            "url": _http_url(apply.get("url")) or detail_url(item, ctx),
            # An offer's phone is public in our documents (the recruiter published it with the offer).
            "phone": _text_or_none(apply.get("phone")),
            # Applying through us (recipient_id) comes with the application flow, a later issue.
            "recipient_id": None,
        },
        "contract": {
            "start": date_time(item.get("start_date")),
            "duration": duration if isinstance(duration, int) and duration >= 0 else None,
            "type": [CONTRACT_LABELS[c] for c in item.get("contract_types") or [] if c in CONTRACT_LABELS],
            # Unknown to us. Their schema types it nullable but its enum omits null (a generator artefact);
            # their own deposited offers have no such field either (la-bonne-alternance.md §5.2),
            # and inventing "onsite" would mislead.
            "remote": None,
        },
        "offer": {
            "title": mask_emails(title),
            "rome_codes": [code for code in item.get("romes") or [] if _ROME_RE.match(code)],
            "description": mask_emails(str(item.get("description") or "")),
            "target_diploma": target_diploma(item.get("diploma_level"), ctx),
            "desired_skills": [],
            "to_be_acquired_skills": [],
            "access_conditions": [],
            "publication": {"creation": date_time(item.get("published_at")),
                            "expiration": date_time(item.get("expires_at"))},
            "opening_count": item.get("positions") or 1,
            "status": status,
        },
        # We hold no offer managed by a CFA on a company's behalf.
        "is_delegated": False,
    }


def recruiter(item: Mapping[str, Any], ctx: AdapterContext) -> dict[str, Any]:
    """One of our company items as their Recruiter read shape."""
    return {
        "identifier": {"id": str(item["id"])},
        "workplace": workplace(item, ctx),
        "apply": {
            "url": detail_url(item, ctx),
            # Only `contact.has_phone` is public: a company's phone and e-mail are released through
            # the application flow, never by the search API, so that they are not harvested.
            "phone": None,
            # Applying through us (recipient_id) comes with the application flow, a later issue.
            "recipient_id": None,
        },
    }


@dataclass(frozen=True)
class Filters:
    """The v3 filters: sent to the engine with the query (`engine_params`), checked again on each item."""

    partners_to_exclude: frozenset[str] = frozenset()
    departements: tuple[str, ...] = ()
    opco: str | None = None

    def keep(self, item: Mapping[str, Any], ctx: AdapterContext) -> bool:
        """Whether an item passes every filter."""
        if partner_label(item) in self.partners_to_exclude:
            return False
        if self.departements and not department_matches(item, self.departements):
            return False
        if self.opco is not None:
            # "inconnu" asks for the items whose OPCO we do not know, as opco_label writes them.
            if opco_label((item.get("organisation") or {}).get("opco"), ctx) != self.opco:
                return False
        return True

    def engine_params(self, ctx: AdapterContext) -> dict[str, Any]:
        """These filters as match parameters the engine applies before paging, so results are complete."""
        params: dict[str, Any] = {}
        if self.departements:
            params["departments"] = list(self.departements)
        if self.opco == UNKNOWN_OPCO:
            # "inconnu": every document whose OPCO is none of the spellings we can name.
            params["exclude_opcos"] = sorted(s for s, label in ctx.opco_labels.items() if label != UNKNOWN_OPCO)
        elif self.opco is not None:
            params["opcos"] = sorted(s for s, label in ctx.opco_labels.items() if label == self.opco) or [self.opco]
        if self.partners_to_exclude:
            # A source is excluded under its partner label, and an unknown one under its own name.
            sources = {source for source, label in OFFER_PARTNER_LABELS.items() if label in self.partners_to_exclude}
            params["exclude_sources"] = sorted(sources | set(self.partners_to_exclude))
        return params


def format_warning(code: str, dropped: list[str]) -> list[dict[str, str]]:
    """The one warning listing the items dropped because they do not fit the read shape, if any."""
    if not dropped:
        return []
    shown = ", ".join(dropped[:MAX_IDS_IN_WARNING]) + (" …" if len(dropped) > MAX_IDS_IN_WARNING else "")
    return [{"code": code, "message": f"{len(dropped)} résultat(s) écarté(s) car incomplet(s) : {shown}."}]


# --- Search: our match service, paged, filtered and mapped ----------------------------------------

MAX_JOBS = 150
MAX_RECRUITERS = 150
PAGE_SIZE = 100
#: At most this many pages of PAGE_SIZE per kind: enough for 150 results after the filters we apply
#: on returned items (partners, departments, OPCO), and a hard bound on the work of one request.
MAX_PAGES = 3


Mapper = Callable[[Mapping[str, Any], AdapterContext], dict[str, Any]]


@dataclass
class Collected:
    """One kind's mapped results, the ids dropped as not representable and the service's warnings."""

    results: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)


def collect(match: Callable[[dict[str, Any]], dict[str, Any]], params: dict[str, Any], kind: str,
            keep: Callable[[Mapping[str, Any]], bool], mapper: Mapper, ctx: AdapterContext, limit: int) -> Collected:
    """Up to `limit` items of one kind kept by `keep`, mapped, in our relevance order.

    Items that do not fit their shape are dropped, as the public service does, and the next ones
    take their places: that is why mapping happens here, while paging, and not afterwards.
    """
    out = Collected()
    seen: set[str] = set()
    for page in range(1, MAX_PAGES + 1):
        answer = match({**params, "kinds": [kind], "page": page, "page_size": PAGE_SIZE, "sort": "relevance"})
        out.warnings.extend(w for w in answer.get("warnings", []) if w not in out.warnings)
        for item in answer["items"]:
            if item["id"] in seen or not keep(item):
                continue
            seen.add(item["id"])
            try:
                out.results.append(mapper(item, ctx))
            except NotRepresentable:
                out.dropped.append(str(item["id"]))
                continue
            if len(out.results) == limit:
                return out
        if page >= answer.get("pages", 0):
            break
    return out


def search(match: Callable[[dict[str, Any]], dict[str, Any]], params: dict[str, Any], filters: Filters,
           ctx: AdapterContext, extra_warnings: Iterable[dict[str, str]] = ()) -> dict[str, Any]:
    """Their `{jobs, recruiters, warnings}` for match `params` (romes, place, radius, diploma)."""
    warnings = list(extra_warnings)
    params = {**params, **filters.engine_params(ctx)}

    def keep_offer(item: Mapping[str, Any]) -> bool:
        # Their search returns active offers only; ours may still list a filled or cancelled one.
        return item.get("status", "active") == "active" and filters.keep(item, ctx)

    def keep_company(item: Mapping[str, Any]) -> bool:
        return filters.keep(item, ctx)

    answer: dict[str, Any] = {"jobs": [], "recruiters": []}
    # A kind whose every partner label is excluded is not searched at all.
    if not set(OFFER_PARTNER_LABELS.values()) <= filters.partners_to_exclude:
        offers = collect(match, params, "offer", keep_offer, job_offer, ctx, MAX_JOBS)
        answer["jobs"] = offers.results
        warnings.extend(w for w in offers.warnings + format_warning(JOB_FORMAT_WARNING, offers.dropped)
                        if w not in warnings)
    if RECRUITERS_LABEL not in filters.partners_to_exclude:
        companies = collect(match, params, "company", keep_company, recruiter, ctx, MAX_RECRUITERS)
        answer["recruiters"] = companies.results
        warnings.extend(w for w in companies.warnings + format_warning(RECRUITER_FORMAT_WARNING, companies.dropped)
                        if w not in warnings)
    answer["warnings"] = warnings
    return answer
