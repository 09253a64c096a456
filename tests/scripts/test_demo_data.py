"""Demo data generator: determinism, real source formats, realistic content, clean round trip through the indexers."""
from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from app.referentials import Referentials
from app.referentials.csvfile import read_rows
from app.search.geo import distance_km
from indexers import ImportStats, catalogue, france_travail, recruiters
from indexers.recruiters import projection_of, to_wgs84, valid_siret
from scripts import demo_data
from scripts.demo_index import FILES, MANIFEST

TODAY = date(2026, 9, 1)
TINY = {"companies": 300, "offers": 200, "formations": 120}
SAMPLE_OFFER_KEYS = {"id", "intitule", "description", "dateCreation", "dateActualisation", "lieuTravail", "romeCode",
                     "romeLibelle", "appellationlibelle", "entreprise", "typeContrat", "typeContratLibelle",
                     "natureContrat", "formations", "alternance", "contact", "nombrePostes", "origineOffre",
                     "secteurActiviteLibelle", "trancheEffectifEtab"}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, refs: Referentials) -> dict[str, Any]:
    """The real `small` scale, generated once for the content checks."""
    return demo_data.generate(refs, tmp_path_factory.mktemp("small"), "small", today=TODAY)


def _load(small: dict[str, Any], key: str) -> Any:
    return json.loads(Path(small["paths"][key]).read_text(encoding="utf-8"))


def _broken_company(row: dict[str, Any]) -> bool:
    return not row["rome_codes"] or not valid_siret(row["siret"]) or not row["insee_city_code"]


def test_same_seed_gives_byte_identical_files(tmp_path: Path, refs: Referentials) -> None:
    first = demo_data.generate(refs, tmp_path / "a", "small", seed=11, today=TODAY, counts=TINY)
    demo_data.generate(refs, tmp_path / "b", "small", seed=11, today=TODAY, counts=TINY)
    demo_data.generate(refs, tmp_path / "c", "small", seed=12, today=TODAY, counts=TINY)
    for name in [*FILES.values(), MANIFEST]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for name in FILES.values():
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes(), name
    assert first["counts"] == TINY


