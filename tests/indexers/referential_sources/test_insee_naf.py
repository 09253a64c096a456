"""INSEE's int_courts_naf_rev_2.xls → naf/naf_rev2.csv: every sub-class with its four upper levels, errors."""
from __future__ import annotations

import copy
import csv
from pathlib import Path

import pytest

from indexers.referential_sources import ConversionError, insee_naf
from tests.indexers.referential_sources.payloads import naf_cells, naf_xls, shared_rows


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_workbook_gives_the_sub_classes_with_their_parents_as_in_the_data_directory(tmp_path: Path) -> None:
    written = insee_naf.convert([naf_xls(tmp_path / insee_naf.FILE)], tmp_path)
    assert written == {insee_naf.OUTPUT: 16}
    rows = _read(tmp_path / insee_naf.OUTPUT)
    bakery = next(r for r in rows if r["code_naf"] == "10.71C")
    assert bakery == {
        "code_naf": "10.71C", "code_naf_compact": "1071C", "libelle_naf": "Boulangerie et boulangerie-pâtisserie",
        "code_classe": "10.71", "libelle_classe": "Fabrication de pain et de pâtisserie fraîche",
        "code_groupe": "10.7",
        "libelle_groupe": "Fabrication de produits de boulangerie-pâtisserie et de pâtes alimentaires",
        "code_division": "10", "libelle_division": "Industries alimentaires",
        "code_section": "C", "libelle_section": "INDUSTRIE MANUFACTURIÈRE"}
    # INSEE's stray trailing spaces are removed, as in the data directory.
    assert next(r for r in rows if r["code_naf"] == "01.11Z")["libelle_groupe"] == "Cultures non permanentes"
    expected = shared_rows(insee_naf.OUTPUT, "code_naf", {r["code_naf"] for r in rows})
    assert rows == expected


def _cells(edit) -> list[list[object]]:
    cells = copy.deepcopy(naf_cells())
    edit(cells)
    return cells


def _row(cells: list[list[object]], code: str) -> list[object]:
    return next(row for row in cells if row[1] == code)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c.pop(0), r"no header row with 'Code' and 'Intitulés de la NAF rév. 2…'"),
    (lambda c: _row(c, "10.71C").__setitem__(1, 10.71), r"row 15: code is a number \(10.71\), expected text"),
    (lambda c: c.remove(_row(c, "10.71")), r"row 12 \(code 10.71A\): its classe 10.71 is not in the file"),
    (lambda c: _row(c, "47.11F").__setitem__(2, "  "), r"row 26 \(code 47.11F\): empty label"),
    (lambda c: _row(c, "56.10A").__setitem__(1, "56.10 A"), "row 31: unexpected code '56.10 A'"),
    (lambda c: c.append([99.0, "01.12Z", "Culture du riz", ""]), "row 40: duplicate code '01.12Z'"),
    (lambda c: c.remove(_row(c, "SECTION A")), "row 2: division 01 before any section"),
])
def test_a_malformed_sheet_names_the_row(edit, message: str) -> None:
    with pytest.raises(ConversionError, match=f"^insee-naf-xls.*{message}"):
        insee_naf.convert_rows(_cells(edit))


def test_a_download_that_is_not_a_workbook_is_named(tmp_path: Path) -> None:
    page = tmp_path / insee_naf.FILE
    page.write_bytes(b"<!DOCTYPE html><html><body>Erreur 503</body></html>")
    with pytest.raises(ConversionError, match=r"insee-naf-xls int_courts_naf_rev_2.xls: not a readable Excel "
                                              r"97-2003 \(.xls\) file"):
        insee_naf.convert([page], tmp_path)
    assert not (tmp_path / insee_naf.OUTPUT).exists()
