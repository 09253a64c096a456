"""Catalogue indexer: 2022 mock and 2020 real item, coordinates, ROME validation, sessions, flags, de-duplication."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.referentials import Referentials
from app.search.geo import distance_km
from indexers import ImportStats, Rejected
from indexers.catalogue import iter_documents, map_formation, parse_coordinates


@pytest.fixture(scope="module")
def samples(settings: Settings) -> Path:
    return Path(settings.data_dir) / "samples"


@pytest.fixture(scope="module")
def mock_2022(samples: Path) -> dict[str, Any]:
    return json.loads((samples / "catalogue_formation_item_lba_mock_2022.json").read_text(encoding="utf-8"))


def _item(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(base)
    item.update(changes)
    return item


def test_2022_mock_item_maps_with_its_rome_code(mock_2022: dict[str, Any], refs: Referentials) -> None:
    warnings: list[str] = []
    formation = map_formation(mock_2022, refs, warnings.append)
    assert formation.key == "id-formation-test"
    assert formation.title == "BOULANGER (CAP)"
    assert (formation.romes, formation.rome_index_codes) == (["D1102"], ["D1102"])
    assert formation.diploma_level == 3  # "3 (CAP...)"
    assert (formation.place.latitude, formation.place.longitude) == (46.002614, 6.15737772159091)
    assert (formation.place.insee, formation.place.postcode, formation.place.address) == (
        "74137", "74570", "126 route des emplois")
    assert (formation.centre_siret, formation.centre_uai, formation.manager_siret) == (
        "30000000000018", "0700008G", "30000004600018")
    assert formation.start_dates == ["2021-09-01", "2022-09-01"]
    assert (formation.rncp_code, formation.cfd) == ("RNCP18704", "50020007")
    assert formation.callback_eligible is False and formation.distance_learning is False
    assert warnings == []


def test_2020_item_streams_from_its_array(samples: Path, refs: Referentials) -> None:
    stats = ImportStats("catalogue")
    docs = list(iter_documents(samples / "catalogue_apprentissage_formation_item_2020.json", refs, stats))
    assert (stats.read, stats.indexed, stats.rejected_total) == (1, 1, 0)
    doc = docs[0]
    assert doc["id"] == "5e8df94720ff3b216126892e"  # no clé ministère éducatif in 2020: the record id
    assert doc["romes"] == ["F1202"] and doc["diploma_level"] == 4  # "4 (Bac...)"
    assert doc["location"] == {"lat": 44.854985, "lon": 0.525287}
    assert doc["start_dates"] == []  # month names without a year are not dates
    assert doc["organisation"]["uai"] == "0241315Z"
    assert doc["private"] == {"email": "contact@example.org"}


@pytest.mark.parametrize(("value", "expected"), [
    ("48.8566,2.3522", (48.8566, 2.3522)), (" -20.88 , 55.45 ", (-20.88, 55.45)), ("", None), (None, None),
])
def test_coordinates_parse(value: Any, expected: Any) -> None:
    assert parse_coordinates(value) == expected


@pytest.mark.parametrize("value", ["48.85;2.35", "abc,def", "95.5,2.3", "0,0", "48.85"])
def test_bad_coordinates_are_rejected(value: str, mock_2022: dict[str, Any], refs: Referentials) -> None:
    with pytest.raises(Rejected) as rejected:
        map_formation(_item(mock_2022, lieu_formation_geo_coordonnees=value), refs)
    assert rejected.value.reason == "bad coordinates"


def test_swapped_coordinates_are_put_back_in_order(mock_2022: dict[str, Any], refs: Referentials) -> None:
    item = _item(mock_2022, lieu_formation_geo_coordonnees="5.3919076,43.2701626", code_commune_insee="13055",
                 code_postal="13009", idea_geo_coordonnees_etablissement=None)
    warnings: list[str] = []
    formation = map_formation(item, refs, warnings.append)
    assert (formation.place.latitude, formation.place.longitude) == (43.2701626, 5.3919076)
    assert warnings == ["swapped coordinates"]


def test_point_far_from_the_commune_falls_back_to_its_centre(mock_2022: dict[str, Any], refs: Referentials) -> None:
    warnings: list[str] = []
    formation = map_formation(_item(mock_2022, lieu_formation_geo_coordonnees="48.8566,2.3522"), refs,
                              warnings.append)
    commune = refs.communes.get("74137")
    assert distance_km(formation.place.latitude, formation.place.longitude, commune.latitude,
                       commune.longitude) < 0.001
    assert warnings == ["coordinates far from commune"]


def test_without_coordinates_the_commune_centre_is_used(mock_2022: dict[str, Any], refs: Referentials) -> None:
    item = _item(mock_2022, idea_geo_coordonnees_etablissement=None)
    warnings: list[str] = []
    formation = map_formation(item, refs, warnings.append)
    commune = refs.communes.get("74137")
    assert (formation.place.latitude, formation.place.longitude) == (commune.latitude, commune.longitude)
    assert warnings == ["located at commune centre"]
    with pytest.raises(Rejected) as rejected:
        map_formation(_item(item, code_commune_insee=None, code_postal=None), refs)
    assert rejected.value.reason == "no location"


def test_unknown_rome_codes_are_dropped_and_none_left_is_a_rejection(mock_2022: dict[str, Any],
                                                                     refs: Referentials) -> None:
    warnings: list[str] = []
    formation = map_formation(_item(mock_2022, rome_codes=["Z9999", "D1102", "d1102", "D1108"]), refs,
                              warnings.append)
    assert formation.romes == ["D1102", "D1108"]
    assert formation.rome_index_codes == ["D1102", "D1108"]
    assert warnings == ["unknown ROME code dropped"]
    for codes in ([], ["Z9999"], None):
        with pytest.raises(Rejected) as rejected:
            map_formation(_item(mock_2022, rome_codes=codes), refs)
        assert rejected.value.reason == "no known ROME code"


def test_sessions_duration_and_flags(mock_2022: dict[str, Any], refs: Referentials) -> None:
    item = _item(mock_2022, date_debut=["2026-09-01T00:00:00.000Z", "2025-09-01T00:00:00.000Z"],
                 date_fin=["2028-06-30T00:00:00.000Z"], entierement_a_distance=True,
                 rdv_referrers=["LBA", "JEUNE_1_SOLUTION"], lieu_formation_email="cfa@example.org")
    formation = map_formation(item, refs)
    assert formation.start_dates == ["2025-09-01", "2026-09-01"]
    assert formation.duration_days == 668  # first session: 1 Sept 2026 → 30 June 2028
    assert formation.distance_learning is True
    assert formation.callback_eligible is True
    assert formation.contact_email == "cfa@example.org"
    # Callback needs both the LBA referrer and an address to send the request to.
    assert map_formation(_item(item, rdv_referrers=["PARCOURSUP"]), refs).callback_eligible is False
    assert map_formation(_item(item, lieu_formation_email=None, email=None), refs).callback_eligible is False
    assert map_formation(_item(mock_2022, duree="2"), refs).duration_days == 730


@pytest.mark.parametrize(("changes", "reason"), [
    ({"cle_ministere_educatif": None, "id_rco_formation": "", "id": None}, "missing key"),
    ({"published": False}, "unpublished"),
    ({"intitule_long": "", "intitule_court": None}, "missing title"),
])
def test_other_rejections(mock_2022: dict[str, Any], refs: Referentials, changes: dict[str, Any],
                          reason: str) -> None:
    with pytest.raises(Rejected) as rejected:
        map_formation(_item(mock_2022, **changes), refs)
    assert rejected.value.reason == reason


def test_the_first_item_of_a_key_wins(tmp_path: Path, mock_2022: dict[str, Any], refs: Referentials) -> None:
    items = [mock_2022, _item(mock_2022, intitule_long="AUTRE"), _item(mock_2022, cle_ministere_educatif="other"),
             _item(mock_2022, cle_ministere_educatif="broken", lieu_formation_geo_coordonnees="x,y"), 42]
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    stats = ImportStats("catalogue")
    docs = list(iter_documents(path, refs, stats))
    assert [(d["id"], d["title"]) for d in docs] == [("id-formation-test", "BOULANGER (CAP)"),
                                                     ("other", "BOULANGER (CAP)")]
    assert stats.rejected == {"duplicate key": 1, "bad coordinates": 1, "not an object": 1}
    assert (stats.read, stats.indexed) == (5, 2)
