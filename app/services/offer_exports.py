"""Multi-diffusion: the daily files of active multicast offers, the v3 JSON feed and France Travail's partner feed.

Files written to Settings.export_dir, each atomically (temporary file in the same folder, then rename),
so a failed run leaves the previous files serving:

- ``offres_v3.json``: JSON array of every live (active, unexpired) multicast deposited offer, partner
  offers included, in the v3 JobOffer read shape of the public document (GET /v3/jobs/{id} 200);
  ``GET /api/v3/jobs/export`` answers ``{url, lastUpdate}`` pointing to it, as the public service
  answers with a URL to its S3 file (their schema of that operation has only url and lastUpdate).
- ``offres_v3.schema.json``: the feed's JSON Schema, ``{"type": "array", "items": <that read shape>}``
  (nullable enums accepting null: partner_job_schema.with_nullable_enums).
- ``offres_france_travail.csv``: France Travail's partner-feed layout ("|"-separated, one header
  line, one record per offer and contract nature). Layout source: la-bonne-alternance.md §5.3 and
  the field names of the public service's own FT export (mission-apprentissage/labonnealternance,
  `formatToPe`): see FT_COLUMNS. Fields we hold no data for are left empty, as theirs are null.
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.referentials import Referentials
from app.services.deposited_offers import utc
from app.services.partner_job_mapping import read_shape
from app.services.partner_job_schema import load_contract, with_nullable_enums
from app.services.public_urls import detail_page
from app.services.v3_adapter import AdapterContext
from app.store import api_keys, deposited_offers

FEED = "offres_v3.json"
FEED_SCHEMA = "offres_v3.schema.json"
FT_FILE = "offres_france_travail.csv"
PAGE = 1000

FT_PARTNER = "LABONNEALTERNANCE"
FT_PREFIX = "Offre collectée par La bonne alternance."
#: The legal salary mention: apprentices and professionalisation contracts are paid a legal share of the SMIC.
SALARY_MENTION = ("Rémunération : selon la réglementation en vigueur (pourcentage du SMIC fixé selon l'âge "
                  "et l'année d'exécution du contrat d'apprentissage ou de professionnalisation).")
#: Diploma level (European framework) → France Travail qualification (§5.3).
QUALIFICATIONS = {3: ("6", "Employé qualifié"), 4: ("6", "Employé qualifié"), 5: ("7", "Technicien"),
                  6: ("8", "Agent de maîtrise"), 7: ("9", "Cadre")}
#: Contract nature codes: E2 apprenticeship, FS professionalisation.
NATURES = {"apprentissage": "E2", "professionnalisation": "FS"}
WEEKLY_HOURS = 35
#: Offers France Travail supports are published there for 30 days at most (§5.3).
FT_PUBLICATION = timedelta(days=30)
FT_COLUMNS = (
    "Par_ref_offre", "Par_cle", "Par_nom", "Par_URL_offre", "Code_rome", "Code_OGR", "Libelle_metier_OGR",
    "Description", "Exp_cle", "Qua_cle", "Qua_libelle", "SCN_cle", "SCN_libelle", "Off_travail_hebdo_nb_hh",
    "NTC_cle", "TCO_cle", "Off_contrat_duree_MO", "COM_cle", "DEP_cle", "Coordonnee_geo_loc_1",
    "Coordonnee_geo_loc_2", "Off_date_creation", "Off_date_modification", "Off_date_fin_publication",
    "OST_poste_restant_nb", "Off_client_final_siret", "Off_etab_enseigne", "Type_mouvement", "Date_debut_contrat",
    "Mode_diffusion",
)


def _live_multicast(store: Engine, now: datetime) -> Iterator[dict[str, Any]]:
    """Live multicast rows with their partner's name, in id order, PAGE at a time."""
    last = 0
    while True:
        query = (sa.select(deposited_offers, api_keys.c.name.label("partner_name"))
                 .select_from(deposited_offers.outerjoin(api_keys, api_keys.c.id == deposited_offers.c.partner_id))
                 .where(deposited_offers.c.id > last, deposited_offers.c.status == "active",
                        deposited_offers.c.expires_at > now, deposited_offers.c.multicast.is_(True))
                 .order_by(deposited_offers.c.id).limit(PAGE))
        with store.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        yield from rows
        if len(rows) < PAGE:
            return
        last = rows[-1]["id"]


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` by `text` at once: readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def feed_schema(data_dir: str) -> dict[str, Any]:
    """The JSON Schema of the feed: an array of the public document's v3 JobOffer read shape."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Offres multidiffusées (v3)",
            "description": "Offres actives multidiffusables, au format de GET /v3/jobs/{id} du service public.",
            "type": "array", "items": with_nullable_enums(load_contract(data_dir).job)}


def _day(moment: Any) -> str:
    value = utc(moment) if isinstance(moment, datetime) else None
    return value.strftime("%d/%m/%Y") if value else ""


def ft_records(row: Mapping[str, Any], base_url: str, now: datetime) -> list[dict[str, Any]]:
    """France Travail partner-feed records of one row (one per contract nature); [] when FT cannot take it.

    FT classifies offers by appellation (Code_OGR): an offer without one is left out, as the public
    service's export does.
    """
    if not row.get("appellation_code") or not row.get("romes"):
        return []
    published = utc(row["published_at"])
    end = utc(row["expires_at"])
    assert published is not None and end is not None  # both columns are NOT NULL
    if row.get("ft_support"):
        end = min(end, published + FT_PUBLICATION)
        if end <= now:
            return []
    level = QUALIFICATIONS.get(row.get("diploma_level") or 0, ("", ""))
    description = f"{FT_PREFIX} {SALARY_MENTION}\n{row.get('description') or ''}".strip()
    records = []
    for contract in row.get("contract_types") or []:
        nature = NATURES.get(contract)
        if nature is None:
            continue
        records.append({
            "Par_ref_offre": f"{nature}-{row['id']}", "Par_cle": FT_PARTNER, "Par_nom": FT_PARTNER,
            "Par_URL_offre": detail_page(base_url, "offer", f"deposited-{row['id']}"),
            "Code_rome": row["romes"][0], "Code_OGR": row["appellation_code"],
            "Libelle_metier_OGR": row.get("appellation") or row["title"], "Description": description,
            "Exp_cle": "D",  # "débutant accepté": apprentices need no experience
            "Qua_cle": level[0], "Qua_libelle": level[1],
            "SCN_cle": row.get("company_naf") or "", "SCN_libelle": row.get("company_naf_label") or "",
            "Off_travail_hebdo_nb_hh": WEEKLY_HOURS, "NTC_cle": nature, "TCO_cle": "CDD",
            "Off_contrat_duree_MO": row.get("duration_months") or "", "COM_cle": row.get("insee") or "",
            "DEP_cle": row.get("department") or (row.get("postcode") or "")[:2],
            "Coordonnee_geo_loc_1": row["latitude"], "Coordonnee_geo_loc_2": row["longitude"],
            "Off_date_creation": _day(row.get("created_at")), "Off_date_modification": _day(row.get("updated_at")),
            "Off_date_fin_publication": _day(end), "OST_poste_restant_nb": row.get("positions") or 1,
            "Off_client_final_siret": row.get("company_siret") or "",
            "Off_etab_enseigne": row.get("company_name") or "", "Type_mouvement": "C",
            "Date_debut_contrat": datetime.fromisoformat(row["start_date"]).strftime("%d/%m/%Y")
            if row.get("start_date") else "",
            "Mode_diffusion": "O",
        })
    return records


def _csv(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    # "|" separates fields; a "|" or a new line inside a description is quoted by the csv module.
    writer = csv.DictWriter(out, fieldnames=FT_COLUMNS, delimiter="|", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def export_offers(store: Engine, refs: Referentials, data_dir: str, export_dir: str, base_url: str,
                  now: datetime | None = None) -> dict[str, int]:
    """Write the three files of the day's export; returns how many offers and FT records they hold.

    Everything is computed before the first rename: an error while reading or mapping leaves every
    previous file in place.
    """
    moment = now or datetime.now(timezone.utc)
    ctx = AdapterContext(base_url=base_url,
                         diploma_labels={level: d.label for level, d in refs.diplomas.levels.items() if d.label})
    feed: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for row in _live_multicast(store, moment):
        feed.append(read_shape(row, ctx, row.get("partner_name")))
        records.extend(ft_records(row, base_url, moment))
    texts = {FEED_SCHEMA: json.dumps(feed_schema(data_dir), ensure_ascii=False, indent=1),
             FEED: json.dumps(feed, ensure_ascii=False), FT_FILE: _csv(records)}
    folder = Path(export_dir)
    for name in (FEED_SCHEMA, FT_FILE, FEED):  # the feed last: its time is the export's lastUpdate
        write_atomically(folder / name, texts[name])
    return {"offers": len(feed), "france_travail_records": len(records)}


def latest(export_dir: str) -> str | None:
    """When the feed was last written (their `lastUpdate`, ISO 8601 UTC), or None before the first export."""
    path = Path(export_dir) / FEED
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int(stamp * 1000) % 1000:03d}Z"
