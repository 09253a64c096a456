"""Items of the national catalogue of apprenticeship courses (2020 and 2022+ schemas) → formation documents."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from app.referentials import Referentials
from indexers import (
    ImportStats,
    Rejected,
    commune_of,
    first_of_each_key,
    guarded,
    iso_utc,
    parse_datetime,
    place_at,
    plausible,
    stream_items,
    text,
)
from mappings.common import Place
from mappings.formation import Formation, to_document

SOURCE = "catalogue"
COORDINATE_FIELDS = ("lieu_formation_geo_coordonnees", "idea_geo_coordonnees_etablissement",
                     "geo_coordonnees_etablissement_formateur")
KEY_FIELDS = ("cle_ministere_educatif", "id_rco_formation", "_id", "id")
CALLBACK_REFERRER = "LBA"
DAYS_PER_YEAR = 365

Warn = Callable[[str], None]
_NUMBER = r"\s*(-?\d+(?:\.\d+)?)\s*"
_COORDINATES = re.compile(f"^{_NUMBER},{_NUMBER}$")


def _ignore(_: str) -> None:
    """Default warning sink of the pure mapper."""


def parse_coordinates(value: Any) -> tuple[float, float] | None:
    """(lat, lon) from the catalogue's "lat,lon" text; None when absent or empty.

    Raises Rejected("bad coordinates") when text is there but is not two numbers in range.
    """
    raw = text(value)
    if not raw:
        return None
    match = _COORDINATES.match(raw)
    if not match:
        raise Rejected("bad coordinates", raw)
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        raise Rejected("bad coordinates", raw)
    return lat, lon


def rome_codes(item: dict[str, Any], refs: Referentials, warn: Warn = _ignore) -> list[str]:
    """The item's known ROME codes, in order, without repeats; Rejected when none is left."""
    raw = item.get("rome_codes")
    values = raw if isinstance(raw, list) else [raw] if isinstance(raw, str) else []
    codes: dict[str, None] = {}
    for value in values:
        code = text(value).upper()
        if code in refs.rome:
            codes[code] = None
        elif code:
            warn("unknown ROME code dropped")
    if not codes:
        raise Rejected("no known ROME code")
    return list(codes)


def locate(item: dict[str, Any], refs: Referentials, warn: Warn = _ignore) -> Place:
    """Where the course is taught: its coordinates, else the centre of its commune."""
    insee, postcode = text(item.get("code_commune_insee")), text(item.get("code_postal"))
    commune = commune_of(refs, insee, postcode)
    labels: dict[str, Any] = {
        "address": text(item.get("lieu_formation_adresse")) or text(item.get("etablissement_formateur_adresse")),
        "city": text(item.get("localite")) or text(item.get("etablissement_formateur_localite")),
        "postcode": postcode, "insee": insee, "department": text(item.get("num_departement")),
    }
    for name in COORDINATE_FIELDS:
        point = parse_coordinates(item.get(name))
        if point is None:
            continue
        if plausible(*point, commune):
            return place_at(*point, commune, **labels)
        # Swapped "lon,lat" is a known slip of catalogue feeds; take it when it fits the commune.
        if commune is not None and plausible(point[1], point[0], commune):
            warn("swapped coordinates")
            return place_at(point[1], point[0], commune, **labels)
        warn("coordinates far from commune")
        break
    else:
        if commune is not None:
            warn("located at commune centre")
    if commune is None:
        raise Rejected("no location")
    return place_at(commune.latitude, commune.longitude, commune, **labels)


def start_dates(item: dict[str, Any]) -> list[str]:
    """Session start dates as sorted unique YYYY-MM-DD strings."""
    for name in ("date_debut", "periode"):
        values = item.get(name)
        if isinstance(values, str) and values.startswith("["):
            try:  # the 2020 schema stored a JSON-encoded list in a string
                values = json.loads(values)
            except ValueError:
                values = []
        if isinstance(values, list):
            days = sorted({stamp[:10] for stamp in (iso_utc(v) for v in values) if stamp})
            if days:
                return days
    return []


