"""Communes, départements and régions from geo.api.gouv.fr (API Découpage administratif) into the communes/ files."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from indexers.referential_sources.common import ConversionError, SourceFormat, clean, rows_in_use, write_csv

NAME = "geo-api"
INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
POSTCODE = re.compile(r"^\d{5}$")

# The API answers only what `fields` asks for; `zone` is given because the API leaves out the overseas
# collectivities (COM) by default, and our gazetteer keeps them as the data directory always did.
COMMUNE_FIELDS = "code,nom,type,codesPostaux,centre,population,codeDepartement,codeRegion,zone,siren"
ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("communes.json", "/communes?type=commune-actuelle,arrondissement-municipal&zone=metro,drom,com"
                      f"&fields={COMMUNE_FIELDS}&format=json"),
    ("communes_associees_deleguees.json", "/communes_associees_deleguees?type=commune-associee,commune-deleguee"
                                          "&fields=code,nom,type,chefLieu,codeDepartement,codeRegion,codesPostaux"
                                          "&format=json"),
    ("departements.json", "/departements?zone=metro,drom,com&fields=code,nom,codeRegion,chefLieu,zone"),
    ("regions.json", "/regions?zone=metro,drom,com&fields=code,nom,chefLieu,zone"),
)

COMMUNES = "communes/communes.csv"
POSTCODES = "communes/communes_codes_postaux.csv"
DELEGATED = "communes/communes_deleguees_associees.csv"
DEPARTEMENTS = "communes/departements.csv"
REGIONS = "communes/regions.csv"

COMMUNE_COLUMNS = ("code_insee", "nom", "type", "code_commune_parente", "code_departement", "nom_departement",
                   "code_region", "nom_region", "zone", "code_arrondissement", "codes_postaux", "premier_code_postal",
                   "population", "latitude", "longitude", "source_coordonnees", "siren", "anciens_codes_insee")
POSTCODE_COLUMNS = ("code_postal", "code_insee", "nom_commune", "type")
DELEGATED_COLUMNS = ("code_insee", "nom", "type", "code_commune_rattachement", "code_departement", "code_region",
                     "codes_postaux")
DEPARTEMENT_COLUMNS = ("code_departement", "nom", "code_region", "code_commune_chef_lieu", "zone")
REGION_COLUMNS = ("code_region", "nom", "code_commune_chef_lieu", "zone")

# The API does not say which commune an arrondissement municipal belongs to; the law fixes it (loi PLM).
PLM_PARENTS = (("751", "75056"), ("6938", "69123"), ("132", "13055"))


class _Item:
    """One object of an API answer, with the position and code that an error message names."""

    def __init__(self, source: str, index: int, value: Any) -> None:
        self.where = f"{NAME} {source} item {index}"
        if not isinstance(value, dict):
            raise ConversionError(f"{self.where}: expected an object, got {type(value).__name__}")
        self.value = value
        code = value.get("code")
        if isinstance(code, str) and code:
            self.where += f" (code {code})"

    def fail(self, message: str) -> ConversionError:
        return ConversionError(f"{self.where}: {message}")

    def text(self, field: str, required: bool = True) -> str:
        value = self.value.get(field)
        if value is None or value == "":
            if required:
                raise self.fail(f"missing field {field!r}")
            return ""
        if not isinstance(value, str):
            raise self.fail(f"field {field!r} is not a string: {value!r}")
        return clean(value)

    def code(self, field: str, required: bool = True) -> str:
        value = self.text(field, required)
        if value and not INSEE.match(value):
            raise self.fail(f"field {field!r} is not an INSEE commune code: {value!r}")
        return value

    def postcodes(self) -> list[str]:
        value = self.value.get("codesPostaux")
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(p, str) and POSTCODE.match(p) for p in value):
            raise self.fail(f"field 'codesPostaux' is not a list of postal codes: {value!r}")
        return list(dict.fromkeys(value))

    def population(self) -> str:
        value = self.value.get("population")
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(f"field 'population' is not a count: {value!r}")
        return str(value)

    def centre(self) -> tuple[str, str] | None:
        """(latitude, longitude) of the GeoJSON Point, whose coordinates are [longitude, latitude]."""
        value = self.value.get("centre")
        if value is None:
            return None
        coordinates = value.get("coordinates") if isinstance(value, dict) else None
        if not (isinstance(coordinates, list) and len(coordinates) == 2
                and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coordinates)):
            raise self.fail(f"field 'centre' is not a GeoJSON Point [longitude, latitude]: {value!r}")
        lon, lat = coordinates
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise self.fail(f"field 'centre' is out of range: {coordinates!r}")
        return str(lat), str(lon)


def _items(source: str, payload: Any) -> list[_Item]:
    if not isinstance(payload, list):
        raise ConversionError(f"{NAME} {source}: expected a JSON array, got {type(payload).__name__}")
    return [_Item(source, index, value) for index, value in enumerate(payload)]


def load_payload(path: Path) -> Any:
    """Parse one downloaded answer, naming the file and the position of a JSON error."""
    try:
        return json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError(f"{NAME} {path.name}: not valid JSON ({exc})") from None


def _divisions(source: str, what: str, key: str, own: Sequence[tuple[str, str]], payload: Any,
               in_use: Mapping[str, Mapping[str, str]]) -> list[dict[str, str]]:
    """Rows of régions or départements by code: `key` and `nom`, the `own` (column, API field) pairs, then the
    chef-lieu and zone, which keep their value in use when the API leaves them out."""
    rows: dict[str, dict[str, str]] = {}
    for item in _items(source, payload):
        code = item.text("code")
        old = in_use.get(code, {})
        if code in rows:
            raise item.fail(f"duplicate {what} code")
        rows[code] = {key: code, "nom": item.text("nom"), **{column: item.text(field) for column, field in own},
                      "code_commune_chef_lieu": item.code("chefLieu", False) or old.get("code_commune_chef_lieu", ""),
                      "zone": item.text("zone", False) or old.get("zone", "")}
    return [rows[code] for code in sorted(rows)]


def convert_regions(payload: Any, in_use: Mapping[str, Mapping[str, str]]) -> list[dict[str, str]]:
    """regions.csv rows from the /regions answer; a field the API leaves out keeps its value in use."""
    return _divisions("regions.json", "region", "code_region", (), payload, in_use)


def convert_departements(payload: Any, in_use: Mapping[str, Mapping[str, str]]) -> list[dict[str, str]]:
    """departements.csv rows from the /departements answer."""
    return _divisions("departements.json", "département", "code_departement", (("code_region", "codeRegion"),),
                      payload, in_use)


def convert_communes(payload: Any, departements: Sequence[Mapping[str, str]], regions: Sequence[Mapping[str, str]],
                     in_use: Mapping[str, Mapping[str, str]]) -> list[dict[str, str]]:
    """communes.csv rows from the /communes answer, with département and région names from their own answers.

    The API has no departmental arrondissement nor former codes: those columns keep the values of the
    file in use, as do the coordinates of a commune the API gives without a centre.
    """
    deps = {row["code_departement"]: row for row in departements}
    regs = {row["code_region"]: row for row in regions}
    rows: dict[str, dict[str, str]] = {}
    for item in _items("communes.json", payload):
        code = item.code("code")
        if code in rows:
            raise item.fail("duplicate commune code")
        kind = item.text("type")
        if kind not in ("commune-actuelle", "arrondissement-municipal"):
            raise item.fail(f"unexpected type {kind!r}")
        old = in_use.get(code, {})
        dep_code, reg_code = item.text("codeDepartement"), item.text("codeRegion")
        dep_name = _name(item, deps, dep_code, "codeDepartement", "departements.json", old.get("nom_departement"))
        reg_name = _name(item, regs, reg_code, "codeRegion", "regions.json", old.get("nom_region"))
        centre = item.centre()
        if centre is not None:
            (lat, lon), origin = centre, "geo.api.gouv.fr"
        elif old.get("latitude") and old.get("longitude"):
            (lat, lon), origin = (old["latitude"], old["longitude"]), old.get("source_coordonnees", "")
        else:
            raise item.fail("missing field 'centre' and no coordinates in the file in use")
        postcodes = item.postcodes()
        rows[code] = {
            "code_insee": code, "nom": item.text("nom"), "type": kind,
            "code_commune_parente": _plm_parent(item, code) if kind == "arrondissement-municipal" else "",
            "code_departement": dep_code, "nom_departement": dep_name, "code_region": reg_code, "nom_region": reg_name,
            "zone": item.text("zone", False) or deps.get(dep_code, {}).get("zone") or old.get("zone", ""),
            "code_arrondissement": old.get("code_arrondissement", ""),
            "codes_postaux": "|".join(postcodes), "premier_code_postal": postcodes[0] if postcodes else "",
            "population": item.population(), "latitude": lat, "longitude": lon, "source_coordonnees": origin,
            "siren": item.text("siren", False), "anciens_codes_insee": old.get("anciens_codes_insee", ""),
        }
    return [rows[code] for code in sorted(rows)]


def _name(item: _Item, table: Mapping[str, Mapping[str, str]], code: str, field: str, source: str,
          in_use: str | None) -> str:
    """The name of a département or région: from its own answer, else as the file in use has it for this commune."""
    if code in table:
        return table[code]["nom"]
    if in_use:
        return in_use
    raise item.fail(f"{field} {code!r} is not in {source}")


def _plm_parent(item: _Item, code: str) -> str:
    for prefix, parent in PLM_PARENTS:
        if code.startswith(prefix):
            return parent
    raise item.fail("arrondissement municipal outside Paris, Lyon and Marseille")


def postcode_rows(communes: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """communes_codes_postaux.csv: one row per (postal code, commune), a postal code shared by several communes
    (and by a city and its arrondissement) appearing once for each."""
    rows = [{"code_postal": postcode, "code_insee": row["code_insee"], "nom_commune": row["nom"], "type": row["type"]}
            for row in communes for postcode in row["codes_postaux"].split("|") if postcode]
    return sorted(rows, key=lambda r: (r["code_postal"], r["code_insee"]))


def convert_delegated(payload: Any, in_use: Mapping[str, Mapping[str, str]]) -> list[dict[str, str]]:
    """communes_deleguees_associees.csv rows from the /communes_associees_deleguees answer."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for item in _items("communes_associees_deleguees.json", payload):
        code, kind = item.code("code"), item.text("type")
        if kind not in ("commune-deleguee", "commune-associee"):
            raise item.fail(f"unexpected type {kind!r}")
        if (code, kind) in rows:
            raise item.fail("duplicate code")
        postcodes = item.postcodes()
        rows[(code, kind)] = {
            "code_insee": code, "nom": item.text("nom"), "type": kind,
            "code_commune_rattachement": item.code("chefLieu"),
            "code_departement": item.text("codeDepartement", False), "code_region": item.text("codeRegion", False),
            "codes_postaux": "|".join(postcodes) if postcodes else in_use.get(code, {}).get("codes_postaux", ""),
        }
    return [rows[key] for key in sorted(rows)]


