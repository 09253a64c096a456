"""France Travail "offres d'emploi v2" search results → offer documents."""
from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.referentials import Diplomas, Referentials
from indexers import (
    ImportStats,
    Rejected,
    as_float,
    commune_of,
    guarded,
    iso_utc,
    obj,
    parse_datetime,
    place_at,
    plausible,
    stream_items,
    text,
)
from mappings.common import Place
from mappings.offer import Offer, to_document

SOURCE = "france_travail"
#: Where the offers array sits in an `/offres/search` response.
ITEMS_PREFIX = "resultats.item"
#: France Travail offers carry no end date; the public service keeps them 2 months after creation.
LIFETIME_MONTHS = 2

_DURATION = re.compile(r"(\d+)\s*mois", re.IGNORECASE)
# lieuTravail.libelle is "57 - METZ" for a town or "75 - Paris (Dept.)"/"57 - Moselle" for a department.
_LIBELLE = re.compile(r"^\s*(\d{2,3}|2[AB])\s*-\s*(.+?)\s*$")

Warn = Callable[[str], None]


def _ignore(_: str) -> None:
    """Default warning sink of the pure mapper."""


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole months, the day clamped to the target month's length (31 Dec + 2 → 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def contract_type(item: dict[str, Any]) -> str:
    """`apprentissage` or `professionnalisation` from natureContrat (codes E2 / FS or their labels)."""
    nature = text(item.get("natureContrat")).lower()
    if "profession" in nature or nature == "fs":
        return "professionnalisation"
    if "apprenti" in nature or nature == "e2":
        return "apprentissage"
    # The importer asks the API for E2,FS only, so any other alternance offer is treated as
    # apprenticeship, like the public service does; a non-alternance contract has no place here.
    if item.get("alternance") is True and not nature:
        return "apprentissage"
    raise Rejected("not a work-study contract", nature)


def duration_months(label: str) -> int | None:
    """Months of a fixed-term contract from typeContratLibelle ("Contrat à durée déterminée - 12 Mois")."""
    match = _DURATION.search(label or "")
    if not match:
        return None
    months = int(match.group(1))
    return months if 0 < months <= 120 else None


@lru_cache(maxsize=1024)
def _level_of_label(diplomas: Diplomas, label: str) -> int | None:
    # A handful of distinct labels over 100k offers: fold each once.
    return diplomas.from_france_travail(label)


def diploma_level(item: dict[str, Any], refs: Referentials) -> int | None:
    """Level (3–7) of the first required education that has one ("Bac+2 ou équivalents" → 5)."""
    for formation in item.get("formations") or []:
        if isinstance(formation, dict):
            level = _level_of_label(refs.diplomas, text(formation.get("niveauLibelle")))
            if level is not None:
                return level
    return None


def apply_url(item: dict[str, Any]) -> str:
    """contact.urlPostulation, else the first partner's URL, else the offer's page at France Travail."""
    contact, origin = obj(item.get("contact")), obj(item.get("origineOffre"))
    listed = origin.get("partenaires")
    partners = [p for p in listed if isinstance(p, dict) and text(p.get("url"))] if isinstance(listed, list) else []
    return (text(contact.get("urlPostulation")) or (text(partners[0].get("url")) if partners else "")
            or text(origin.get("urlOrigine")))


def locate(item: dict[str, Any], refs: Referentials, warn: Warn = _ignore) -> Place:
    """The workplace: lieuTravail's point, else the centre of its commune (INSEE code, then postal code).

    Raises Rejected("no location") when neither a usable point nor a known commune is given.
    """
    lieu = obj(item.get("lieuTravail"))
    insee, postcode, libelle = text(lieu.get("commune")), text(lieu.get("codePostal")), text(lieu.get("libelle"))
    commune = commune_of(refs, insee, postcode)
    match = _LIBELLE.match(libelle)
    if commune is None and match:
        # Only a label such as "57 - MOULINS LES METZ": accept the town if its name is in that department.
        named = refs.communes.find(match.group(2))
        if named is not None and named.department == match.group(1):
            commune = named
    city = match.group(2).title() if match else libelle
    lat, lon = as_float(lieu.get("latitude")), as_float(lieu.get("longitude"))
    if lat is not None and lon is not None and plausible(lat, lon, commune):
        return place_at(lat, lon, commune, address=libelle, city=city, postcode=postcode, insee=insee)
    if commune is None:
        raise Rejected("no location", libelle)
    warn("coordinates far from commune" if lat is not None and lon is not None else "located at commune centre")
    return place_at(commune.latitude, commune.longitude, commune, address=libelle, postcode=postcode, insee=insee)


def map_offer(item: dict[str, Any], refs: Referentials, warn: Warn = _ignore) -> Offer:
    """One France Travail offer as an Offer record; raises Rejected with the reason when it cannot be one."""
    offer_id = text(item.get("id"))
    if not offer_id:
        raise Rejected("missing id")
    rome_code = text(item.get("romeCode")).upper()
    if rome_code not in refs.rome:
        raise Rejected("unknown ROME code", rome_code)
    created = parse_datetime(item.get("dateCreation"))
    if created is None:
        raise Rejected("bad dateCreation", text(item.get("dateCreation")))
    contract = contract_type(item)
    place = locate(item, refs, warn)
    title = text(item.get("intitule")) or text(item.get("appellationlibelle")) or text(item.get("romeLibelle"))
    if not title:
        raise Rejected("missing title")
    expires = iso_utc(item.get("dateExpiration")) or iso_utc(add_months(created, LIFETIME_MONTHS).isoformat())
    company, contact = obj(item.get("entreprise")), obj(item.get("contact"))
    naf = text(item.get("codeNAF")).replace(".", "").upper()
    siret = re.sub(r"\s", "", text(company.get("siret")))
    try:
        positions = max(1, int(item.get("nombrePostes") or 1))
    except (TypeError, ValueError):
        positions = 1
    return Offer(
        source=SOURCE,
        source_id=offer_id,
        title=title,
        romes=[rome_code],
        rome_index_codes=refs.rome.index_codes([rome_code]),
        place=place,
        published_at=iso_utc(created.isoformat()) or "",
        expires_at=expires or "",
        contract_types=[contract],
        appellation=text(item.get("appellationlibelle")),
        description=text(item.get("description")),
        diploma_level=diploma_level(item, refs),
        duration_months=duration_months(text(item.get("typeContratLibelle"))),
        positions=positions,
        company_name=text(company.get("nom")),
        company_siret=siret if re.fullmatch(r"\d{14}", siret) else "",
        company_naf=naf,
        company_naf_label=text(item.get("secteurActiviteLibelle")) or (refs.naf.label(naf) if naf else ""),
        company_size=text(item.get("trancheEffectifEtab")),
        apply_url=apply_url(item),
        apply_phone=text(contact.get("telephone")),
        apply_email=text(contact.get("courriel")),
    )


def iter_documents(path: str | Path, refs: Referentials, stats: ImportStats) -> Iterator[dict[str, Any]]:
    """Offer documents of an `/offres/search` response file, streamed; rejections are counted in `stats`."""
    for item in stream_items(path, ITEMS_PREFIX):
        stats.read += 1
        record = guarded(stats, map_offer, item, refs, stats.warn)
        if record is not None:
            stats.indexed += 1
            yield to_document(record)
