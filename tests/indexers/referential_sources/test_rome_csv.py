"""France Travail's ROME 4.0 CSV export → rome/ files: parents, domains, appellations, zip layouts, errors."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.referentials.rome import load_rome
from indexers.referential_sources import ConversionError, rome_csv
from tests.indexers.referential_sources.payloads import ROME, csv_bytes, rome_members, rome_zip, write_rows

CODES = "unix_referentiel_code_rome_v460_utf8.csv"
APPELLATIONS = "unix_referentiel_appellation_v460_utf8.csv"
CR_GD_DP = "unix_cr_gd_dp_v460_utf8.csv"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _in_use(data_dir: Path) -> None:
    """A rome_codes.csv in use carrying the ROME v3 label of D1102, which the 4.0 export no longer has."""
    write_rows(data_dir / rome_csv.CODES, [{"code_rome": "D1102", "libelle_rome_v3": "Boulangerie - viennoiserie"}])


def test_codes_keep_their_parent_domains_and_v3_label(tmp_path: Path) -> None:
    _in_use(tmp_path)
    written = rome_csv.convert([rome_zip(tmp_path / "RefRomeCsv.zip")], tmp_path)
    assert written == {rome_csv.CODES: 11, rome_csv.APPELLATIONS: 36, rome_csv.GRANDS_DOMAINES: 5,
                       rome_csv.DOMAINES: 6}
    codes = {row["code_rome"]: row for row in _read(tmp_path / rome_csv.CODES)}
    assert list(codes) == sorted(codes)
    assert codes["A1102"]["code_rome_parent"] == "A1101" and codes["A1102"]["est_code_parent"] == "0"
    assert codes["M1855"]["code_rome_parent"] == "M1805" and codes["M1805"]["est_code_parent"] == "1"
    # A child may hang under a parent of another domain: its own domain comes from the cr_gd_dp file.
    a1206 = codes["A1206"]
    assert (a1206["code_rome_parent"], a1206["code_grand_domaine"], a1206["code_domaine_professionnel"]) == (
        "F1101", "A", "A12")
    d1102 = codes["D1102"]
    assert d1102["libelle_rome"] == "Boulanger / Boulangère"
    assert d1102["libelle_rome_v3"] == "Boulangerie - viennoiserie"
    assert (d1102["code_ogr"], d1102["code_fiche_metier"], d1102["transition_eco"]) == ("81", "78", "Emploi Blanc")
    assert codes["A1101"]["libelle_rome_v3"] == ""
    rome = load_rome(tmp_path)
    assert rome.parent_of("D1108") == "D1102" and rome.children_of("F1101") == ("A1206", "F1101")
    assert rome.grands_domaines["D"] == "Commerce, Vente et Grande distribution"
    assert rome.domaines["A12"] == "Espaces naturels et espaces verts"


def test_appellations_are_sorted_by_ogr_with_one_main_title_per_code(tmp_path: Path) -> None:
    rome_csv.convert([rome_zip(tmp_path / "RefRomeCsv.zip")], tmp_path)
    rows = _read(tmp_path / rome_csv.APPELLATIONS)
    assert list(rows[0]) == list(rome_csv.APPELLATION_COLUMNS)
    assert [int(r["code_ogr"]) for r in rows] == sorted(int(r["code_ogr"]) for r in rows)
    assert sorted(r["code_rome"] for r in rows if r["classification"] == "PRINCIPALE") == sorted(
        r["code_rome"] for r in _read(tmp_path / rome_csv.CODES))
    boulanger = next(r for r in rows if r["libelle_appellation_long"] == "Boulanger / Boulangère")
    assert (boulanger["code_rome"], boulanger["classification"], boulanger["peu_usite"]) == ("D1102", "PRINCIPALE", "N")
    # An appellation keeps the parent the export gives it, even one whose fiche is not in this extract.
    assert next(r for r in rows if r["code_ogr"] == "10427")["code_rome_parent"] == "G1605"
    domaines = _read(tmp_path / rome_csv.DOMAINES)
    assert {"code_domaine_professionnel": "D11", "libelle_domaine_professionnel":
            "Commerce alimentaire et métiers de bouche", "code_grand_domaine": "D"} in domaines


@pytest.mark.parametrize("prefix", ["", "RefRomeCsv/"])
def test_zip_members_are_found_by_name_in_any_folder(tmp_path: Path, prefix: str) -> None:
    rome_csv.convert([rome_zip(tmp_path / "export.zip", prefix)], tmp_path / "zip")
    rome_csv.convert(sorted(ROME.glob("*.csv")), tmp_path / "files")  # the same files given one by one
    for relative in (rome_csv.CODES, rome_csv.APPELLATIONS, rome_csv.GRANDS_DOMAINES, rome_csv.DOMAINES):
        assert (tmp_path / "zip" / relative).read_bytes() == (tmp_path / "files" / relative).read_bytes()


def test_domain_files_replace_cr_gd_dp_when_the_export_has_them(tmp_path: Path) -> None:
    members = rome_members()
    del members[CR_GD_DP]
    # Columns as France Travail's technical documentation gives them for these two files.
    members["unix_grand_domaine_v460_utf8.csv"] = csv_bytes([
        ["code_grand_domaine", "libelle_grand_domaine"],
        ["A", "Agriculture et Pêche, Espaces naturels et Espaces verts, Soins aux animaux"],
        ["D", "Commerce, Vente et Grande distribution"]])
    members["unix_domaine_professionnel_v460_utf8.csv"] = csv_bytes([
        ["code_domaine_professionnel", "libelle_domaine_professionnel"], ["A11", "Engins agricoles et forestiers"],
        ["D11", "Commerce alimentaire et métiers de bouche"]])
    rome_csv.convert([rome_zip(tmp_path / "RefRomeCsv.zip", members=members)], tmp_path)
    codes = {row["code_rome"]: row for row in _read(tmp_path / rome_csv.CODES)}
    assert (codes["A1206"]["code_grand_domaine"], codes["A1206"]["code_domaine_professionnel"]) == ("A", "A12")
    assert [r["code_grand_domaine"] for r in _read(tmp_path / rome_csv.GRANDS_DOMAINES)] == ["A", "D"]
    assert _read(tmp_path / rome_csv.DOMAINES)[1] == {
        "code_domaine_professionnel": "D11",
        "libelle_domaine_professionnel": "Commerce alimentaire et métiers de bouche", "code_grand_domaine": "D"}


def test_an_export_without_parent_columns_makes_every_code_its_own_parent(tmp_path: Path) -> None:
    members = rome_members()
    for name in (CODES, APPELLATIONS):
        lines = list(csv.reader(members[name].decode().splitlines()))
        keep = [i for i, column in enumerate(lines[0]) if column not in ("code_rome_parent", "peu_usite")]
        members[name] = csv_bytes([[line[i] for i in keep] for line in lines])
    rome_csv.convert([rome_zip(tmp_path / "RefRomeCsv.zip", members=members)], tmp_path)
    codes = _read(tmp_path / rome_csv.CODES)
    assert all(r["code_rome_parent"] == r["code_rome"] and r["est_code_parent"] == "1" for r in codes)
    assert all(r["code_rome_parent"] == r["code_rome"] for r in _read(tmp_path / rome_csv.APPELLATIONS))


def _replace(name: str, old: str, new: str) -> dict[str, bytes]:
    members = rome_members()
    assert old.encode() in members[name]
    members[name] = members[name].replace(old.encode(), new.encode(), 1)
    return members


@pytest.mark.parametrize(("members", "message"), [
    ({k: v for k, v in rome_members().items() if k != APPELLATIONS},
     r"rome-csv: missing file\(s\) appellations; found codes, cr_gd_dp"),
    ({k: v for k, v in rome_members().items() if k != CR_GD_DP},
     r"missing file\(s\) cr_gd_dp \(or grand_domaine and domaine_professionnel\)"),
    (_replace(CODES, '"code_rome","code_fiche_metier"', '"code","code_fiche_metier"'),
     rf"rome-csv RefRomeCsv.zip:{CODES}:1: missing column\(s\) code_rome"),
    (_replace(CODES, '"A1102","30047"', '"A11O2","30047"'),
     rf"RefRomeCsv.zip:{CODES}:3: bad ROME code 'A11O2'"),
    (_replace(CODES, '"Emploi Blanc","","","","","A1101"', '"Emploi Blanc","","","","","Z9999"'),
     rf"{CODES}:2: parent ROME code 'Z9999' is not in the file"),
    (_replace(APPELLATIONS, '"G1603","Emploi Blanc"', '"G1699","Emploi Blanc"'),
     rf"{APPELLATIONS}:3: unknown ROME code 'G1699'"),
    (_replace(APPELLATIONS, '"SYNONYME"', '"SYNONYM"'), "classification is neither PRINCIPALE nor SYNONYME: 'SYNONYM'"),
    (_replace(APPELLATIONS, '"10427",', '"10427","extra",'), f"{APPELLATIONS}:2: wrong number of fields"),
])
def test_a_malformed_export_names_the_member_and_line(tmp_path: Path, members: dict[str, bytes], message: str) -> None:
    with pytest.raises(ConversionError, match=message):
        rome_csv.convert([rome_zip(tmp_path / "RefRomeCsv.zip", members=members)], tmp_path)


def test_stray_whitespace_around_values_is_removed(tmp_path: Path) -> None:
    members = _replace(CODES, '"D1102"', '" D1102\u00a0"')
    rome_csv.convert([rome_zip(tmp_path / "RefRomeCsv.zip", members=members)], tmp_path)
    assert "D1102" in {row["code_rome"] for row in _read(tmp_path / rome_csv.CODES)}


def test_a_download_that_is_neither_zip_nor_export_csv_is_named(tmp_path: Path) -> None:
    page = tmp_path / "rome-export-0.zip"
    page.write_text("<html>maintenance</html>", encoding="utf-8")
    with pytest.raises(ConversionError, match="rome-csv rome-export-0.zip: neither a zip archive nor a "
                                              r"unix_\*_utf8.csv file"):
        rome_csv.convert([page], tmp_path)
    latin1 = tmp_path / CODES
    latin1.write_bytes((ROME / CODES).read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(ConversionError, match=f"rome-csv {CODES}: not UTF-8"):
        rome_csv.convert([latin1, ROME / APPELLATIONS, ROME / CR_GD_DP], tmp_path)


def test_two_versions_of_a_member_are_refused(tmp_path: Path) -> None:
    members = rome_members()
    members["unix_referentiel_code_rome_v461_utf8.csv"] = members[CODES]
    with pytest.raises(ConversionError, match="two files for codes"):
        rome_csv.convert([rome_zip(tmp_path / "RefRomeCsv.zip", members=members)], tmp_path)


def test_downloads_keep_export_names_and_call_anything_else_the_zip() -> None:
    assert rome_csv.downloads(["https://api.francetravail.fr/api-nomenclatureemploi/v1/open-data/csv",
                               f"https://mirror.example/RefRomeCsv/{CODES}"]) == [
        ("rome-export-0.zip", "https://api.francetravail.fr/api-nomenclatureemploi/v1/open-data/csv"),
        (CODES, f"https://mirror.example/RefRomeCsv/{CODES}")]