def test_manifest_describes_the_run(small: dict[str, Any]) -> None:
    manifest = json.loads((Path(small["out_dir"]) / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["scale"] == "small" and manifest["seed"] == 42
    assert manifest["reference_date"] == "2026-09-01"
    assert manifest["counts"] == {"companies": 5000, "offers": 1000, "formations": 500}
    assert manifest["files"] == FILES
    assert manifest["generator_version"] == demo_data.GENERATOR_VERSION
    assert all(sum(reasons.values()) > 0 for reasons in manifest["expected_rejections"].values())


def test_one_array_element_per_line(small: dict[str, Any]) -> None:
    for key, count in small["counts"].items():
        lines = Path(small["paths"][key]).read_bytes().splitlines()
        assert len(lines) == count + 2, key  # opening line, one per element, closing line
        assert all(line.startswith(b"{") for line in lines[1:-1])


def test_offers_file_is_a_france_travail_search_response(small: dict[str, Any], refs: Referentials) -> None:
    response = _load(small, "offers")
    assert set(response) == {"filtresPossibles", "resultats"} and response["filtresPossibles"] == []
    offers = response["resultats"]
    assert all(SAMPLE_OFFER_KEYS <= set(offer) for offer in offers)
    assert len({offer["id"] for offer in offers}) == len(offers)
    natures = Counter(offer["natureContrat"] for offer in offers)
    assert set(natures) == {"Contrat apprentissage", "Cont. professionnalisation"}
    assert natures["Contrat apprentissage"] > natures["Cont. professionnalisation"]
    ft_labels = {row["libelle"] for _, row in read_rows(
        refs.data_dir / "diplomes" / "france_travail_niveaux_formation.csv", ["libelle"])}
    levels = [f["niveauLibelle"] for offer in offers for f in offer["formations"]]
    assert set(levels) <= ft_labels and "Bac+2 ou équivalents" in levels
    assert any(not offer["formations"] for offer in offers)
    codes = [offer["romeCode"] for offer in offers]
    assert all(code in refs.rome for code in codes)
    children = [code for code in codes if refs.rome.parent_of(code) != code]
    assert 0.2 < len(children) / len(codes) < 0.5  # ROME 4.0 child codes as well as parent codes


def test_offer_dates_are_within_sixty_days_of_the_reference_date(small: dict[str, Any]) -> None:
    end = datetime(2026, 9, 1, tzinfo=timezone.utc)
    for offer in _load(small, "offers")["resultats"]:
        created = datetime.fromisoformat(offer["dateCreation"])
        updated = datetime.fromisoformat(offer["dateActualisation"])
        assert end - timedelta(days=60) <= created <= updated <= end


def test_offer_places_cover_every_form(small: dict[str, Any]) -> None:
    places = [offer["lieuTravail"] for offer in _load(small, "offers")["resultats"]]
    with_point = [p for p in places if "latitude" in p]
    commune_only = [p for p in places if "latitude" not in p and "commune" in p]
    postcode_only = [p for p in places if "commune" not in p and "codePostal" in p]
    nowhere = [p for p in places if "codePostal" not in p]
    assert len(with_point) > 0.8 * len(places)
    assert commune_only and postcode_only and nowhere
    assert {p["libelle"].split(" - ")[0] for p in with_point} >= {"75", "69", "13"}


def test_companies_follow_the_rome_threshold_rule(small: dict[str, Any], refs: Referentials) -> None:
    rows = [row for row in _load(small, "companies") if not _broken_company(row)]
    assert len({row["siret"] for row in rows}) == len(rows)
    counts = Counter(len(row["rome_codes"]) for row in rows)
    assert set(counts) <= set(range(1, demo_data.MAX_ROMES + 1)) and counts[1] > 0 and counts[6] > 0
    for row in rows:
        shares = refs.naf.rome_shares(row["naf_code"])
        for entry in row["rome_codes"]:
            assert entry["rome_code"] in shares
            hires = entry["normalized_score"] / demo_data.NORMALIZED_PER_HIRE
            assert hires >= demo_data.ROME_THRESHOLD - 1e-6
        scores = [entry["normalized_score"] for entry in row["rome_codes"]]
        assert scores == sorted(scores, reverse=True)
    assert {row["company_size"] for row in rows} <= {size for size, _, _ in demo_data.SIZES}
    assert sum(1 for row in rows if row["email"]) > 0.2 * len(rows)
    assert all(row["email"].endswith("@example.org") for row in rows if row["email"])


def test_company_coordinates_are_projected_like_sirene(small: dict[str, Any], refs: Referentials) -> None:
    rows = [row for row in _load(small, "companies")
            if not _broken_company(row) and row["coordonneeLambertAbscisseEtablissement"] is not None]
    departments = Counter(refs.communes.get(row["insee_city_code"]).department for row in rows)
    assert {"971", "972", "973", "974", "976", "2A", "2B"} <= set(departments)  # overseas and Corsica too
    for row in rows:
        epsg = projection_of(row["zip_code"], row["insee_city_code"])
        lat, lon = to_wgs84(row["coordonneeLambertAbscisseEtablissement"],
                            row["coordonneeLambertOrdonneeEtablissement"], epsg)
        commune = refs.communes.get(row["insee_city_code"])
        assert distance_km(lat, lon, commune.latitude, commune.longitude) <= demo_data.JITTER_KM + 0.1


def test_formations_look_like_catalogue_items(small: dict[str, Any], refs: Referentials) -> None:
    items = _load(small, "formations")
    keys = {d.lba_key for d in refs.diplomas.levels.values() if d.lba_key}
    assert {item["niveau"] for item in items} == keys
    assert all(len(item["etablissement_formateur_uai"]) == 8 for item in items)
    assert any(item["entierement_a_distance"] for item in items)
    assert any("LBA" in item["rdv_referrers"] for item in items)
    # Courses still recruit in September for the September start.
    assert all(datetime.fromisoformat(item["date_debut"][0]).date() >= TODAY for item in items)


def test_generated_files_parse_back_with_only_planned_rejections(small: dict[str, Any], refs: Referentials) -> None:
    modules = {"offers": france_travail, "formations": catalogue, "companies": recruiters}
    for key, module in modules.items():
        stats = ImportStats(module.SOURCE)
        documents = sum(1 for _ in module.iter_documents(small["paths"][key], refs, stats))
        assert dict(stats.rejected) == small["expected_rejections"][key], key
        assert documents == stats.indexed == small["counts"][key] - stats.rejected_total
        # Corrections stay the exception: located at the commune centre by design, never "far away".
        assert "coordinates far from commune" not in stats.warnings, key


def test_uai_and_siret_check_characters() -> None:
    assert demo_data.UAI_LETTERS[241315 % 23] == "Z"  # the real UAI 0241315Z of the 2020 catalogue sample
    assert demo_data.luhn_digit("80841382700011"[:-1]) == "1"
    rng = random.Random(1)
    assert all(valid_siret(demo_data.make_siret(rng)) for _ in range(200))
    uai = demo_data.make_uai(rng, "2A")
    assert uai.startswith("620") and uai[-1] == demo_data.UAI_LETTERS[int(uai[:7]) % 23]


def test_scale_counts_validation() -> None:
    assert demo_data.scale_counts("national") == {"companies": 500_000, "offers": 100_000, "formations": 50_000}
    assert demo_data.scale_counts("small", {"offers": 3})["offers"] == 3
    with pytest.raises(ValueError):
        demo_data.scale_counts("huge")
    with pytest.raises(ValueError):
        demo_data.scale_counts("small", {"offers": -1})


def test_command_line_writes_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_data, "SCALES", {**demo_data.SCALES, "small": TINY})
    assert demo_data.main(["--scale", "small", "--out", str(tmp_path), "--today", "2026-09-01", "--quiet"]) == 0
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["counts"] == TINY and manifest["reference_date"] == "2026-09-01"
    assert all((tmp_path / name).stat().st_size > 0 for name in FILES.values())
