"""Communes gazetteer: INSEE codes, names, postal codes, departments, coordinates, population."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from app.referentials.csvfile import check, parse_float, read_rows

INSEE_PATTERN = re.compile(r"^(\d{5}|2[AB]\d{3})$")


@dataclass(frozen=True)
class Commune:
    """A commune or an arrondissement of Paris, Lyon or Marseille."""

    insee: str
    name: str
    kind: str
    parent: str
    department: str
    department_name: str
    region: str
    zone: str
    postcodes: tuple[str, ...]
    population: int
    latitude: float
    longitude: float


def fold(text: str) -> str:
    """Lower-case, strip accents and turn punctuation into single spaces ("Saint-Étienne" → "saint etienne")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text).split())


class Communes:
    """Lookups by INSEE code (current, former or délégué), postal code and folded name."""

    def __init__(self, communes: list[Commune], aliases: dict[str, str]) -> None:
        self.by_insee: dict[str, Commune] = {c.insee: c for c in communes}
        self._aliases = aliases
        self.by_postcode: dict[str, list[Commune]] = {}
        self.by_name: dict[str, list[Commune]] = {}
        for commune in communes:
            for postcode in commune.postcodes:
                self.by_postcode.setdefault(postcode, []).append(commune)
            self.by_name.setdefault(fold(commune.name), []).append(commune)
        for group in (*self.by_postcode.values(), *self.by_name.values()):
            group.sort(key=lambda c: (-c.population, c.insee))

    def __len__(self) -> int:
        return len(self.by_insee)

    def __iter__(self):
        return iter(self.by_insee.values())

    def get(self, insee: str) -> Commune | None:
        """The commune of an INSEE code, following former and délégué codes to today's commune."""
        code = insee.strip().upper()
        found = self.by_insee.get(code)
        if found is None and code in self._aliases:
            found = self.by_insee.get(self._aliases[code])
        return found

    def for_postcode(self, postcode: str) -> list[Commune]:
        """Communes sharing a postal code, most populous first."""
        return list(self.by_postcode.get(postcode.strip(), []))

    def find(self, text: str) -> Commune | None:
        """The most populous commune whose name, postal code or INSEE code is `text`, else None."""
        query = text.strip()
        # People type postal codes far more often than INSEE codes ("69003" is Lyon 3e, not Albigny).
        if re.fullmatch(r"\d{5}", query) and self.by_postcode.get(query):
            return self.by_postcode[query][0]
        if INSEE_PATTERN.match(query.upper()) and self.get(query):
            return self.get(query)
        folded = fold(query)
        folded = re.sub(r"^st(e?) ", r"saint\1 ", folded)
        matches = [c for c in self.by_name.get(folded, []) if c.kind == "commune-actuelle"] or \
            self.by_name.get(folded, [])
        return matches[0] if matches else None


def load_communes(root: Path) -> Communes:
    """Read communes.csv and the délégué/associé table of the data directory."""
    path = root / "communes" / "communes.csv"
    communes = []
    aliases: dict[str, str] = {}
    for line, row in read_rows(path, ["code_insee", "nom", "type", "code_commune_parente", "code_departement",
                                      "nom_departement", "code_region", "zone", "codes_postaux", "population",
                                      "latitude", "longitude", "anciens_codes_insee"]):
        check(bool(INSEE_PATTERN.match(row["code_insee"])), path, line, f"bad INSEE code {row['code_insee']!r}")
        lat = parse_float(path, line, "latitude", row["latitude"])
        lon = parse_float(path, line, "longitude", row["longitude"])
        check(-90 <= lat <= 90 and -180 <= lon <= 180, path, line, f"coordinates out of range: {lat}, {lon}")
        population = int(parse_float(path, line, "population", row["population"])) if row["population"] else 0
        communes.append(Commune(
            insee=row["code_insee"], name=row["nom"], kind=row["type"], parent=row["code_commune_parente"],
            department=row["code_departement"], department_name=row["nom_departement"], region=row["code_region"],
            zone=row["zone"], postcodes=tuple(p for p in row["codes_postaux"].split("|") if p),
            population=population, latitude=lat, longitude=lon,
        ))
        for old in row["anciens_codes_insee"].split("|"):
            if old:
                aliases.setdefault(old, row["code_insee"])
    path = root / "communes" / "communes_deleguees_associees.csv"
    for _, row in read_rows(path, ["code_insee", "code_commune_rattachement"]):
        aliases.setdefault(row["code_insee"], row["code_commune_rattachement"])
    return Communes(communes, aliases)
