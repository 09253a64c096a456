"""Deterministic demo source files (France Travail offers, catalogue, predicted recruiters) from the referentials."""
from __future__ import annotations

import argparse
import bisect
import itertools
import math
import random
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson
from pyproj import Transformer
from tqdm import tqdm

from app.referentials import Commune, Referentials, get_referentials
from app.referentials.csvfile import read_rows
from indexers.sources import DEMO_FILES as FILES, DEMO_MANIFEST as MANIFEST

GENERATOR_VERSION = 1
SCALES: dict[str, dict[str, int]] = {
    "small": {"companies": 5_000, "offers": 1_000, "formations": 500},
    "national": {"companies": 500_000, "offers": 100_000, "formations": 50_000},
}
KINDS = ("offers", "formations", "companies")

#: La Bonne Boite's visibility rule: share(NAF, ROME) × predicted hires ≥ 0.2 hires a year.
ROME_THRESHOLD = 0.2
MAX_ROMES = 6
#: normalized_score = score × this, which puts scores in the sample's range (~0.001–0.1).
NORMALIZED_PER_HIRE = 0.005
JITTER_KM = 2.0
OFFER_MAX_AGE_DAYS = 60
CHUNK = 10_000  # companies projected and written together

# Headcount bands as the algorithm writes them, with the share of apprentice-hiring companies
# in each (mostly very small companies, as in the DARES apprenticeship statistics).
SIZES: list[tuple[str, float, float]] = [
    ("1-2", 1.5, 0.20), ("3-5", 4, 0.18), ("6-9", 7.5, 0.15), ("10-19", 14.5, 0.15), ("20-49", 34.5, 0.13),
    ("50-99", 74.5, 0.07), ("100-199", 149.5, 0.05), ("200-249", 224.5, 0.015), ("250-499", 374.5, 0.02),
    ("500-999", 749.5, 0.01), ("1000-1999", 1499.5, 0.005), ("2000-4999", 3499.5, 0.003),
    ("5000-9999", 7499.5, 0.001), ("10000+", 12000, 0.0005),
]
FT_SIZE_LABELS = {"1-2": "1 ou 2 salariés", "3-5": "3 à 5 salariés", "6-9": "6 à 9 salariés",
                  "10-19": "10 à 19 salariés", "20-49": "20 à 49 salariés", "50-99": "50 à 99 salariés",
                  "100-199": "100 à 199 salariés", "200-249": "200 à 249 salariés",
                  "250-499": "250 à 499 salariés", "500-999": "500 à 999 salariés",
                  "1000-1999": "1000 à 1999 salariés", "2000-4999": "2000 à 4999 salariés",
                  "5000-9999": "5000 à 9999 salariés", "10000+": "10 000 salariés et plus"}

# Projected systems of SIRENE coordinates, by department (same table as indexers/recruiters.py).
EPSG_BY_DEPARTMENT = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
LAMBERT_93 = 2154

SURNAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
    "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel",
    "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier",
    "Faure", "Rousseau", "Blanc", "Guerin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin",
    "Mathieu", "Clement", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez",
    "Gerard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval", "Joly", "Gautier", "Roger", "Roche", "Roy",
    "Noel", "Meyer", "Lucas", "Meunier", "Jean", "Perez", "Marchand", "Dufour", "Blanchard", "Marie", "Barbier",
    "Brun", "Dumas", "Brunet", "Schmitt", "Leroux", "Colin", "Fernandez", "Pierre", "Renard", "Arnaud",
    "Rolland", "Caron", "Aubert", "Giraud", "Leclerc", "Vidal", "Bourgeois", "Renaud", "Lemoine", "Picard",
    "Gaillard", "Philippe", "Leclercq", "Lacroix", "Fabre", "Dupuis", "Olivier", "Rodriguez", "Da Silva",
    "Hoarau", "Payet", "Grondin", "Rivière", "Jacques", "Louis", "Charles",
]
# A word that reads like the trade of a NAF division, for company names ("Boulangerie Martin").
TRADE_WORDS: dict[str, list[str]] = {
    "01": ["Ferme", "EARL", "GAEC", "Domaine"], "02": ["Exploitation forestière"], "03": ["Pêcheries"],
    "10": ["Boulangerie", "Pâtisserie", "Boucherie", "Charcuterie", "Fromagerie", "Biscuiterie"],
    "11": ["Brasserie artisanale", "Distillerie", "Domaine"], "13": ["Tissage"], "14": ["Atelier couture"],
    "16": ["Menuiserie", "Scierie"], "18": ["Imprimerie"], "20": ["Laboratoires"], "21": ["Laboratoires"],
    "22": ["Plasturgie"], "23": ["Verrerie", "Céramiques"], "25": ["Métallerie", "Chaudronnerie"],
    "26": ["Électronique"], "27": ["Électrotechnique"], "28": ["Mécanique de précision"],
    "29": ["Équipements automobiles"], "30": ["Constructions navales"], "31": ["Meubles"],
    "33": ["Maintenance industrielle"], "35": ["Énergies"], "38": ["Recyclage", "Environnement"],
    "41": ["Constructions", "Bâtiment"], "42": ["Travaux publics", "Terrassement"],
    "43": ["Électricité", "Plomberie", "Maçonnerie", "Peinture", "Couverture", "Charpente", "Chauffage"],
    "45": ["Garage", "Carrosserie", "Automobiles"], "46": ["Distribution", "Négoce"],
    "47": ["Épicerie", "Boutique", "Pharmacie", "Optique", "Fleurs", "Librairie", "Supermarché", "Bricolage"],
    "49": ["Transports"], "52": ["Logistique"], "53": ["Coursiers"], "55": ["Hôtel", "Camping"],
    "56": ["Restaurant", "Brasserie", "Café", "Pizzeria", "Traiteur", "Crêperie"], "58": ["Éditions"],
    "59": ["Productions"], "61": ["Télécom"], "62": ["Informatique", "Solutions numériques", "Digital"],
    "63": ["Data"], "64": ["Finance"], "65": ["Assurances"], "66": ["Courtage"],
    "68": ["Immobilier", "Agence immobilière"], "69": ["Cabinet comptable", "Cabinet juridique"],
    "70": ["Conseil"], "71": ["Bureau d'études", "Architectes"], "72": ["Recherche"],
    "73": ["Agence de communication"], "74": ["Studio photo", "Design"], "75": ["Clinique vétérinaire"],
    "77": ["Location"], "78": ["Intérim", "Emploi"], "79": ["Voyages"], "80": ["Sécurité"],
    "81": ["Propreté", "Nettoyage", "Paysages"], "82": ["Services"],
    "84": ["Mairie", "Communauté de communes"], "85": ["École", "Institut de formation"],
    "86": ["Clinique", "Cabinet médical", "Laboratoire d'analyses"], "87": ["EHPAD", "Résidence"],
    "88": ["Crèche", "Aide à domicile"], "90": ["Théâtre", "Compagnie"], "91": ["Médiathèque"],
    "93": ["Club sportif", "Salle de sport"], "94": ["Association"], "95": ["Réparation"],
    "96": ["Salon de coiffure", "Institut de beauté", "Pressing"],
}
GENERIC_WORDS = ["Établissements", "Société", "Groupe", "Entreprise", "Atelier", "Maison"]
LEGAL_FORMS = ["SARL", "SAS", "SASU", "EURL", "SA", "", "", ""]
STREETS = [
    "RUE DE LA REPUBLIQUE", "RUE VICTOR HUGO", "AVENUE JEAN JAURES", "RUE DU GENERAL DE GAULLE", "GRANDE RUE",
    "RUE PASTEUR", "PLACE DE LA MAIRIE", "RUE DE LA GARE", "ROUTE NATIONALE", "RUE DES ECOLES",
    "AVENUE DE LA LIBERATION", "RUE DU MOULIN", "ZONE ARTISANALE", "RUE JULES FERRY", "BOULEVARD GAMBETTA",
    "RUE DE L'EGLISE", "CHEMIN DES VIGNES", "RUE NATIONALE", "AVENUE DE VERDUN", "RUE DU COMMERCE",
    "RUE DES ARTISANS", "ZONE INDUSTRIELLE", "RUE ANATOLE FRANCE", "PLACE DU MARCHE", "RUE DU STADE",
]
PARTNERS = ["Hellowork", "Indeed", "Jobteaser", "Meteojob", "Apec"]
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
# France Travail education labels (france_travail_niveaux_formation.csv codes) and how often offers ask them.
FT_LEVEL_WEIGHTS = {"AFS": 1, "CFG": 1, "C3A": 1, "C12": 1, "NV5": 27, "NV4": 30, "NV3": 24, "NV2": 10, "NV1": 5}
UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # the 23 check letters of a UAI (no I, O, Q)
# Fictitious numbers reserved by ARCEP for films and books: never a real subscriber.
FICTION_PHONE_PREFIXES = ["019900", "063998"]


