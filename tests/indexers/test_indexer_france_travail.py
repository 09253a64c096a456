"""France Travail offers indexer: the real sample, location fallbacks, contract, diploma, apply channel, rejections."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import ijson
import pytest

from app.config import Settings
from app.referentials import Referentials
from app.search.geo import distance_km
from indexers import ImportStats, Rejected
from indexers.france_travail import add_months, duration_months, iter_documents, map_offer

SAMPLE = "france_travail_offres_v2_search_alternance.json"


@pytest.fixture(scope="module")
def sample_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "samples" / SAMPLE


@pytest.fixture(scope="module")
def sample(sample_path: Path) -> dict[str, dict[str, Any]]:
    return {offer["id"]: offer for offer in json.loads(sample_path.read_text(encoding="utf-8"))["resultats"]}


def _offer(sample: dict[str, dict[str, Any]], offer_id: str = "088KPWY", **changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(sample[offer_id])
    item.update(changes)
    return item


def test_sample_streams_eight_offers_without_rejection(sample_path: Path, refs: Referentials) -> None:
    stats = ImportStats("france_travail")
    docs = list(iter_documents(sample_path, refs, stats))
    assert (stats.read, stats.indexed, stats.rejected_total) == (8, 8, 0)
    assert {doc["id"] for doc in docs} == {f"france_travail-{i}" for i in
                                           ["082SGKK", "088KPWY", "088JJPC", "088KTTG", "088KQCN", "088MFJG",
                                            "088JGJS", "088QSFQ"]}
    assert all(doc["romes"] == ["D1212"] and "D1212" in doc["rome_index_codes"] for doc in docs)
    assert all(doc["kind"] == "offer" and doc["source"] == "france_travail" for doc in docs)


def test_sample_contract_types_levels_and_durations(sample: dict[str, dict[str, Any]], refs: Referentials) -> None:
    offers = {offer_id: map_offer(item, refs) for offer_id, item in sample.items()}
    assert offers["088QSFQ"].contract_types == ["apprentissage"]  # "Contrat apprentissage"
    assert all(o.contract_types == ["professionnalisation"] for i, o in offers.items() if i != "088QSFQ")
    # "Bac+2 ou équivalent" is level 5 (the public service's mapper says 4 by mistake).
    assert offers["088QSFQ"].diploma_level == 5
    assert offers["088KPWY"].diploma_level == 4  # "Bac ou équivalent"
    assert offers["082SGKK"].diploma_level is None  # no formation asked
    assert {i: o.duration_months for i, o in offers.items()} == {
        "082SGKK": 12, "088KPWY": 24, "088JJPC": 11, "088KTTG": 24, "088KQCN": 24, "088MFJG": 24, "088JGJS": 10,
        "088QSFQ": 12}


def test_sample_place_is_the_given_point_with_commune_labels(sample: dict[str, dict[str, Any]],
                                                             refs: Referentials) -> None:
    warnings: list[str] = []
    offer = map_offer(sample["082SGKK"], refs, warnings.append)
    assert (offer.place.latitude, offer.place.longitude) == (49.11972222, 6.176944443)
    assert (offer.place.insee, offer.place.postcode, offer.place.city, offer.place.department) == (
        "57463", "57000", "Metz", "57")
    assert warnings == []


def test_sample_dates_company_and_apply_channels(sample: dict[str, dict[str, Any]], refs: Referentials) -> None:
    offer = map_offer(sample["082SGKK"], refs)
    # dateCreation 2019-01-23T13:32:22+01:00, no end date: it expires 2 months later.
    assert offer.published_at == "2019-01-23T12:32:22Z"
    assert offer.expires_at == "2019-03-23T12:32:22Z"
    assert (offer.company_name, offer.company_siret) == ("ISEAH FORMATION", "00000000000007")
    assert offer.apply_url == "https://candidat.pole-emploi.fr/offres/recherche/detail/082SGKK"
    assert offer.apply_email == "contact@example.org"
    direct = map_offer(sample["088QSFQ"], refs)
    assert direct.apply_url.startswith("https://www.generaledetelephone.com/")  # contact.urlPostulation wins
    assert direct.apply_email == ""


def test_email_goes_to_the_private_block_only(sample_path: Path, refs: Referentials) -> None:
    doc = next(d for d in iter_documents(sample_path, refs, ImportStats("ft")) if d["source_id"] == "082SGKK")
    assert doc["private"] == {"email": "contact@example.org"}
    assert doc["apply"]["has_email"] is True
    assert "contact@example.org" not in json.dumps({k: v for k, v in doc.items() if k != "private"})


def test_partner_url_comes_before_the_origin_page(sample: dict[str, dict[str, Any]], refs: Referentials) -> None:
    item = _offer(sample, origineOffre={"origine": "2", "urlOrigine": "https://candidat.example/1",
                                        "partenaires": [{"nom": "X", "url": "https://partner.example/1"}]})
    assert map_offer(item, refs).apply_url == "https://partner.example/1"


def test_child_rome_code_is_indexed_under_its_parent(sample: dict[str, dict[str, Any]], refs: Referentials) -> None:
    offer = map_offer(_offer(sample, romeCode="D1108"), refs)
    assert offer.romes == ["D1108"]
    assert offer.rome_index_codes == ["D1108", "D1102"]


def test_without_coordinates_the_commune_centre_is_used(sample: dict[str, dict[str, Any]],
                                                        refs: Referentials) -> None:
    lieu = {"libelle": "57 - MOULINS LES METZ", "codePostal": "57160", "commune": "57487"}
    warnings: list[str] = []
    offer = map_offer(_offer(sample, lieuTravail=lieu), refs, warnings.append)
    commune = refs.communes.get("57487")
    assert (offer.place.latitude, offer.place.longitude) == (commune.latitude, commune.longitude)
    assert warnings == ["located at commune centre"]


def test_postal_code_alone_locates_the_offer(sample: dict[str, dict[str, Any]], refs: Referentials) -> None:
    offer = map_offer(_offer(sample, lieuTravail={"libelle": "54 - LUNEVILLE", "codePostal": "54300"}), refs)
    assert offer.place.insee == "54329"  # Lunéville, the most populous commune of 54300
    assert offer.place.city == "Lunéville"


def test_town_label_alone_locates_the_offer_in_its_department(sample: dict[str, dict[str, Any]],
                                                              refs: Referentials) -> None:
    offer = map_offer(_offer(sample, lieuTravail={"libelle": "57 - MOULINS LES METZ"}), refs)
    assert offer.place.insee == "57487"
    with pytest.raises(Rejected) as rejected:  # the name exists, but not in department 13
        map_offer(_offer(sample, lieuTravail={"libelle": "13 - MOULINS LES METZ"}), refs)
    assert rejected.value.reason == "no location"


def test_coordinates_far_from_the_commune_are_replaced(sample: dict[str, dict[str, Any]],
                                                       refs: Referentials) -> None:
    lieu = {"libelle": "57 - METZ", "latitude": 43.3, "longitude": 5.4, "codePostal": "57000", "commune": "57463"}
    warnings: list[str] = []
    offer = map_offer(_offer(sample, lieuTravail=lieu), refs, warnings.append)
    metz = refs.communes.get("57463")
    assert distance_km(offer.place.latitude, offer.place.longitude, metz.latitude, metz.longitude) < 0.001
    assert warnings == ["coordinates far from commune"]


@pytest.mark.parametrize("lieu", [{}, {"libelle": "France"}, None, "Paris"])
def test_offer_without_location_is_rejected(sample: dict[str, dict[str, Any]], refs: Referentials,
                                            lieu: Any) -> None:
    with pytest.raises(Rejected) as rejected:
        map_offer(_offer(sample, lieuTravail=lieu), refs)
    assert rejected.value.reason == "no location"


@pytest.mark.parametrize(("changes", "reason"), [
    ({"id": ""}, "missing id"),
    ({"romeCode": "Z9999"}, "unknown ROME code"),
    ({"romeCode": None}, "unknown ROME code"),
    ({"dateCreation": "hier"}, "bad dateCreation"),
    ({"natureContrat": "Contrat travail", "alternance": False}, "not a work-study contract"),
])
def test_rejections_name_their_reason(sample: dict[str, dict[str, Any]], refs: Referentials,
                                      changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(Rejected) as rejected:
        map_offer(_offer(sample, **changes), refs)
    assert rejected.value.reason == reason


def test_contract_codes_are_understood_too(sample: dict[str, dict[str, Any]], refs: Referentials) -> None:
    assert map_offer(_offer(sample, natureContrat="E2"), refs).contract_types == ["apprentissage"]
    assert map_offer(_offer(sample, natureContrat="FS"), refs).contract_types == ["professionnalisation"]


def test_duration_and_month_arithmetic() -> None:
    assert duration_months("Contrat à durée déterminée - 36 Mois") == 36
    assert duration_months("Contrat à durée indéterminée") is None
    new_year_eve = datetime(2023, 12, 31, 8, tzinfo=timezone.utc)
    assert add_months(new_year_eve, 2) == datetime(2024, 2, 29, 8, tzinfo=timezone.utc)  # leap day, clamped
    assert add_months(datetime(2024, 11, 15, tzinfo=timezone.utc), 2) == datetime(2025, 1, 15, tzinfo=timezone.utc)


def test_bad_items_are_counted_and_never_stop_the_import(tmp_path: Path, sample: dict[str, dict[str, Any]],
                                                         refs: Referentials) -> None:
    good = _offer(sample)
    items = [good, "not an object", _offer(sample, "082SGKK", lieuTravail={}),
             _offer(sample, "088JJPC", romeCode="Z9999"), _offer(sample, "088KTTG", nombrePostes="deux")]
    path = tmp_path / "offres.json"
    path.write_text(json.dumps({"filtresPossibles": [], "resultats": items}), encoding="utf-8")
    stats = ImportStats("france_travail")
    docs = list(iter_documents(path, refs, stats))
    assert [d["source_id"] for d in docs] == ["088KPWY", "088KTTG"]
    assert docs[1]["positions"] == 1  # an unreadable count of positions means one
    assert stats.read == 5 and stats.indexed == 2
    assert stats.rejected == {"not an object": 1, "no location": 1, "unknown ROME code": 1}


def test_a_truncated_file_fails_the_whole_import(tmp_path: Path, sample_path: Path, refs: Referentials) -> None:
    path = tmp_path / "truncated.json"
    path.write_bytes(sample_path.read_bytes()[:-2000])
    with pytest.raises(ijson.JSONError):
        list(iter_documents(path, refs, ImportStats("france_travail")))


def test_the_fast_c_parser_is_used() -> None:
    assert ijson.backend == "yajl2_c"
