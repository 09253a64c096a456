"""The catalogue's formation items: training centres and the courses they teach."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from app.referentials import Commune
from scripts.demo_data.identifiers import make_siret, make_uai
from scripts.demo_data.names import STREETS, SURNAMES, fold_upper, slug
from scripts.demo_data.rejections import broken_positions, count_by_reason
from scripts.demo_data.world import World, jitter
from scripts.demo_data.writing import CHUNK, write_lines

# (short name, diploma, CFD prefix, years) by level: what the catalogue calls `diplome`.
DIPLOMAS: dict[int, list[tuple[str, str, str, int]]] = {
    3: [("CAP", "CERTIFICAT D'APTITUDES PROFESSIONNELLES", "500", 2), ("TP", "TITRE PROFESSIONNEL", "463", 1),
        ("MC", "MENTION COMPLEMENTAIRE", "010", 1)],
    4: [("BAC PRO", "BAC PROFESSIONNEL", "400", 3), ("BP", "BREVET PROFESSIONNEL", "450", 2),
        ("TP", "TITRE PROFESSIONNEL", "463", 1)],
    5: [("BTS", "BREVET DE TECHNICIEN SUPERIEUR", "320", 2), ("BTSA", "BTS AGRICOLE", "323", 2),
        ("TP", "TITRE PROFESSIONNEL", "363", 1)],
    6: [("LP", "LICENCE PROFESSIONNELLE", "250", 1), ("BUT", "BACHELOR UNIVERSITAIRE DE TECHNOLOGIE", "251", 3),
        ("TH6", "TITRE HOMOLOGUE NIVEAU 6", "263", 1)],
    7: [("MASTER", "MASTER", "135", 2), ("ING", "DIPLOME D'INGENIEUR", "170", 3),
        ("TH7", "TITRE HOMOLOGUE NIVEAU 7", "163", 2)],
}
LEVEL_WEIGHTS = {3: 28, 4: 22, 5: 28, 6: 12, 7: 10}


@dataclass
class _Centre:
    name: str
    siret: str
    uai: str
    commune: Commune
    lat: float
    lon: float
    address: str
    letters: list[str]
    email: str


def _centres(world: World, rng: random.Random, count: int) -> list[_Centre]:
    """Training centres, each teaching the jobs of one to three ROME grands domaines."""
    centres = []
    for _ in range(count):
        commune = world.places.draw(rng)
        city = fold_upper(commune.name)
        name = rng.choice([f"CFA DES METIERS DE {city}", f"CAMPUS DES METIERS {city}",
                           f"LYCEE PROFESSIONNEL {fold_upper(rng.choice(SURNAMES))}", f"IUT DE {city}",
                           f"CFA {rng.choice(['BTP', 'COMMERCE', 'INDUSTRIE', 'AGRICOLE', 'SANTE'])} {city}",
                           f"INSTITUT DE FORMATION {fold_upper(rng.choice(SURNAMES))}"])
        letters = sorted({world.romes.draw(rng)[0] for _ in range(rng.randint(1, 3))})
        lat, lon = jitter(rng, commune.latitude, commune.longitude)
        centres.append(_Centre(name=name, siret=make_siret(rng), uai=make_uai(rng, commune.department),
                               commune=commune, lat=lat, lon=lon,
                               address=f"{rng.randrange(1, 120)} {rng.choice(STREETS)}", letters=letters,
                               email=f"contact.{slug(name)}@example.org" if rng.random() < 0.8 else ""))
    return centres


def _formation(world: World, rng: random.Random, seq: int, centre: _Centre, manager: _Centre,
               today: date) -> dict[str, Any]:
    refs = world.refs
    primary = world.romes_by_letter[rng.choice(centre.letters)].draw(rng)
    codes = [primary]
    if rng.random() < 0.4:
        domaine = refs.rome.codes[primary].domaine
        siblings = [r for r in world.romes_by_letter[primary[0]].items
                    if refs.rome.codes[r].domaine == domaine and r != primary]
        codes += rng.sample(siblings, min(len(siblings), rng.randint(1, 2)))
    if world.children.get(primary) and rng.random() < 0.15:
        codes.append(rng.choice(world.children[primary]))
    level = rng.choices(list(LEVEL_WEIGHTS), weights=list(LEVEL_WEIGHTS.values()))[0]
    # Agricultural BTS only for agricultural jobs (grand domaine A).
    short, diploma, cfd_prefix, years = rng.choice([d for d in DIPLOMAS[level] if (d[0] == "BTSA") == (
        primary[0] == "A")] or DIPLOMAS[level])
    rome = refs.rome.codes[primary]
    label = rome.label_v3 or rome.label
    # Courses keep recruiting until the autumn for the September start ("rentrée décalée").
    first_year = today.year if today.month <= 10 else today.year + 1
    starts = [date(first_year, 9, 1)] + ([date(first_year + 1, 9, 1)] if rng.random() < 0.5 else [])
    commune = centre.commune
    created = datetime(today.year - 2, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(63_000_000))
    referrers = ["LBA", "JEUNE_1_SOLUTION"] + (["PARCOURSUP"] if level >= 5 and rng.random() < 0.3 else [])
    key = f"{seq:06d}P01{manager.siret}{centre.siret}-{commune.insee}#L01"
    point = f"{centre.lat:.6f},{centre.lon:.6f}"
    return {
        "cle_ministere_educatif": key,
        "id_rco_formation": f"24_{seq:06d}|24_{seq:06d}_A|{rng.randrange(10_000, 100_000)}",
        "cfd": cfd_prefix + f"{rng.randrange(100_000):05d}",
        "intitule_long": f"{fold_upper(label)} ({short})",
        "intitule_court": fold_upper(label),
        "diplome": diploma,
        "niveau": refs.diplomas.levels[level].lba_key,
        "onisep_url": f"https://www.onisep.fr/http/redirection/formation/slug/FOR.{rng.randrange(1000, 20000)}",
        "rncp_code": f"RNCP{rng.randrange(1000, 40000)}",
        "rncp_intitule": label,
        "rncp_eligible_apprentissage": True,
        "rome_codes": codes,
        "capacite": str(rng.choice([8, 10, 12, 15, 20, 24, 30])),
        "duree": str(years),
        "periode": [f"{d.isoformat()}T00:00:00.000Z" for d in starts],
        "date_debut": [f"{d.isoformat()}T00:00:00.000Z" for d in starts],
        "date_fin": [f"{d.replace(year=d.year + years, month=6, day=30).isoformat()}T00:00:00.000Z" for d in starts],
        "entierement_a_distance": rng.random() < 0.03,
        "etablissement_gestionnaire_siret": manager.siret,
        "etablissement_gestionnaire_uai": manager.uai,
        "etablissement_gestionnaire_entreprise_raison_sociale": manager.name,
        "etablissement_formateur_siret": centre.siret,
        "etablissement_formateur_uai": centre.uai,
        "etablissement_formateur_entreprise_raison_sociale": centre.name,
        "etablissement_formateur_adresse": centre.address,
        "etablissement_formateur_code_postal": commune.postcodes[0],
        "etablissement_formateur_localite": fold_upper(commune.name),
        "lieu_formation_adresse": centre.address,
        "code_postal": commune.postcodes[0],
        "code_commune_insee": commune.insee,
        "num_departement": commune.department,
        "localite": commune.name,
        "lieu_formation_geo_coordonnees": point,
        "idea_geo_coordonnees_etablissement": point,
        "geo_coordonnees_etablissement_formateur": point,
        "email": centre.email or None,
        "lieu_formation_email": centre.email or None,
        "rdv_referrers": referrers if centre.email and rng.random() < 0.65 else [],
        "tags": [str(first_year - 1), str(first_year)],
        "published": True,
        "catalogue_published": True,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "last_update_at": (created + timedelta(days=rng.randrange(1, 200))).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


def generate_formations(world: World, path: Path, count: int, seed: int, today: date,
                        tick: Callable[[int], None]) -> dict[str, int]:
    """Write the catalogue items; returns the rejections the indexer should report, by reason."""
    rng = random.Random(f"{seed}:formations")
    broken = broken_positions(rng, count, ["bad coordinates", "no known ROME code", "duplicate key"], per=400)
    centres = _centres(world, rng, max(3, count // 8))
    keys: list[str] = []
    with path.open("wb") as handle:
        handle.write(b"[\n")
        for start in range(0, count, CHUNK):
            items = []
            for position in range(start, min(count, start + CHUNK)):
                centre = rng.choice(centres)
                manager = centre if rng.random() < 0.8 else rng.choice(centres)
                item = _formation(world, rng, position + 1, centre, manager, today)
                if rng.random() < 0.01:
                    item["rome_codes"] = item["rome_codes"] + ["Z9999"]  # dropped, item kept
                kind = broken.get(position)
                if kind == "bad coordinates":
                    item["lieu_formation_geo_coordonnees"] = rng.choice(["48.85;2.35", "abc,def", "95.5,2.3"])
                elif kind == "no known ROME code":
                    item["rome_codes"] = rng.choice([[], ["Z9999"]])
                elif kind == "duplicate key":
                    if keys:
                        item["cle_ministere_educatif"] = rng.choice(keys)
                    else:  # nothing to duplicate yet: break it another way
                        item["rome_codes"] = []
                        broken[position] = "no known ROME code"
                if kind is None:
                    keys.append(item["cle_ministere_educatif"])
                items.append(item)
            write_lines(handle, items, first=start == 0)
            tick(len(items))
        handle.write(b"\n]\n")
    return count_by_reason(broken)