def luhn_digit(digits: str) -> str:
    """The check digit that makes `digits` + it pass the Luhn test."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (1 if position % 2 else 2)  # the check digit will take position 0
        total += digit - 9 if digit > 9 else digit
    return str((10 - total % 10) % 10)


def make_siret(rng: random.Random) -> str:
    """A SIRET whose SIREN and whole 14 digits pass the Luhn check (never La Poste's SIREN)."""
    while True:
        body = f"{rng.randrange(10_000_000, 100_000_000):08d}"
        if body != "35600000":
            break
    siren = body + luhn_digit(body)
    nic = f"{rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30]):04d}"
    return siren + nic + luhn_digit(siren + nic)


def make_uai(rng: random.Random, department: str) -> str:
    """A UAI: 3-character department number, 4 digits and the mod-23 check letter."""
    prefix = {"2A": "620", "2B": "720"}.get(department, department.zfill(3))
    digits = prefix + f"{rng.randrange(10_000):04d}"
    return digits + UAI_LETTERS[int(digits) % 23]


def fold_upper(name: str) -> str:
    """Upper case without accents, as SIRENE and France Travail write commune names."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


def slug(name: str) -> str:
    """Lower-case ASCII words joined by dashes, for example e-mail addresses and URLs."""
    return re.sub(r"[^a-z0-9]+", "-", fold_upper(name).lower()).strip("-")[:40]


def jitter(rng: random.Random, lat: float, lon: float, km: float = JITTER_KM) -> tuple[float, float]:
    """A point uniformly spread within `km` of (lat, lon)."""
    distance = km * math.sqrt(rng.random())
    angle = rng.random() * 2 * math.pi
    dlat = distance * math.cos(angle) / 111.2
    dlon = distance * math.sin(angle) / (111.2 * max(0.1, math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


class Weighted:
    """Items drawn with given weights (cumulative weights + bisect: O(log n) per draw)."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        pairs = [(item, weight) for item, weight in zip(items, weights) if weight > 0]
        self.items = [item for item, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random) -> Any:
        """One item."""
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.total)]


@dataclass
class World:
    """Everything the generators draw from, computed once from the referentials."""

    refs: Referentials
    places: Weighted  # communes by population
    nafs: Weighted  # NAF codes by total hirings
    romes: Weighted  # parent ROME codes by total hirings
    romes_by_letter: dict[str, Weighted]
    nafs_of_rome: dict[str, Weighted]
    shares: dict[str, list[tuple[str, float]]]  # NAF → ROME shares, largest first
    children: dict[str, list[str]]  # parent → child codes (itself excluded)
    appellations: dict[str, list[Any]]
    ft_labels: Weighted
    sizes: Weighted


