"""Builders of realistic documents for engine and service tests, through the real mappings."""
from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from app.referentials import Referentials
from mappings import company, formation, offer
from mappings.common import Place

# Points where people live, plus the places where geography gets awkward: Corsica, the overseas
# departments (far from everything, some west of Greenwich) and the mountains near borders.
ANCHORS = [
    (48.8566, 2.3522), (45.7640, 4.8357), (43.2965, 5.3698), (47.2184, -1.5536), (50.6292, 3.0573),
    (44.8378, -0.5792), (43.6047, 1.4442), (48.5734, 7.7521), (41.9192, 8.7386), (42.6977, 9.4508),
    (16.2650, -61.5510), (14.6161, -61.0588), (4.9224, -52.3135), (-20.8821, 55.4507), (-12.7806, 45.2278),
    (45.8992, 6.1294), (48.3904, -4.4861), (46.1591, -1.1520), (49.4944, 0.1079), (42.6887, 2.8948),
]


def random_point(rng: random.Random) -> tuple[float, float]:
    """A point near an anchor (up to ~150 km away), or anywhere in metropolitan France."""
    if rng.random() < 0.25:
        return rng.uniform(41.3, 51.1), rng.uniform(-5.1, 9.6)
    lat, lon = rng.choice(ANCHORS)
    return lat + rng.gauss(0, 0.5), lon + rng.gauss(0, 0.7)


def make_documents(refs: Referentials, n: int, seed: int, codes: list[str], today: date) -> list[dict[str, Any]]:
    """`n` documents of all three kinds with ROME codes drawn from `codes` (parents and children)."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        lat, lon = random_point(rng)
        place = Place(lat, lon, city=f"Ville {i % 97}", postcode=f"{rng.randint(1000, 95999):05d}")
        romes = sorted(set(rng.sample(codes, rng.randint(1, min(3, len(codes))))))
        index_codes = refs.rome.index_codes(romes)
        kind = ("formation", "offer", "company")[i % 3]
        level = rng.choice([None, 3, 4, 5, 6, 7])
        if kind == "formation":
            record = formation.Formation(key=f"F{i:06d}", title=f"Formation {i}", romes=romes,
                                         rome_index_codes=index_codes, place=place, diploma_level=level,
                                         centre_name=f"CFA {i % 13}")
            docs.append(formation.to_document(record))
        elif kind == "offer":
            published = today - timedelta(days=rng.randint(0, 90))
            expires = published + timedelta(days=rng.choice([20, 61, 120]))
            contracts = rng.choice([["apprentissage"], ["professionnalisation"],
                                    ["apprentissage", "professionnalisation"]])
            record = offer.Offer(source=rng.choice(["france_travail", "deposited"]), source_id=f"O{i:06d}",
                                 title=f"Offre {i}", romes=romes, rome_index_codes=index_codes, place=place,
                                 published_at=published.isoformat(), expires_at=expires.isoformat(),
                                 contract_types=contracts, diploma_level=level, company_name=f"Entreprise {i}",
                                 apply_email="rh@example.org", application_count=rng.randint(0, 90))
            docs.append(offer.to_document(record))
        else:
            scores = {code: round(rng.uniform(1, 100), 2) for code in index_codes}
            record = company.Company(siret=f"{10**13 + i:014d}", name=f"Société {i}", place=place,
                                     rome_scores=scores, rome_index_codes=index_codes, naf="1071C",
                                     email="contact@example.org")
            docs.append(company.to_document(record))
    return docs
