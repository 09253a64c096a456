"""Referentials refresh from official URLs: download, convert, validate, shrink rule, switch; failures keep current."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.config import Settings
from app.referentials import load_referentials
from app.store import upgraded_store
from indexers import referentials as referentials_refresh
from indexers.job_settings import JobSettings
from indexers.pipeline import run_job
from indexers.referential_sources import ConversionError, insee_naf, outputs, parse_sources
from indexers.sources import SourceError
from tests.indexers.ft_server import file_server
from tests.indexers.referential_sources.payloads import GEO, base_data_dir, geo_payload, naf_xls, rome_zip

ROME_PATH = "/api-nomenclatureemploi/v1/open-data/csv"
NAF_PATH = "/fr/statistiques/fichier/2120875/int_courts_naf_rev_2.xls"


@pytest.fixture()
def base(tmp_path: Path) -> Path:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return base_data_dir(tmp_path / "data", scratch)


@pytest.fixture()
def served(tmp_path: Path) -> dict[str, bytes]:
    """What the official servers answer, by path (the geo API's query strings are not looked at)."""
    files = {f"/geo/{path.stem}": path.read_bytes() for path in GEO.glob("*.json")}
    files[ROME_PATH] = rome_zip(tmp_path / "served.zip").read_bytes()
    files[NAF_PATH] = naf_xls(tmp_path / "served.xls").read_bytes()
    return files


def _sources(url: str) -> dict[str, list[str]]:
    return parse_sources(f"geo-api={url}/geo rome-csv={url}{ROME_PATH}\n insee-naf-xls={url}{NAF_PATH}")


def test_official_sources_are_converted_validated_and_switched_to(base: Path, served: dict[str, bytes],
                                                                  tmp_path: Path) -> None:
    target = tmp_path / "referentials"
    before = referentials_refresh.validate(base)
    assert before["communes"] == 22 and before["rome_codes"] == 11 and before["naf_codes"] == 16
    assert before["rome_naf_pairs"] > 0
    with file_server(served) as url:
        result = referentials_refresh.refresh(base, target, sources=_sources(url))
    assert result.data_dir == target / "current" and (target / "current").is_symlink()
    assert result.counts == result.previous_counts == before
    assert result.converted["geo-api"]["communes/communes.csv"] == 22
    assert result.converted["rome-csv"]["rome/rome_appellations.csv"] == 36
    assert result.converted["insee-naf-xls"] == {insee_naf.OUTPUT: 16}
    refs = load_referentials(target / "current")
    assert refs.communes.find("75001").insee == "75056" and refs.communes.get("75101").parent == "75056"
    assert refs.rome.parent_of("M1855") == "M1805"
    assert refs.naf.label("1071C") == "Boulangerie et boulangerie-pâtisserie"
    assert not list(target.glob("*.staging"))
    # The raw downloads are not published, only the converted files.
    assert not list((target / "current").rglob("*.json")) and not list((target / "current").rglob("*.zip"))


def test_a_malformed_payload_names_the_source_and_keeps_current(base: Path, served: dict[str, bytes],
                                                                tmp_path: Path) -> None:
    target = tmp_path / "referentials"
    with file_server(served) as url:
        referentials_refresh.refresh(base, target, sources=_sources(url))
    in_use = (target / "current").resolve()
    communes = geo_payload("communes.json")
    del communes[3]["codeDepartement"]
    broken = {"/geo/communes": b'[{"code":"01015",', "/geo/missing": json.dumps(communes).encode()}
    for path, message in (
            ("/geo/communes", "geo-api communes.json: not valid JSON"),
            ("/geo/missing", "geo-api communes.json item 3 (code 01138): missing field 'codeDepartement'")):
        with file_server({**served, "/geo/communes": broken[path]}) as url:
            with pytest.raises(ConversionError) as error:
                referentials_refresh.refresh(target / "current", target, sources=_sources(url))
        assert message in str(error.value)
        assert (target / "current").resolve() == in_use
        assert not list(target.glob("*.staging"))


def test_a_failed_download_names_the_source_and_keeps_current(base: Path, served: dict[str, bytes],
                                                              tmp_path: Path) -> None:
    target = tmp_path / "referentials"
    with file_server(served) as url:
        referentials_refresh.refresh(base, target, sources=_sources(url))
    in_use = (target / "current").resolve()
    without_rome = {path: body for path, body in served.items() if path != ROME_PATH}
    with file_server(without_rome) as url:
        with pytest.raises(SourceError, match=rf"^rome-csv source: {url}{ROME_PATH} answered 404"):
            referentials_refresh.refresh(target / "current", target, sources=_sources(url))
    assert (target / "current").resolve() == in_use and not list(target.glob("*.staging"))


def test_the_shrink_rule_applies_to_converted_sources(base: Path, served: dict[str, bytes], tmp_path: Path) -> None:
    target = tmp_path / "referentials"
    with file_server(served) as url:
        referentials_refresh.refresh(base, target, sources=_sources(url))
    in_use = (target / "current").resolve()
    few = [item for item in geo_payload("communes.json") if item["code"].startswith(("01", "2A"))]
    assert len(few) < 11
    with file_server({**served, "/geo/communes": json.dumps(few).encode()}) as url:
        with pytest.raises(referentials_refresh.RefreshRefused, match=rf"communes {len(few)} < 0.5 × 22"):
            referentials_refresh.refresh(target / "current", target, sources=_sources(url))
    assert (target / "current").resolve() == in_use


def test_the_job_reads_lba_referentials_sources(base: Path, served: dict[str, bytes], tmp_path: Path) -> None:
    settings = replace(Settings.from_env({}), data_dir=str(base), index_dir=str(tmp_path / "index"),
                       database_url=f"sqlite:///{tmp_path / 'lba.sqlite'}")
    upgraded_store(settings.database_url)
    target = tmp_path / "referentials"
    with file_server(served) as url:
        env = {"LBA_REFERENTIALS_DIR": str(target),
               "LBA_REFERENTIALS_SOURCES": f"geo-api={url}/geo rome-csv={url}{ROME_PATH}"}
        done = run_job("referentials", settings=settings, job_settings=JobSettings.from_env(settings, env))
        assert done.outcome == "success", done.error
        assert set(done.details["converted"]) == {"geo-api", "rome-csv"}
        assert done.details["data_dir"] == str(target / "current")
        env["LBA_REFERENTIALS_SOURCES"] = f"geo-api={url}/nowhere"
        failed = run_job("referentials", settings=replace(settings, data_dir=str(target / "current")),
                         job_settings=JobSettings.from_env(settings, env))
    assert failed.outcome == "failed" and failed.error.startswith("SourceError: geo-api source: ")


def test_files_in_the_data_directory_format_still_download_beside_sources(base: Path, served: dict[str, bytes],
                                                                          tmp_path: Path) -> None:
    target = tmp_path / "referentials"
    opcos = (base / "opco" / "opcos.csv").read_bytes()
    with file_server({**served, "/opcos.csv": opcos}) as url:
        result = referentials_refresh.refresh(base, target, urls={"opco/opcos.csv": f"{url}/opcos.csv"},
                                              sources={"insee-naf-xls": [f"{url}{NAF_PATH}"]})
        assert result.downloaded == ["opco/opcos.csv"] and list(result.converted) == ["insee-naf-xls"]
        with pytest.raises(ValueError, match="naf/naf_rev2.csv: given both as a file to download"):
            referentials_refresh.refresh(base, target, urls={"naf/naf_rev2.csv": f"{url}/x.csv"},
                                         sources={"insee-naf-xls": [f"{url}{NAF_PATH}"]})


def test_sources_are_declared_as_format_equals_url() -> None:
    geo = "https://geo.api.gouv.fr"
    rome = "https://api.francetravail.fr/api-nomenclatureemploi/v1/open-data/csv"
    assert parse_sources(f" geo-api={geo}\n rome-csv={rome}  rome-csv={rome}?b=1,2 ") == {
        "geo-api": [geo], "rome-csv": [rome, f"{rome}?b=1,2"]}
    assert parse_sources("") == {}
    assert outputs({"geo-api": [geo]}) >= {"communes/communes.csv", "communes/communes_deleguees_associees.csv"}
    for bad, message in (("geo-api", "expected format=URL"), ("geo-api=ftp://h", "expected format=URL"),
                         ("naf=https://h/n.xls", "unknown format 'naf'"),
                         (f"geo-api={geo} geo-api={geo}", "geo-api takes one URL")):
        with pytest.raises(ValueError, match=message):
            parse_sources(bad)