def build_world(refs: Referentials) -> World:
    """The weighted tables of the generators."""
    # Paris, Lyon and Marseille appear as their arrondissements, the codes SIRENE and France Travail use.
    split = {c.parent for c in refs.communes if c.kind == "arrondissement-municipal"}
    communes = sorted((c for c in refs.communes if c.zone in ("metro", "drom") and c.insee not in split
                       and c.population > 0 and c.postcodes), key=lambda c: c.insee)
    naf_totals = {naf: sum(romes.values()) for naf, romes in refs.naf.romes_of_naf.items()}
    nafs = sorted(naf_totals)
    rome_totals = {rome: sum(nafs_.values()) for rome, nafs_ in refs.naf.nafs_of_rome.items()}
    parents = sorted(rome_totals)
    by_letter: dict[str, list[str]] = {}
    for rome in parents:
        by_letter.setdefault(rome[0], []).append(rome)
    appellations: dict[str, list[Any]] = {}
    for appellation in sorted(refs.rome.appellations.values(), key=lambda a: int(a.code_ogr)):
        appellations.setdefault(appellation.rome, []).append(appellation)
    ft_codes = {row["code"]: row["libelle"] for _, row in read_rows(
        refs.data_dir / "diplomes" / "france_travail_niveaux_formation.csv", ["code", "libelle"])}
    return World(
        refs=refs,
        places=Weighted(communes, [c.population for c in communes]),
        nafs=Weighted(nafs, [naf_totals[n] for n in nafs]),
        romes=Weighted(parents, [rome_totals[r] for r in parents]),
        romes_by_letter={letter: Weighted(codes, [rome_totals[r] for r in codes])
                         for letter, codes in by_letter.items()},
        nafs_of_rome={rome: Weighted(sorted(nafs_), [nafs_[n] for n in sorted(nafs_)])
                      for rome, nafs_ in refs.naf.nafs_of_rome.items()},
        shares={naf: sorted(refs.naf.rome_shares(naf).items(), key=lambda kv: (-kv[1], kv[0])) for naf in nafs},
        children={parent: [c for c in refs.rome.children_of(parent) if c != parent] for parent in parents},
        appellations=appellations,
        ft_labels=Weighted([ft_codes[c] for c in FT_LEVEL_WEIGHTS], list(FT_LEVEL_WEIGHTS.values())),
        sizes=Weighted(SIZES, [s[2] for s in SIZES]),
    )


def company_name(rng: random.Random, naf: str, division: str, commune: Commune) -> tuple[str, str]:
    """(trade name, legal name) that read like a French company of that activity."""
    word = rng.choice(TRADE_WORDS.get(division) or GENERIC_WORDS)
    surname = rng.choice(SURNAMES)
    pattern = rng.randrange(6)
    if pattern == 0:
        name = f"{word} de {commune.name}"
    elif pattern == 1:
        name = f"{word} {surname} et Fils"
    elif pattern == 2:
        name = f"{surname} {rng.choice(SURNAMES)}"
    elif pattern == 3:
        name = f"{word} {surname} {rng.choice('ABCDEFGHJLMNPRST')}."
    else:
        name = f"{word} {surname}"
    form = rng.choice(LEGAL_FORMS)
    legal = fold_upper(f"{form} {name}".strip() if pattern != 2 else f"{form} {surname} ET ASSOCIES".strip())
    return name, legal


def phone(rng: random.Random) -> str:
    """A fictitious French phone number."""
    return rng.choice(FICTION_PHONE_PREFIXES) + f"{rng.randrange(10_000):04d}"


def write_lines(handle: BinaryIO, items: Sequence[Any], first: bool) -> None:
    """Append items of a JSON array, one per line; `first` when nothing was written before."""
    for item in items:
        if not first:
            handle.write(b",\n")
        handle.write(orjson.dumps(item))
        first = False


# --- companies -------------------------------------------------------------------------------------------


