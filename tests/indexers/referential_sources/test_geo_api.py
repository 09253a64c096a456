"""geo.api.gouv.fr answers → communes/ files: coordinates, arrondissements, postal codes, délégués, errors."""
from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest

from app.referentials.communes import load_communes
from indexers.referential_sources import ConversionError, geo_api
from tests.indexers.referential_sources.payloads import geo_files, geo_payload, in_use_communes


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture()
def converted(tmp_path: Path) -> Path:
    in_use_communes(tmp_path, {"13201", "69123"})
    written = geo_api.convert(geo_files(), tmp_path)
    assert written == {geo_api.COMMUNES: 22, geo_api.POSTCODES: 86, geo_api.DELEGATED: 7,
                       geo_api.DEPARTEMENTS: 13, geo_api.REGIONS: 12}
    return tmp_path


def test_communes_rows_swap_lon_lat_and_name_departements_and_regions(converted: Path) -> None:
    rows = {row["code_insee"]: row for row in _read(converted / geo_api.COMMUNES)}
    assert list(rows) == sorted(rows)
    paris = rows["75056"]
    # GeoJSON writes [longitude, latitude]: Paris is at latitude 48.86, longitude 2.35.
    assert (paris["latitude"], paris["longitude"]) == ("48.8589", "2.347")
    assert paris["nom_departement"] == "Paris" and paris["nom_region"] == "Île-de-France"
    assert paris["codes_postaux"].split("|")[-2:] == ["75020", "75116"] and len(paris["codes_postaux"].split("|")) == 21
    assert paris["premier_code_postal"] == "75001" and paris["population"] == "2103778"
    assert paris["type"] == "commune-actuelle" and paris["code_commune_parente"] == ""
    assert paris["siren"] == "217500016" and paris["source_coordonnees"] == "geo.api.gouv.fr"
    ajaccio = rows["2A004"]
    assert ajaccio["code_departement"] == "2A" and ajaccio["nom_region"] == "Corse"
    assert rows["97501"]["zone"] == "com" and rows["97411"]["zone"] == "drom"
    uninhabited = rows["98415"]
    assert uninhabited["codes_postaux"] == uninhabited["premier_code_postal"] == uninhabited["population"] == ""


def test_arrondissements_get_their_city_and_keep_what_the_api_does_not_publish(converted: Path) -> None:
    rows = {row["code_insee"]: row for row in _read(converted / geo_api.COMMUNES)}
    assert {code: rows[code]["code_commune_parente"] for code in ("75101", "75116", "69381", "13201")} == {
        "75101": "75056", "75116": "75056", "69381": "69123", "13201": "13055"}
    assert rows["75116"]["codes_postaux"] == "75016|75116"
    # No centre in the answer for 13201: the coordinates in use stay, with where they came from.
    assert (rows["13201"]["latitude"], rows["13201"]["longitude"], rows["13201"]["source_coordonnees"]) == (
        "43.30018", "5.38276", "datas.fun")
    # Former codes and departmental arrondissements are not in the API: kept from the file in use.
    assert rows["69123"]["anciens_codes_insee"] == "69232" and rows["69123"]["code_arrondissement"] == "691"
    assert rows["75056"]["anciens_codes_insee"] == ""


def test_postal_codes_long_format_lists_each_commune_of_a_shared_code(converted: Path) -> None:
    by_code: dict[str, list[str]] = {}
    for row in _read(converted / geo_api.POSTCODES):
        by_code.setdefault(row["code_postal"], []).append(row["code_insee"])
    assert by_code["01000"] == ["01053", "01344"]
    assert by_code["75001"] == ["75056", "75101"] and by_code["75016"] == ["75056", "75116"]
    assert by_code["20090"] == ["2A004"] and "98415" not in sum(by_code.values(), [])


def test_delegated_and_associated_communes_resolve_through_the_loader(converted: Path) -> None:
    rows = {row["code_insee"]: row for row in _read(converted / geo_api.DELEGATED)}
    assert rows["01340"]["code_commune_rattachement"] == "01015" and rows["01340"]["type"] == "commune-deleguee"
    assert rows["01120"]["type"] == "commune-associee" and rows["01120"]["code_commune_rattachement"] == "01262"
    communes = load_communes(converted)
    assert len(communes) == 22
    assert communes.get("01340").name == "Arboys en Bugey"  # a délégué code → its commune nouvelle
    assert communes.get("69232").name == "Lyon"  # a former code kept from the file in use
    assert [c.insee for c in communes.for_postcode("75016")] == ["75056", "75116"]
    assert communes.find("Paris 16e Arrondissement").parent == "75056"


def test_departements_and_regions_include_overseas_collectivities(converted: Path) -> None:
    deps = {row["code_departement"]: row for row in _read(converted / geo_api.DEPARTEMENTS)}
    assert deps["975"] == {"code_departement": "975", "nom": "Saint-Pierre-et-Miquelon", "code_region": "975",
                           "code_commune_chef_lieu": "97502", "zone": "com"}
    regions = {row["code_region"]: row for row in _read(converted / geo_api.REGIONS)}
    assert regions["84"]["nom"] == "Auvergne-Rhône-Alpes" and regions["84"]["code_commune_chef_lieu"] == "69123"


