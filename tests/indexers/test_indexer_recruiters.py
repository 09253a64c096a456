"""Recruiters indexer: Lambert-93 and overseas projections, commune fallback, score scaling, privacy, rejections."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pyproj import Transformer

from app.config import Settings
from app.referentials import Referentials
from app.search.geo import distance_km
from indexers import ImportStats, Rejected
from indexers.recruiters import (
    iter_documents,
    map_company,
    projection_of,
    rome_score,
    to_wgs84,
    to_wgs84_many,
    valid_siret,
)

# A commune of each territory and the projection its SIRENE coordinates use.
TERRITORIES = [("54318", "54460", 2154), ("2A004", "20000", 2154), ("97105", "97100", 5490),
               ("97209", "97200", 5490), ("97302", "97300", 2972), ("97411", "97400", 2975),
               ("97611", "97600", 4471)]


@pytest.fixture(scope="module")
def sample_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "samples" / "lba_recruteurs_algo_output.json"


@pytest.fixture(scope="module")
def sample(sample_path: Path) -> list[dict[str, Any]]:
    return json.loads(sample_path.read_text(encoding="utf-8"))


def _row(sample: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    row = copy.deepcopy(sample[0])
    row.update(changes)
    return row


def _projected(refs: Referentials, insee: str, epsg: int) -> tuple[float, float]:
    commune = refs.communes.get(insee)
    return Transformer.from_crs(4326, epsg, always_xy=True).transform(commune.longitude, commune.latitude)


def test_sample_lands_in_liverdun(sample_path: Path, refs: Referentials) -> None:
    stats = ImportStats("recruteurs_lba")
    docs = {doc["id"]: doc for doc in iter_documents(sample_path, refs, stats)}
    assert (stats.read, stats.indexed, stats.rejected_total) == (2, 2, 0)
    liverdun = refs.communes.get("54318")
    doc = docs["80841382700011"]
    assert distance_km(doc["location"]["lat"], doc["location"]["lon"], liverdun.latitude, liverdun.longitude) < 3
    assert (doc["place"]["city"], doc["place"]["postcode"], doc["place"]["insee"]) == ("Liverdun", "54460", "54318")
    # The fixture's Lambert-93 pair is a placeholder shared by both rows (one in Ardèche): it projects
    # near Dieppe, ~370 km from either commune, so both are placed at their commune's centre instead.
    assert stats.warnings == {"coordinates far from commune": 2}


def test_sample_lambert_pair_projects_where_lambert_93_says() -> None:
    lat, lon = to_wgs84(563785.301401543, 6980103.034818875, 2154)
    assert (round(lat, 3), round(lon, 3)) == (49.905, 1.105)


def test_lambert_93_projection_origin() -> None:
    # Lambert-93 is defined with false origin (700 000, 6 600 000) at 46°30'N, 3°E.
    lat, lon = to_wgs84(700000.0, 6600000.0, 2154)
    assert lat == pytest.approx(46.5, abs=1e-9) and lon == pytest.approx(3.0, abs=1e-9)


@pytest.mark.parametrize(("insee", "zip_code", "epsg"), TERRITORIES)
def test_each_territory_uses_its_projection(sample: list[dict[str, Any]], refs: Referentials, insee: str,
                                            zip_code: str, epsg: int) -> None:
    assert projection_of(zip_code, insee) == epsg
    assert projection_of("", insee) == epsg  # no postal code: the INSEE code's prefix decides
    x, y = _projected(refs, insee, epsg)
    warnings: list[str] = []
    company = map_company(_row(sample, insee_city_code=insee, zip_code=zip_code,
                               coordonneeLambertAbscisseEtablissement=x,
                               coordonneeLambertOrdonneeEtablissement=y), refs, warnings.append)
    commune = refs.communes.get(insee)
    assert distance_km(company.place.latitude, company.place.longitude, commune.latitude, commune.longitude) < 0.01
    assert warnings == []


def test_overseas_coordinates_read_as_lambert_93_would_be_absurd(refs: Referentials) -> None:
    x, y = _projected(refs, "97411", 2975)
    lat, lon = to_wgs84(x, y, 2154)
    saint_denis = refs.communes.get("97411")
    assert distance_km(lat, lon, saint_denis.latitude, saint_denis.longitude) > 5000


def test_batch_projection_matches_one_by_one(refs: Referentials) -> None:
    points = [(*_projected(refs, insee, epsg), epsg) for insee, _, epsg in TERRITORIES]
    batch = to_wgs84_many([p[0] for p in points], [p[1] for p in points], [p[2] for p in points])
    for (x, y, epsg), got in zip(points, batch):
        assert got == pytest.approx(to_wgs84(x, y, epsg), abs=1e-9)


@pytest.mark.parametrize(("value", "score"), [
    (1e-4, 0.0), (1e-3, 33.33), (1e-2, 66.67), (0.1, 100.0), (1.5, 100.0), (0.0094311172, 65.82),
    (0, 0.0), (None, 0.0), ("abc", 0.0), (-1, 0.0),
])
def test_normalized_score_scales_logarithmically_to_0_100(value: Any, score: float) -> None:
    assert rome_score(value) == score


def test_scores_contact_and_labels(sample: list[dict[str, Any]], refs: Referentials) -> None:
    company = map_company(sample[1], refs)
    assert company.rome_scores == {"M1607": 67.6, "M1203": 67.6}
    assert company.hiring_score == 67.6
    assert sorted(company.rome_index_codes) == ["M1203", "M1607"]
    assert (company.name, company.legal_name, company.naf, company.size) == (
        "ETABLISSEMENTS DINUM", "ETABLISSEMENTS DINUM", "4673A", "6-9")
    assert company.place.address == "CHEMIN DU BALAYOU"


def test_email_and_phone_are_private(sample_path: Path, refs: Referentials) -> None:
    doc = next(d for d in iter_documents(sample_path, refs, ImportStats("r")) if d["id"] == "13002526500013")
    assert doc["private"] == {"email": "roget@dinum.fr", "phone": "0123456789"}
    assert doc["contact"] == {"has_email": True, "has_phone": True}
    public = json.dumps({k: v for k, v in doc.items() if k != "private"})
    assert "roget@dinum.fr" not in public and "0123456789" not in public


def test_trade_name_falls_back_to_legal_name(sample: list[dict[str, Any]], refs: Referentials) -> None:
    assert map_company(_row(sample, enseigne=None), refs).name == "ETABLISSEMENTS FRERES"


def test_no_coordinates_means_the_commune_centre(sample: list[dict[str, Any]], refs: Referentials) -> None:
    warnings: list[str] = []
    company = map_company(_row(sample, coordonneeLambertAbscisseEtablissement=0,
                               coordonneeLambertOrdonneeEtablissement=0), refs, warnings.append)
    liverdun = refs.communes.get("54318")
    assert (company.place.latitude, company.place.longitude) == (liverdun.latitude, liverdun.longitude)
    assert warnings == ["located at commune centre"]
    by_zip = map_company(_row(sample, insee_city_code=None, coordonneeLambertAbscisseEtablissement=None), refs)
    assert by_zip.place.insee == "54318"  # 54460 is Liverdun's postal code


def test_unknown_rome_codes_are_dropped(sample: list[dict[str, Any]], refs: Referentials) -> None:
    warnings: list[str] = []
    company = map_company(_row(sample, rome_codes=[{"rome_code": "Z9999", "normalized_score": 0.5},
                                                   {"rome_code": "D1208", "normalized_score": 0.01}]),
                          refs, warnings.append)
    assert company.rome_scores == {"D1208": 66.67}
    assert "unknown ROME code dropped" in warnings


@pytest.mark.parametrize(("changes", "reason"), [
    ({"siret": "80841382700012"}, "invalid siret"),
    ({"siret": "8084138270001"}, "invalid siret"),
    ({"siret": None}, "invalid siret"),
    ({"rome_codes": []}, "no known ROME code"),
    ({"rome_codes": [{"rome_code": "Z9999", "normalized_score": 0.1}]}, "no known ROME code"),
    ({"insee_city_code": None, "zip_code": None, "coordonneeLambertAbscisseEtablissement": None}, "no location"),
    ({"enseigne": None, "raison_sociale": ""}, "missing name"),
])
def test_rejections_name_their_reason(sample: list[dict[str, Any]], refs: Referentials, changes: dict[str, Any],
                                      reason: str) -> None:
    with pytest.raises(Rejected) as rejected:
        map_company(_row(sample, **changes), refs)
    assert rejected.value.reason == reason


def test_siret_check_digit() -> None:
    assert valid_siret("80841382700011") and valid_siret("13002526500013")
    assert not valid_siret("00000000000007")
    assert valid_siret("35600000000010")  # La Poste: digit sum 15, a multiple of 5, though Luhn fails
    assert not valid_siret("3560000000001A")


def test_duplicates_and_bad_rows_are_counted(tmp_path: Path, sample: list[dict[str, Any]],
                                             refs: Referentials) -> None:
    rows = [sample[0], sample[1], _row(sample, enseigne="AUTRE"), None, _row(sample, siret="123")]
    path = tmp_path / "recruteurs.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    stats = ImportStats("recruteurs_lba")
    docs = list(iter_documents(path, refs, stats))
    assert [d["title"] for d in docs] == ["DRYSOFT", "ETABLISSEMENTS DINUM"]
    assert stats.rejected == {"duplicate siret": 1, "not an object": 1, "invalid siret": 1}