def duration_days(item: dict[str, Any]) -> int | None:
    """Length of the first session (date_debut → date_fin), else `duree` (years) in days."""
    begins, ends = item.get("date_debut"), item.get("date_fin")
    if isinstance(begins, list) and isinstance(ends, list) and begins and ends:
        begin, end = parse_datetime(begins[0]), parse_datetime(ends[0])
        if begin and end and end > begin:
            return (end - begin).days
    years = text(item.get("duree"))
    if re.fullmatch(r"\d{1,2}", years) and int(years) > 0:
        return int(years) * DAYS_PER_YEAR
    return None


def item_key(item: dict[str, Any]) -> str:
    """The catalogue key of an item (clé ministère éducatif, else an older identifier)."""
    for name in KEY_FIELDS:
        value = text(item.get(name))
        if value:
            return value
    raise Rejected("missing key")


def map_formation(item: dict[str, Any], refs: Referentials, warn: Warn = _ignore) -> Formation:
    """One catalogue item as a Formation record; raises Rejected with the reason when it cannot be one.

    Fields read (real catalogue names unless marked *ours*):

    * key: `cle_ministere_educatif`, else `id_rco_formation`, `_id`, `id` (older items have no clé ME);
    * place: `lieu_formation_geo_coordonnees` "lat,lon", else `idea_geo_coordonnees_etablissement`,
      `geo_coordonnees_etablissement_formateur`; without any, the centre of `code_commune_insee` /
      `code_postal`; a coordinate text that does not parse is a rejection ("bad coordinates");
    * level: `niveau` ("3 (CAP...)" … "7 (Master, titre ingénieur...)", 2020: "4 (Bac...)");
    * ROME codes: `rome_codes`, each checked against the referential (unknown ones dropped);
    * start dates: `date_debut` (ISO dates), else `periode` when it holds ISO dates (the 2020 schema
      wrote month names there, which carry no year and are ignored);
    * duration: the first `date_debut`/`date_fin` session, else `duree` in years;
    * distance learning: `entierement_a_distance`;
    * callback eligibility (*ours*): `rdv_referrers`, the `referrers` list of La bonne alternance's
      "eligible trainings for appointments" carried on the item; eligible when it holds "LBA" and the
      item has a contact e-mail (`lieu_formation_email`, else `email`) to send the request to;
    * `published` / `catalogue_published` false: rejected ("unpublished").
    """
    key = item_key(item)
    if item.get("published") is False or item.get("catalogue_published") is False:
        raise Rejected("unpublished")
    title = text(item.get("intitule_long")) or text(item.get("intitule_court")) or text(item.get("nom"))
    if not title:
        raise Rejected("missing title")
    romes = rome_codes(item, refs, warn)
    place = locate(item, refs, warn)
    email = text(item.get("lieu_formation_email")) or text(item.get("email"))
    referrers = item.get("rdv_referrers")
    callback = bool(email) and isinstance(referrers, list) and CALLBACK_REFERRER in referrers
    return Formation(
        key=key,
        title=title,
        romes=romes,
        rome_index_codes=refs.rome.index_codes(romes),
        place=place,
        diploma_level=refs.diplomas.from_catalogue(text(item.get("niveau"))),
        diploma=text(item.get("diplome")),
        rncp_code=text(item.get("rncp_code")),
        rncp_label=text(item.get("rncp_intitule")),
        cfd=text(item.get("cfd")),
        centre_name=(text(item.get("etablissement_formateur_entreprise_raison_sociale"))
                     or text(item.get("etablissement_formateur_enseigne"))),
        centre_siret=text(item.get("etablissement_formateur_siret")),
        centre_uai=text(item.get("etablissement_formateur_uai")) or text(item.get("uai_formation")),
        manager_siret=text(item.get("etablissement_gestionnaire_siret")),
        start_dates=start_dates(item),
        duration_days=duration_days(item),
        distance_learning=item.get("entierement_a_distance") is True,
        callback_eligible=callback,
        onisep_url=text(item.get("onisep_url")),
        updated_at=iso_utc(item.get("last_update_at")) or iso_utc(item.get("created_at")),
        contact_email=email,
    )


def iter_documents(path: str | Path, refs: Referentials, stats: ImportStats) -> Iterator[dict[str, Any]]:
    """Formation documents of a JSON array of catalogue items, streamed; the first item of a key wins."""
    for record in first_of_each_key(stats, stream_items(path),
                                    lambda item: guarded(stats, map_formation, item, refs, stats.warn),
                                    key=lambda record: record.key, duplicate="duplicate key"):
        yield to_document(record)
