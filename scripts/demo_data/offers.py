"""The France Travail `/offres/search` response: apprenticeship and professionalisation offers."""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from scripts.demo_data.identifiers import make_siret, phone
from scripts.demo_data.names import SURNAMES, company_name, fold_upper, slug
from scripts.demo_data.rejections import broken_positions, count_by_reason
from scripts.demo_data.world import World, jitter
from scripts.demo_data.writing import CHUNK, write_lines

OFFER_MAX_AGE_DAYS = 60
# France Travail's wording of the headcount bands (world.SIZES).
FT_SIZE_LABELS = {"1-2": "1 ou 2 salariés", "3-5": "3 à 5 salariés", "6-9": "6 à 9 salariés",
                  "10-19": "10 à 19 salariés", "20-49": "20 à 49 salariés", "50-99": "50 à 99 salariés",
                  "100-199": "100 à 199 salariés", "200-249": "200 à 249 salariés",
                  "250-499": "250 à 499 salariés", "500-999": "500 à 999 salariés",
                  "1000-1999": "1000 à 1999 salariés", "2000-4999": "2000 à 4999 salariés",
                  "5000-9999": "5000 à 9999 salariés", "10000+": "10 000 salariés et plus"}
PARTNERS = ["Hellowork", "Indeed", "Jobteaser", "Meteojob", "Apec"]


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
    broken = broken_positions(rng, count, ["no location"], per=500)
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
    return count_by_reason(broken)