def _company(world: World, rng: random.Random, sirets: set[str]) -> tuple[dict[str, Any], Commune, int] | None:
    """One company row (coordinates not yet projected), or None when no ROME would pass the threshold."""
    naf = world.nafs.draw(rng)
    size, headcount, _ = world.sizes.draw(rng)
    # Predicted apprentice-related hirings a year grow less than linearly with headcount.
    predicted = 0.5 * headcount ** 0.45 * rng.lognormvariate(0.0, 0.6)
    romes = [(rome, share * predicted) for rome, share in world.shares[naf] if share * predicted >= ROME_THRESHOLD]
    if not romes:
        return None
    romes = romes[:MAX_ROMES]
    commune = world.places.draw(rng)
    naf_code = world.refs.naf.codes[naf]
    name, legal = company_name(rng, naf, naf_code.division, commune)
    siret = make_siret(rng)
    while siret in sirets:
        siret = make_siret(rng)
    sirets.add(siret)
    row = {
        "siret": siret,
        "enseigne": name.upper() if rng.random() < 0.7 else None,
        "activitePrincipaleEtablissement": naf,
        "labelActivitePrincipaleEtablissement": naf_code.label,
        "naf_code": naf,
        "naf_label": naf_code.label,
        "raison_sociale": legal,
        "street_number": str(rng.randrange(1, 200)) if rng.random() < 0.7 else None,
        "street_name": rng.choice(STREETS) if rng.random() < 0.9 else None,
        "insee_city_code": commune.insee,
        "zip_code": rng.choice(commune.postcodes),
        "email": f"contact.{slug(name)}@example.org" if rng.random() < 0.3 else None,
        "phone": phone(rng) if rng.random() < 0.4 else None,
        "company_size": size,
        "coordonneeLambertAbscisseEtablissement": None,
        "coordonneeLambertOrdonneeEtablissement": None,
        "libelleCommuneEtablissement": fold_upper(commune.name),
        "rome_codes": [{"rome_code": rome, "normalized_score": round(score * NORMALIZED_PER_HIRE, 10)}
                       for rome, score in romes],
    }
    return row, commune, EPSG_BY_DEPARTMENT.get(commune.department, LAMBERT_93)


def _project(rows: list[tuple[dict[str, Any], tuple[float, float], int]]) -> None:
    """Fill the projected coordinates of rows in place, one vectorised pyproj call per projection."""
    epsgs = np.array([epsg for _, _, epsg in rows])
    lats = np.array([point[0] for _, point, _ in rows])
    lons = np.array([point[1] for _, point, _ in rows])
    for epsg in np.unique(epsgs):
        index = np.nonzero(epsgs == epsg)[0]
        x, y = _to_projected(int(epsg)).transform(lons[index], lats[index])
        for i, xi, yi in zip(index.tolist(), np.round(x, 6).tolist(), np.round(y, 6).tolist()):
            rows[i][0]["coordonneeLambertAbscisseEtablissement"] = xi
            rows[i][0]["coordonneeLambertOrdonneeEtablissement"] = yi


_transformers: dict[int, Transformer] = {}


def _to_projected(epsg: int) -> Transformer:
    if epsg not in _transformers:
        _transformers[epsg] = Transformer.from_crs(4326, epsg, always_xy=True)
    return _transformers[epsg]


def _break_company(rng: random.Random, row: dict[str, Any], kind: str) -> None:
    """Damage a company row so the indexer must reject it for reason `kind`."""
    if kind == "no location":
        row.update({"insee_city_code": None, "zip_code": None, "coordonneeLambertAbscisseEtablissement": None,
                    "coordonneeLambertOrdonneeEtablissement": None})
    elif kind == "invalid siret":
        last = int(row["siret"][-1])
        row["siret"] = row["siret"][:-1] + str((last + 1 + rng.randrange(8)) % 10)
    elif kind == "no known ROME code":
        row["rome_codes"] = []