def downloads(urls: Sequence[str]) -> list[tuple[str, str]]:
    """The four answers to fetch from the API's base URL (e.g. https://geo.api.gouv.fr)."""
    base = urls[0].rstrip("/")
    return [(name, base + query) for name, query in ENDPOINTS]


def convert(files: Sequence[Path], data_dir: Path) -> dict[str, int]:
    """Write the five communes/ files from the downloaded answers; rows written per file."""
    by_name = {path.name: path for path in files}
    missing = [name for name, _ in ENDPOINTS if name not in by_name]
    if missing:
        raise ConversionError(f"{NAME}: missing answer(s) {', '.join(missing)}")
    payloads = {name: load_payload(by_name[name]) for name, _ in ENDPOINTS}
    regions = convert_regions(payloads["regions.json"], rows_in_use(data_dir / REGIONS, "code_region"))
    departements = convert_departements(payloads["departements.json"],
                                         rows_in_use(data_dir / DEPARTEMENTS, "code_departement"))
    communes = convert_communes(payloads["communes.json"], departements, regions,
                                rows_in_use(data_dir / COMMUNES, "code_insee"))
    delegated = convert_delegated(payloads["communes_associees_deleguees.json"],
                                  rows_in_use(data_dir / DELEGATED, "code_insee"))
    return {
        COMMUNES: write_csv(data_dir / COMMUNES, COMMUNE_COLUMNS, communes),
        POSTCODES: write_csv(data_dir / POSTCODES, POSTCODE_COLUMNS, postcode_rows(communes)),
        DELEGATED: write_csv(data_dir / DELEGATED, DELEGATED_COLUMNS, delegated),
        DEPARTEMENTS: write_csv(data_dir / DEPARTEMENTS, DEPARTEMENT_COLUMNS, departements),
        REGIONS: write_csv(data_dir / REGIONS, REGION_COLUMNS, regions),
    }


FORMAT = SourceFormat(name=NAME, dataset="communes", outputs=(COMMUNES, POSTCODES, DELEGATED, DEPARTEMENTS, REGIONS),
                      single_url=True, downloads=downloads, convert=convert)
