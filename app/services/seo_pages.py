"""Pages for search engines: one page per (job family, city), their sitemap files and structured data.

A *job family* is one parent ROME code (the 532 historic fiches, each with its ROME 4.0 children): its
slug is the masculine form of its label ("Boulanger / Boulangère" → `boulanger`). A *city* is one of
the CITY_COUNT most populous current communes (arrondissements excluded), slugged by name.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from app.referentials import Referentials
from app.referentials.communes import Commune, fold
from app.search import geo
from app.services.match import MatchService

CITY_COUNT = 300
#: The sitemap protocol's limit of URLs per file.
URLS_PER_FILE = 50_000
RADIUS_KM = 30.0
PAGE_SIZE = 12
#: How many of the closest listed cities are tried when a page has nothing nearby.
NEIGHBOURS_TRIED = 8
#: Beyond this a "nearest city" is no help (Nouméa's nearest listed city is on La Réunion).
NEAREST_MAX_KM = 200.0


def slug(text: str) -> str:
    """URL slug: folded, words joined by hyphens ("Saint-Étienne" → "saint-etienne")."""
    return fold(text).replace(" ", "-")


def masculine_label(label: str) -> str:
    """The masculine form of a ROME label ("Agent / Agente de nettoyage" → "Agent de nettoyage")."""
    if " / " not in label:
        return label
    first, second = label.split(" / ", 1)
    return " ".join([*first.split(), *second.split()[len(first.split()):]])


@dataclass(frozen=True)
class Family:
    """One job family: its parent ROME code, its label and slug."""

    code: str
    label: str
    slug: str


@dataclass
class SeoPage:
    """What the template of one (family, city) page shows."""

    family: Family
    city: Commune
    city_slug: str
    answer: dict[str, Any]
    nearby: bool
    nearest: tuple[Commune, str] | None


class SeoCatalogue:
    """The families, the cities and the pages they make, by slug."""

    def __init__(self, refs: Referentials, city_count: int = CITY_COUNT, family_count: int | None = None,
                 urls_per_file: int = URLS_PER_FILE) -> None:
        self.urls_per_file = urls_per_file
        families: dict[str, Family] = {}
        for code in refs.rome.parents[:family_count]:
            label = masculine_label(refs.rome.codes[code].label)
            name = slug(label)
            if name in families:  # two fiches with the same masculine label: the code tells them apart
                name = f"{name}-{code.lower()}"
            families[name] = Family(code, label, name)
        self.families = families
        communes = sorted((c for c in refs.communes if c.kind == "commune-actuelle"),
                          key=lambda c: (-c.population, c.insee))[:city_count]
        cities: dict[str, Commune] = {}
        for commune in communes:
            name = slug(commune.name)
            if name in cities:
                name = f"{name}-{commune.department.lower()}"
            cities[name] = commune
        self.cities = cities

    def paths(self) -> Iterator[str]:
        """Every page's path, families first then cities, in a stable order."""
        for family in self.families:
            for city in self.cities:
                yield f"/metier/{family}/{city}"

    def file_count(self) -> int:
        """How many sitemap files the pages fill."""
        return max(1, math.ceil(len(self.families) * len(self.cities) / self.urls_per_file))

    def file_paths(self, number: int) -> list[str]:
        """The paths of sitemap file `number` (1-based); empty beyond the last."""
        start = (number - 1) * self.urls_per_file
        out = []
        for index, path in enumerate(self.paths()):
            if index >= start + self.urls_per_file:
                break
            if index >= start:
                out.append(path)
        return out

    def page(self, match: MatchService, family_slug: str, city_slug: str) -> SeoPage | None:
        """The page of a family in a city, None for unknown slugs."""
        family, city = self.families.get(family_slug), self.cities.get(city_slug)
        if family is None or city is None:
            return None
        answer = self._match(match, family, city, PAGE_SIZE)
        nearby = answer["total"] > 0
        return SeoPage(family, city, city_slug, answer, nearby, None if nearby else self._nearest(match, family, city))

    @staticmethod
    def _match(match: MatchService, family: Family, city: Commune, page_size: int) -> dict[str, Any]:
        # widen=False: "nearby" means within RADIUS_KM; farther results belong to another city's page.
        return match.match({"romes": [family.code], "insee": city.insee, "radius": RADIUS_KM,
                            "kinds": ["formation", "offer", "company"], "sort": "relevance", "page": 1,
                            "page_size": page_size, "explain": False, "widen": False})

    def _nearest(self, match: MatchService, family: Family, city: Commune) -> tuple[Commune, str] | None:
        """The closest listed city whose page has results, among the NEIGHBOURS_TRIED closest within NEAREST_MAX_KM."""
        others = sorted(((distance_km(city, c), name, c) for name, c in self.cities.items() if c is not city),
                        key=lambda t: (t[0], t[1]))
        for distance, name, other in others[:NEIGHBOURS_TRIED]:
            if distance <= NEAREST_MAX_KM and self._match(match, family, other, 1)["total"]:
                return other, name
        return None


def distance_km(a: Commune, b: Commune) -> float:
    """Great-circle distance between two communes' centres (the engines' formula, app/search/geo.py)."""
    return geo.distance_km(a.latitude, a.longitude, b.latitude, b.longitude)


def job_posting(item: dict[str, Any], url: str) -> dict[str, Any]:
    """schema.org JobPosting of an offer (title, description, datePosted, hiringOrganization, jobLocation)."""
    place = item.get("place") or {}
    data: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "JobPosting", "title": item["title"], "url": url,
        "description": item.get("description") or item["title"],
        "datePosted": str(item.get("published_at") or "")[:10] or None,
        "employmentType": "OTHER",
        "hiringOrganization": {"@type": "Organization",
                               "name": (item.get("organisation") or {}).get("name") or "Entreprise"},
        "jobLocation": {"@type": "Place", "address": {
            "@type": "PostalAddress", "addressLocality": place.get("city") or "",
            "postalCode": place.get("postcode") or "", "addressCountry": "FR"}},
    }
    if item.get("expires_at"):
        data["validThrough"] = str(item["expires_at"])[:10]
    return {k: v for k, v in data.items() if v is not None}


def course(item: dict[str, Any], url: str) -> dict[str, Any]:
    """schema.org Course of a formation (name, description, provider)."""
    organisation = item.get("organisation") or {}
    place = item.get("place") or {}
    description = " · ".join(filter(None, [item.get("diploma") or item.get("rncp_label"),
                                           organisation.get("name"), place.get("city")])) or item["title"]
    return {"@context": "https://schema.org", "@type": "Course", "name": item["title"], "url": url,
            "description": description,
            "provider": {"@type": "Organization", "name": organisation.get("name") or "Centre de formation"}}


_SPACES = re.compile(r"\s+")


def meta_description(page: SeoPage) -> str:
    """The page's meta description: what it lists, with counts."""
    totals = page.answer["totals"]
    text = (f"{page.family.label} en alternance à {page.city.name} : {totals.get('offers', 0)} offres, "
            f"{totals.get('formations', 0)} formations et {totals.get('companies', 0)} entreprises qui recrutent "
            f"à moins de {RADIUS_KM:g} km.")
    return _SPACES.sub(" ", text)[:300]