def generate_companies(world: World, path: Path, count: int, seed: int, tick: Callable[[int], None]) -> dict[str, int]:
    """Write `count` company rows; returns the rejections the indexer should report, by reason."""
    rng = random.Random(f"{seed}:companies")
    broken = _broken_positions(rng, count, ["no location", "invalid siret", "no known ROME code"], per=2000)
    sirets: set[str] = set()
    written = 0
    with path.open("wb") as handle:
        handle.write(b"[\n")
        while written < count:
            rows: list[tuple[dict[str, Any], tuple[float, float], int]] = []
            while len(rows) < min(CHUNK, count - written):
                drawn = _company(world, rng, sirets)
                if drawn is None:
                    continue
                row, commune, epsg = drawn
                rows.append((row, jitter(rng, commune.latitude, commune.longitude), epsg))
            _project(rows)
            for offset, (row, _, _) in enumerate(rows):
                position = written + offset
                if position in broken:
                    _break_company(rng, row, broken[position])
                elif rng.random() < 0.005:
                    # Not geocoded: the indexer falls back to the commune centre.
                    row["coordonneeLambertAbscisseEtablissement"] = row["coordonneeLambertOrdonneeEtablissement"] = None
            write_lines(handle, [row for row, _, _ in rows], first=written == 0)
            written += len(rows)
            tick(len(rows))
        handle.write(b"\n]\n")
    return _expected(broken)


def _broken_positions(rng: random.Random, count: int, kinds: list[str], per: int) -> dict[int, str]:
    """Positions of deliberately broken items: about one per `per` items, at least one of each kind."""
    total = min(count // 4, max(len(kinds), count // per))
    positions = rng.sample(range(count), total) if total else []
    return {position: kinds[i % len(kinds)] for i, position in enumerate(sorted(positions))}


def _expected(broken: Mapping[int, str]) -> dict[str, int]:
    expected: dict[str, int] = {}
    for kind in broken.values():
        expected[kind] = expected.get(kind, 0) + 1
    return dict(sorted(expected.items()))


# --- France Travail offers -------------------------------------------------------------------------------


def _offer_id(rng: random.Random, ids: set[str]) -> str:
    while True:
        offer_id = f"{rng.randrange(1000):03d}" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(4))
        if offer_id not in ids:
            ids.add(offer_id)
            return offer_id


