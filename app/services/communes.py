"""Place autocomplete over the communes gazetteer: names, postal codes, INSEE codes, arrondissements."""
from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from app.metiers.text import fold
from app.referentials.communes import INSEE_PATTERN, Commune, Communes

MAX_QUERY_CHARS = 200
# Match quality tiers. The exact name leads the prefix tier by less than the population lift, so a
# hamlet named exactly "Aix" does not hide Aix-en-Provence, while a town of a few thousand people
# typed in full still comes before the cities its name starts.
EXACT, PREFIX, WORDS, FUZZY = 1.0, 0.93, 0.75, 0.55
# Population lifts a place by up to this much (Paris ≈ the full lift, a village of 100 ≈ a third):
# it orders homonyms and prefix matches, larger places first.
POPULATION_LIFT = 0.20
# Typo tolerance: names at least this similar (rapidfuzz ratio, 0-100) to the typed text.
FUZZY_CUTOFF = 80
# Candidates read from a prefix range before ordering by population: every one when fewer.
RANGE_SCAN = 64
# For a full postal code, its arrondissement is the precise answer and must come before its city,
# whatever the city's population lift.
PRECISE_POSTCODE = POPULATION_LIFT + 0.05
# The best possible score (exact postal code of an arrondissement of Paris), to show scores on 0-1.
MAX_SCORE = EXACT + PRECISE_POSTCODE + POPULATION_LIFT

_ORDINAL = re.compile(r"\b(\d{1,2})\s*(?:er|re|eme|e|ieme)\b")
_ARRONDISSEMENT = re.compile(r"\s+(?:arrondissement|arrdt|arr)\b.*$")
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "mt": "mont", "s/": "sur"}
_DIGITS = re.compile(r"^\d{1,5}$")


def place_key(text: str) -> str:
    """The comparable form of a place name: folded, "st" → "saint", "3e arrondissement" → "3"."""
    key = fold(text)
    key = _ORDINAL.sub(r"\1", key)
    key = _ARRONDISSEMENT.sub("", key)
    return " ".join(_ABBREVIATIONS.get(word, word) for word in key.split())