def test_downloads_ask_every_zone_and_only_the_needed_fields() -> None:
    urls = dict(geo_api.downloads(["https://geo.api.gouv.fr/"]))
    assert set(urls) == {"communes.json", "communes_associees_deleguees.json", "departements.json", "regions.json"}
    assert urls["communes.json"].startswith("https://geo.api.gouv.fr/communes?type=commune-actuelle,"
                                            "arrondissement-municipal&zone=metro,drom,com&fields=")
    assert "centre" in urls["communes.json"] and "contour" not in urls["communes.json"]
    assert "zone=metro,drom,com" in urls["departements.json"] and "zone=metro,drom,com" in urls["regions.json"]


IN_USE = {"13201": {"latitude": "43.30018", "longitude": "5.38276", "source_coordonnees": "datas.fun"}}


def _communes(mutate) -> list:
    payload = copy.deepcopy(geo_payload("communes.json"))
    mutate(payload)
    return payload


def _paris(payload: list) -> dict:
    return next(item for item in payload if item["code"] == "75056")


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda p: _paris(p).pop("codeDepartement"), "communes.json item 16 (code 75056): missing field 'codeDepartement'"),
    (lambda p: _paris(p).update(centre={"type": "Point", "coordinates": [2.347]}),
     "item 16 (code 75056): field 'centre' is not a GeoJSON Point"),
    (lambda p: _paris(p).update(centre={"type": "Point", "coordinates": [48.8589, 200.0]}),
     "item 16 (code 75056): field 'centre' is out of range"),
    (lambda p: _paris(p).update(codesPostaux="75001"), "field 'codesPostaux' is not a list of postal codes"),
    (lambda p: _paris(p).update(population="2103778"), "field 'population' is not a count"),
    (lambda p: _paris(p).update(code="75O56"), "field 'code' is not an INSEE commune code: '75O56'"),
    (lambda p: _paris(p).update(codeDepartement="99"), "codeDepartement '99' is not in departements.json"),
    (lambda p: p.append(_paris(p)), "item 22 (code 75056): duplicate commune code"),
    (lambda p: p.__setitem__(0, "01015"), "communes.json item 0: expected an object, got str"),
    (lambda p: next(i for i in p if i["code"] == "75101").pop("centre"),
     "item 17 (code 75101): missing field 'centre' and no coordinates in the file in use"),
])
def test_a_malformed_commune_names_the_source_item_and_field(mutate, message: str) -> None:
    departements = geo_api.convert_departements(geo_payload("departements.json"), {})
    regions = geo_api.convert_regions(geo_payload("regions.json"), {})
    with pytest.raises(ConversionError, match="^geo-api ") as error:
        geo_api.convert_communes(_communes(mutate), departements, regions, IN_USE)
    assert message in str(error.value)


def test_an_arrondissement_outside_the_three_cities_is_refused() -> None:
    item = {"code": "33063", "nom": "Bordeaux", "type": "arrondissement-municipal", "codeDepartement": "33",
            "codeRegion": "75", "centre": {"type": "Point", "coordinates": [-0.5874, 44.8572]}}
    with pytest.raises(ConversionError, match="outside Paris, Lyon and Marseille"):
        geo_api.convert_communes([item], [{"code_departement": "33", "nom": "Gironde", "zone": "metro"}],
                                 [{"code_region": "75", "nom": "Nouvelle-Aquitaine"}], {})


def test_a_delegated_commune_without_its_chef_lieu_is_refused() -> None:
    payload = geo_payload("communes_associees_deleguees.json")
    del payload[2]["chefLieu"]
    with pytest.raises(ConversionError, match=r"communes_associees_deleguees.json item 2 \(code 01039\): "
                                              r"missing field 'chefLieu'"):
        geo_api.convert_delegated(payload, {})


@pytest.mark.parametrize(("body", "message"), [
    (b'[{"code":"01015","nom":"Arboys', "geo-api communes.json: not valid JSON (Unterminated string"),
    (b'{"code":400,"message":"Bad Request"}', "geo-api communes.json: expected a JSON array, got dict"),
    (b"\xff\xfe<html>", "geo-api communes.json: not valid JSON"),
])
def test_a_broken_answer_names_the_source(tmp_path: Path, body: bytes, message: str) -> None:
    for path in geo_files():
        (tmp_path / path.name).write_bytes(body if path.name == "communes.json" else path.read_bytes())
    with pytest.raises(ConversionError) as error:
        geo_api.convert(sorted(tmp_path.glob("*.json")), tmp_path / "data")
    assert message in str(error.value)
    assert not (tmp_path / "data" / geo_api.COMMUNES).exists()


def test_a_missing_answer_is_named(tmp_path: Path) -> None:
    files = [path for path in geo_files() if path.name != "regions.json"]
    with pytest.raises(ConversionError, match=r"geo-api: missing answer\(s\) regions.json"):
        geo_api.convert(files, tmp_path)


def test_fixture_items_have_only_the_asked_fields_in_the_asked_order() -> None:
    asked = geo_api.COMMUNE_FIELDS.split(",")
    for item in json.loads((geo_files()[0].parent / "communes.json").read_text(encoding="utf-8")):
        assert list(item) == [name for name in asked if name in item]