def _offer(world: World, rng: random.Random, ids: set[str], now: datetime) -> dict[str, Any]:
    refs = world.refs
    parent = world.romes.draw(rng)
    code = rng.choice(world.children[parent]) if world.children.get(parent) and rng.random() < 0.35 else parent
    appellation = rng.choice(world.appellations.get(code) or world.appellations[parent])
    naf = world.nafs_of_rome[parent].draw(rng)
    naf_code = refs.naf.codes[naf]
    commune = world.places.draw(rng)
    name, _ = company_name(rng, naf, naf_code.division, commune)
    offer_id = _offer_id(rng, ids)
    created = now - timedelta(seconds=rng.randrange(60, OFFER_MAX_AGE_DAYS * 86400))
    updated = created + timedelta(seconds=rng.randrange(0, int((now - created).total_seconds())))
    apprenticeship = rng.random() < 0.8
    contract_name = "d'apprentissage" if apprenticeship else "de professionnalisation"
    months = rng.choice([6, 12, 12, 12, 18, 24, 24, 24, 36]) if rng.random() < 0.85 else None
    label = rng.choice([appellation.label, f"{appellation.label} (H/F)",
                        f"Apprenti {appellation.short_label.split(' / ')[0].lower()} (H/F)",
                        f"{appellation.short_label} en alternance"])
    level = world.ft_labels.draw(rng) if rng.random() < 0.7 else None
    size = world.sizes.draw(rng)[0]
    lat, lon = jitter(rng, commune.latitude, commune.longitude, 1.0)
    postcode = rng.choice(commune.postcodes)
    lieu: dict[str, Any] = {"libelle": f"{commune.department} - {fold_upper(commune.name)}"}
    form = rng.random()
    if form < 0.85:
        lieu.update({"latitude": round(lat, 8), "longitude": round(lon, 8), "codePostal": postcode,
                     "commune": commune.insee})
    elif form < 0.96:
        lieu.update({"codePostal": postcode, "commune": commune.insee})  # located at the commune centre
    else:
        lieu.update({"codePostal": postcode})
    contact: dict[str, Any] = {"nom": f"{name.upper()} - M. {rng.choice(SURNAMES).upper()} {rng.choice('ACJLMPS')}."}
    channel = rng.random()
    if channel < 0.45:
        email = f"recrutement.{slug(name)}@example.org"
        contact.update({"courriel": email, "coordonnees1": f"Courriel : {email}"})
    elif channel < 0.65:
        url = f"https://recrutement.{slug(name)}.example/offres/{offer_id.lower()}"
        contact.update({"urlPostulation": url, "coordonnees1": url})
    elif channel < 0.75:
        contact["telephone"] = phone(rng)
    partner = rng.choice(PARTNERS) if rng.random() < 0.15 else None
    origin = {"origine": "2" if partner else "1",
              "urlOrigine": f"https://candidat.francetravail.fr/offres/recherche/detail/{offer_id}",
              "partenaires": [{"nom": partner.upper(), "url": f"https://www.{slug(partner)}.example/offre/{offer_id}",
                               "logo": f"https://www.francetravail.fr/logos/{slug(partner)}.png"}]
              if partner else []}
    company: dict[str, Any] = {"nom": name.upper(), "entrepriseAdaptee": False}
    if rng.random() < 0.85:
        company["siret"] = make_siret(rng)
    description = (f"{name} recherche un(e) {appellation.label.lower()} en contrat {contract_name}"
                   f"{f' de {months} mois' if months else ''}. Vous serez accompagné(e) par un tuteur et "
                   f"alternerez entre l'entreprise et votre centre de formation."
                   f"{f' Niveau visé : {level}.' if level else ''} Poste basé à {commune.name}.")
    return {
        "id": offer_id,
        "intitule": label,
        "description": description,
        "dateCreation": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "dateActualisation": updated.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "lieuTravail": lieu,
        "romeCode": code,
        "romeLibelle": refs.rome.codes[code].label,
        "appellationlibelle": appellation.label,
        "entreprise": company,
        "typeContrat": "CDD" if months else "CDI",
        "typeContratLibelle": f"Contrat à durée déterminée - {months} Mois" if months
        else "Contrat à durée indéterminée",
        "natureContrat": "Contrat apprentissage" if apprenticeship else "Cont. professionnalisation",
        "experienceExige": "D",
        "experienceLibelle": "Débutant accepté",
        "formations": [{"domaineLibelle": refs.rome.domaines.get(refs.rome.codes[code].domaine, ""),
                        "niveauLibelle": level, "exigence": rng.choice("ES")}] if level else [],
        "competences": [],
        "salaire": {"libelle": "Selon la grille de rémunération des alternants"} if rng.random() < 0.6 else {},
        "dureeTravailLibelle": "35H Horaires normaux",
        "dureeTravailLibelleConverti": "Temps plein",
        "alternance": True,
        "contact": contact,
        "nombrePostes": rng.choice([1] * 9 + [2, 3]),
        "accessibleTH": rng.random() < 0.1,
        "qualificationCode": "6",
        "qualificationLibelle": "Employé qualifié",
        "codeNAF": naf_code.code,
        "secteurActivite": naf_code.division,
        "secteurActiviteLibelle": naf_code.label,
        "trancheEffectifEtab": FT_SIZE_LABELS[size],
        "origineOffre": origin,
    }


def generate_offers(world: World, path: Path, count: int, seed: int, today: date,
                    tick: Callable[[int], None]) -> dict[str, int]:
    """Write the `/offres/search` response; returns the rejections the indexer should report, by reason."""
    rng = random.Random(f"{seed}:offers")
    broken = _broken_positions(rng, count, ["no location"], per=500)
    now = datetime(today.year, today.month, today.day, tzinfo=timezone.utc)
    ids: set[str] = set()
    with path.open("wb") as handle:
        handle.write(b'{"filtresPossibles": [], "resultats": [\n')
        for start in range(0, count, CHUNK):
            items = []
            for position in range(start, min(count, start + CHUNK)):
                item = _offer(world, rng, ids, now)
                if position in broken:
                    # Known only at country level, as some offers are: nothing to place them with.
                    item["lieuTravail"] = {"libelle": "France"} if position % 2 else {}
                items.append(item)
            write_lines(handle, items, first=start == 0)
            tick(len(items))
        handle.write(b"\n]}\n")
    return _expected(broken)


