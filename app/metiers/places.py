"""A place inside a job query ("apprenti électricien sur Lyon", "cap cuisine à Paris", "boulanger 69003")."""
from __future__ import annotations

import re
from dataclasses import dataclass

from app.referentials.communes import Commune, Communes, fold

# What introduces a place in French search text, folded ("près de" → "pres de"). "en" is left out:
# "en alternance", "en boulangerie" are far commoner than "en Avignon".
PREPOSITIONS = (("pres", "de"), ("autour", "de"), ("a", "cote", "de"), ("region", "de"), ("proche", "de"),
                ("a",), ("au",), ("sur",), ("vers",), ("dans",), ("secteur",))
# A commune name in a query is at most this many words ("saint martin d heres").
MAX_NAME_WORDS = 5
# After a preposition, a commune smaller than this is more likely a word of the job ("aide à domicile",
# "travail sur mesure") than a place a young person searches in.
MIN_POPULATION = 2000
_POSTCODE = re.compile(r"^\d{5}$")


@dataclass(frozen=True)
class PlaceInText:
    """The commune found in a query and the query without it."""

    commune: Commune
    job_text: str
    matched: str

    def to_dict(self) -> dict:
        """The JSON form of the résolveur's answer."""
        c = self.commune
        return {"insee": c.insee, "name": c.name, "postcodes": list(c.postcodes), "latitude": c.latitude,
                "longitude": c.longitude, "matched": self.matched}


def find_place(communes: Communes, text: str) -> PlaceInText | None:
    """The last place phrase of `text` (preposition + commune name, or a postal code), else None."""
    words = fold(text).split()
    found: PlaceInText | None = None
    i = 0
    while i < len(words):
        hit = _place_at(communes, words, i)
        if hit is not None:
            start, end, commune = hit
            rest = words[:start] + words[end:]
            found = PlaceInText(commune, " ".join(rest), " ".join(words[start:end]))
            i = end
        else:
            i += 1
    return found if found is not None and found.job_text.strip() else None


def _place_at(communes: Communes, words: list[str], i: int) -> tuple[int, int, Commune] | None:
    if _POSTCODE.match(words[i]):
        commune = communes.find(words[i])
        if commune is not None:
            start = i - 1 if i > 0 and words[i - 1] in ("a", "sur", "vers", "dans", "cp") else i
            return start, i + 1, commune
        return None
    for prep in PREPOSITIONS:
        if tuple(words[i:i + len(prep)]) != prep:
            continue
        first = i + len(prep)
        for size in range(min(MAX_NAME_WORDS, len(words) - first), 0, -1):
            name = " ".join(words[first:first + size])
            commune = communes.find(name) if not name.isdigit() else None
            if commune is not None and commune.population >= MIN_POPULATION:
                return i, first + size, commune
    return None
