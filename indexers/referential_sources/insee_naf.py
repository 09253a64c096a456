"""NAF rév. 2 sub-classes with their four upper levels from INSEE's int_courts_naf_rev_2.xls into naf/naf_rev2.csv."""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import xlrd

from indexers.referential_sources.common import ConversionError, SourceFormat, clean, write_csv

NAME = "insee-naf-xls"
FILE = "int_courts_naf_rev_2.xls"
OUTPUT = "naf/naf_rev2.csv"
COLUMNS = ("code_naf", "code_naf_compact", "libelle_naf", "code_classe", "libelle_classe", "code_groupe",
           "libelle_groupe", "code_division", "libelle_division", "code_section", "libelle_section")

# One sheet lists every level in tree order: "SECTION A", "01", "01.1", "01.11", "01.11Z", …
LEVELS = (
    ("section", re.compile(r"^SECTION ([A-U])$")),
    ("division", re.compile(r"^(\d{2})$")),
    ("groupe", re.compile(r"^(\d{2}\.\d)$")),
    ("classe", re.compile(r"^(\d{2}\.\d{2})$")),
    ("sous-classe", re.compile(r"^(\d{2}\.\d{2}[A-Z])$")),
)
LABEL_HEADER = "Intitulés de la NAF rév. 2"
HEADER_SEARCH_ROWS = 20


def read_sheet(path: Path) -> list[list[object]]:
    """The cell values of the workbook's first sheet, row by row."""
    try:
        book = xlrd.open_workbook(str(path))
    except Exception as exc:  # xlrd raises several unrelated types for a file that is not a readable .xls
        raise ConversionError(f"{NAME} {path.name}: not a readable Excel 97-2003 (.xls) file ({exc})") from None
    sheet = book.sheet_by_index(0)
    return [sheet.row_values(index) for index in range(sheet.nrows)]


def _header(rows: Sequence[Sequence[object]]) -> tuple[int, int, int]:
    """(row index, code column, label column) of the row holding `Code` and `Intitulés de la NAF rév. 2, …`."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cells = [clean(cell) if isinstance(cell, str) else "" for cell in row]
        if "Code" in cells:
            labels = [i for i, cell in enumerate(cells) if cell.startswith(LABEL_HEADER)]
            if labels:
                return index, cells.index("Code"), labels[0]
    raise ConversionError(f"{NAME}: no header row with 'Code' and '{LABEL_HEADER}…' in the first "
                          f"{HEADER_SEARCH_ROWS} rows")


def convert_rows(rows: Sequence[Sequence[object]]) -> list[dict[str, str]]:
    """naf_rev2.csv rows (one per sub-class, with its class, group, division and section) from the sheet's cells."""
    start, code_col, label_col = _header(rows)
    labels: dict[str, dict[str, str]] = {level: {} for level, _ in LEVELS}
    section_of: dict[str, str] = {}
    subclasses: list[tuple[int, str]] = []
    section = ""
    for index in range(start + 1, len(rows)):
        row, line = rows[index], index + 1
        cell = row[code_col] if code_col < len(row) else ""
        if not isinstance(cell, str):
            # A code typed as a number has lost its form ("01.10" and "1.1" read the same): refuse it.
            raise ConversionError(f"{NAME} row {line}: code is a number ({cell!r}), expected text")
        code = clean(cell)
        if not code:
            continue
        label = clean(row[label_col]) if label_col < len(row) else ""
        level, key = _level(code, line)
        if not label:
            raise ConversionError(f"{NAME} row {line} (code {code}): empty label")
        if key in labels[level]:
            raise ConversionError(f"{NAME} row {line}: duplicate code {code!r}")
        labels[level][key] = label
        if level == "section":
            section = key
        elif level == "division":
            if not section:
                raise ConversionError(f"{NAME} row {line}: division {code} before any section")
            section_of[key] = section
        elif level == "sous-classe":
            subclasses.append((line, key))
    out = []
    for line, code in subclasses:
        parents = {"classe": code[:5], "groupe": code[:4], "division": code[:2]}
        for level, parent in parents.items():
            if parent not in labels[level]:
                raise ConversionError(f"{NAME} row {line} (code {code}): its {level} {parent} is not in the file")
        division = parents["division"]
        out.append({
            "code_naf": code, "code_naf_compact": code.replace(".", ""), "libelle_naf": labels["sous-classe"][code],
            "code_classe": parents["classe"], "libelle_classe": labels["classe"][parents["classe"]],
            "code_groupe": parents["groupe"], "libelle_groupe": labels["groupe"][parents["groupe"]],
            "code_division": division, "libelle_division": labels["division"][division],
            "code_section": section_of[division], "libelle_section": labels["section"][section_of[division]],
        })
    if not out:
        raise ConversionError(f"{NAME}: no sub-class (code like 01.11Z) in the sheet")
    return out


def _level(code: str, line: int) -> tuple[str, str]:
    for level, pattern in LEVELS:
        found = pattern.match(code)
        if found:
            return level, found.group(1)
    raise ConversionError(f"{NAME} row {line}: unexpected code {code!r}")


def downloads(urls: Sequence[str]) -> list[tuple[str, str]]:
    """The one workbook to fetch."""
    return [(FILE, urls[0])]


def convert(files: Sequence[Path], data_dir: Path) -> dict[str, int]:
    """Write naf/naf_rev2.csv from the downloaded workbook; rows written."""
    return {OUTPUT: write_csv(data_dir / OUTPUT, COLUMNS, convert_rows(read_sheet(files[0])))}


FORMAT = SourceFormat(name=NAME, dataset="naf", outputs=(OUTPUT,), single_url=True, downloads=downloads,
                      convert=convert)