# --- catalogue formations --------------------------------------------------------------------------------


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
    broken = _broken_positions(rng, count, ["bad coordinates", "no known ROME code", "duplicate key"], per=400)
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
    return _expected(broken)


# --- entry points ----------------------------------------------------------------------------------------


def scale_counts(scale: str, counts: Mapping[str, int] | None = None) -> dict[str, int]:
    """Item counts of a scale, with `counts` overriding some of them (tests use tiny counts)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    merged = {**SCALES[scale], **(counts or {})}
    if set(merged) != set(KINDS) or any(not isinstance(n, int) or n < 0 for n in merged.values()):
        raise ValueError(f"counts must be non-negative integers for {', '.join(KINDS)}")
    return merged


def generate(refs: Referentials, out_dir: Path, scale: str, seed: int = 42, progress: bool = False, *,
             today: date | None = None, counts: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Write the three demo source files and manifest.json into `out_dir`; returns the manifest plus timings.

    Files, in the sources' real formats with one array element per line:

    * `offres_france_travail.json`: an `/offres/search` response `{"filtresPossibles": [], "resultats": [...]}`;
    * `catalogue_formations.json`: an array of catalogue items (2022 schema plus the current fields the
      catalogue indexer reads: `lieu_formation_geo_coordonnees`, `date_debut`/`date_fin`,
      `entierement_a_distance`, and our `rdv_referrers`, see indexers.catalogue.map_formation);
    * `recruteurs_lba.json`: an array in the hiring-prediction algorithm's output format, coordinates
      projected like SIRENE (Lambert-93 in metropolitan France, local UTM systems overseas).

    Companies follow La Bonne Boite's rule: a company with NAF n and predicted yearly hirings p is
    shown for ROME r when share(n, r) × p ≥ ROME_THRESHOLD, share being r's part of n's hirings in the
    ROME↔NAF mapping; a company no ROME passes for would be invisible and is not written. A few
    deliberately broken items per file exercise the indexers' rejections; `expected_rejections` in
    the manifest counts them by reason. Same referentials, seed, counts and `today` (default: the
    current date) give byte-identical files.
    """
    started = time.perf_counter()
    sizes = scale_counts(scale, counts)
    today = today or date.today()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    world = build_world(refs)
    expected: dict[str, dict[str, int]] = {}
    with tqdm(total=sum(sizes.values()), disable=not progress, unit=" items", desc=f"demo data ({scale})") as bar:
        expected["offers"] = generate_offers(world, out_dir / FILES["offers"], sizes["offers"], seed, today,
                                             bar.update)
        expected["formations"] = generate_formations(world, out_dir / FILES["formations"], sizes["formations"],
                                                     seed, today, bar.update)
        expected["companies"] = generate_companies(world, out_dir / FILES["companies"], sizes["companies"], seed,
                                                   bar.update)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "scale": scale,
        "seed": seed,
        "reference_date": today.isoformat(),
        "counts": sizes,
        "files": dict(FILES),
        "expected_rejections": expected,
    }
    (out_dir / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return {**manifest, "out_dir": str(out_dir), "paths": {kind: str(out_dir / name) for kind, name in FILES.items()},
            "seconds": round(time.perf_counter() - started, 2)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    from app.config import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--out", type=Path, help="output directory (default: LBA_DEMO_DIR/<scale>)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--today", type=date.fromisoformat, help="reference date YYYY-MM-DD (default: today)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    out = args.out or Path(settings.demo_dir) / args.scale
    result = generate(get_referentials(settings.data_dir), out, args.scale, args.seed, progress=not args.quiet,
                      today=args.today)
    print(f"wrote {', '.join(f'{n} {kind}' for kind, n in result['counts'].items())} to {out} "
          f"in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