@dataclass(frozen=True)
class PlaceSuggestion:
    """One place: INSEE code, name, postal codes, department, coordinates and what kind of place it is."""

    commune: Commune
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the API."""
        c = self.commune
        return {"insee": c.insee, "name": c.name, "postcodes": list(c.postcodes),
                "department": {"code": c.department, "name": c.department_name},
                "latitude": c.latitude, "longitude": c.longitude, "population": c.population,
                "kind": "arrondissement" if c.kind == "arrondissement-municipal" else "commune",
                "parent_insee": c.parent or None, "score": round(min(1.0, self.score / MAX_SCORE), 4)}


class CommuneSearch:
    """Prefix, word, postal-code, INSEE and typo-tolerant lookups, larger places first when ambiguous."""

    def __init__(self, communes: Communes) -> None:
        self.communes = communes
        self._items: list[Commune] = sorted(communes, key=lambda c: c.insee)
        self._row = {c.insee: i for i, c in enumerate(self._items)}
        lift = [POPULATION_LIFT * min(1.0, math.log10(1 + c.population) / 6.3) for c in self._items]
        self._lift = np.asarray(lift, dtype=np.float32)
        keys = [place_key(c.name) for c in self._items]
        self._keys = keys
        order = sorted(range(len(keys)), key=lambda i: keys[i])
        self._sorted_keys = [keys[i] for i in order]
        self._sorted_ids = np.asarray(order, dtype=np.int32)
        words = sorted((word, i) for i, key in enumerate(keys) for word in set(key.split()))
        self._words = [w for w, _ in words]
        self._word_ids = np.asarray([i for _, i in words], dtype=np.int32)
        postcodes = sorted((pc, i) for i, c in enumerate(self._items) for pc in c.postcodes)
        self._postcodes = [pc for pc, _ in postcodes]
        self._postcode_ids = np.asarray([i for _, i in postcodes], dtype=np.int32)
        self._by_initial: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            self._by_initial.setdefault(key[:1], []).append(i)

    def search(self, text: str, limit: int = 10) -> list[PlaceSuggestion]:
        """Places matching `text`, best first, at most `limit`."""
        query = (text or "").strip()[:MAX_QUERY_CHARS]
        if not query:
            return []
        scores: dict[int, float] = {}
        compact = query.replace(" ", "")
        if _DIGITS.match(compact):
            self._codes(compact, scores)
        elif INSEE_PATTERN.match(query.upper()):
            self._insee(query, scores, EXACT)
        else:
            self._names(place_key(query), scores, limit)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], -self._items[item[0]].population))
        return [PlaceSuggestion(self._items[i], score) for i, score in ranked[:limit]]

    def _offer(self, scores: dict[int, float], ids, quality: float) -> None:
        for i in np.asarray(ids, dtype=np.int64).tolist():
            value = quality + float(self._lift[i])
            if value > scores.get(i, 0.0):
                scores[i] = value

    def _codes(self, digits: str, scores: dict[int, float]) -> None:
        """Postal codes (full or started) and INSEE codes: "69003" is Lyon 3e first, then Lyon."""
        lo = bisect.bisect_left(self._postcodes, digits)
        hi = bisect.bisect_left(self._postcodes, digits + ":")
        ids = self._postcode_ids[lo:hi]
        if len(digits) == 5:
            for i in ids.tolist():
                # The arrondissement is the precise answer to its own postal code.
                precise = PRECISE_POSTCODE if self._items[i].kind == "arrondissement-municipal" else 0.0
                scores[i] = max(scores.get(i, 0.0), EXACT + precise + float(self._lift[i]))
            self._insee(digits, scores, PREFIX)
        else:
            self._offer(scores, self._top_population(ids), PREFIX)

    def _insee(self, code: str, scores: dict[int, float], quality: float) -> None:
        commune = self.communes.get(code)
        if commune is not None:
            self._offer(scores, [self._row[commune.insee]], quality)

    def _top_population(self, ids: np.ndarray) -> np.ndarray:
        if len(ids) <= RANGE_SCAN:
            return ids
        lifts = self._lift[ids]
        return ids[np.argpartition(-lifts, RANGE_SCAN - 1)[:RANGE_SCAN]]

    def _names(self, key: str, scores: dict[int, float], limit: int) -> None:
        if not key:
            return
        lo = bisect.bisect_left(self._sorted_keys, key)
        hi = bisect.bisect_left(self._sorted_keys, key + "\x7f")
        ids = self._sorted_ids[lo:hi]
        exact = [i for i in ids.tolist() if self._keys[i] == key]
        self._offer(scores, exact, EXACT)
        self._offer(scores, self._top_population(ids), PREFIX)
        self._word_prefixes(key, scores)
        if len(scores) < limit and len(key) >= 4:
            self._fuzzy(key, scores)

    def _word_prefixes(self, key: str, scores: dict[int, float]) -> None:
        """Every typed word starts a word of the name, in any order ("etienne" → Saint-Étienne)."""
        common: np.ndarray | None = None
        for word in key.split():
            lo = bisect.bisect_left(self._words, word)
            hi = bisect.bisect_left(self._words, word + "\x7f")
            ids = np.unique(self._word_ids[lo:hi])
            common = ids if common is None else np.intersect1d(common, ids, assume_unique=True)
            if not len(common):
                return
        if common is not None:
            self._offer(scores, self._top_population(common), WORDS)

    def _fuzzy(self, key: str, scores: dict[int, float]) -> None:
        """Names within a typo or two of the typed text, or of its start ("marseile", "bordeau")."""
        ids = self._by_initial.get(key[:1], [])
        names = [self._keys[i][: len(key) + 1] for i in ids]
        for _, similarity, position in process.extract(key, names, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF,
                                                      limit=RANGE_SCAN):
            i = ids[position]
            value = FUZZY * similarity / 100 + float(self._lift[i])
            if value > scores.get(i, 0.0):
                scores[i] = value
