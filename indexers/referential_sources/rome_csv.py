"""ROME 4.0 codes, appellations and domains from France Travail's CSV open-data export (RefRomeCsv) into rome/."""
from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from indexers.referential_sources.common import (
    ConversionError,
    SourceFormat,
    clean,
    rows_in_use,
    url_basename,
    write_csv,
)

NAME = "rome-csv"
CODE = re.compile(r"^[A-N]\d{4}$")

# Members of the export, found by name whatever the version number (`v460`, `v461` …) or folder in the zip.
MEMBERS = {
    "codes": re.compile(r"^unix_referentiel_code_rome_v\d+_utf8\.csv$"),
    "appellations": re.compile(r"^unix_referentiel_appellation_v\d+_utf8\.csv$"),
    "cr_gd_dp": re.compile(r"^unix_cr_gd_dp_v\d+_utf8\.csv$"),
    "grands_domaines": re.compile(r"^unix_grand_domaine_v\d+_utf8\.csv$"),
    "domaines": re.compile(r"^unix_domaine_professionnel_v\d+_utf8\.csv$"),
}
REQUIRED = {
    "codes": ("code_rome", "libelle_rome"),
    "appellations": ("code_ogr", "libelle_appellation_long", "libelle_appellation_court", "code_rome",
                     "classification"),
    "cr_gd_dp": ("code_rome", "code_grand_domaine", "libelle_grand_domaine"),
    "grands_domaines": ("code_grand_domaine", "libelle_grand_domaine"),
    "domaines": ("code_domaine_professionnel", "libelle_domaine_professionnel"),
}

CODES = "rome/rome_codes.csv"
APPELLATIONS = "rome/rome_appellations.csv"
GRANDS_DOMAINES = "rome/rome_grands_domaines.csv"
DOMAINES = "rome/rome_domaines_professionnels.csv"

CODE_COLUMNS = ("code_rome", "libelle_rome", "code_rome_parent", "est_code_parent", "libelle_rome_v3",
                "code_grand_domaine", "code_domaine_professionnel", "code_ogr", "code_fiche_metier", "transition_eco",
                "transition_num", "transition_demo", "emploi_reglemente", "emploi_cadre")
APPELLATION_COLUMNS = ("code_ogr", "libelle_appellation_long", "libelle_appellation_court", "code_rome",
                       "code_rome_parent", "classification", "peu_usite", "emploi_reglemente", "emploi_cadre",
                       "transition_eco", "transition_num", "transition_demo", "origine")
GRAND_DOMAINE_COLUMNS = ("code_grand_domaine", "libelle_grand_domaine")
DOMAINE_COLUMNS = ("code_domaine_professionnel", "libelle_domaine_professionnel", "code_grand_domaine")


@dataclass
class Table:
    """One CSV of the export: where it came from (for messages) and its rows with their line numbers."""

    name: str
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def fail(self, line: int, message: str) -> ConversionError:
        return ConversionError(f"{NAME} {self.name}:{line}: {message}")


def parse_table(name: str, data: bytes, required: Sequence[str]) -> Table:
    """Read one UTF-8 CSV member, checking its header; every value cleaned of stray whitespace."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConversionError(f"{NAME} {name}: not UTF-8 ({exc})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [clean(h) for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [column for column in required if column not in header]
    if missing:
        raise ConversionError(f"{NAME} {name}:1: missing column(s) {', '.join(missing)}")
    table = Table(name)
    for row in reader:
        if None in row or any(value is None for value in row.values()):
            raise table.fail(reader.line_num, "wrong number of fields")
        table.rows.append((reader.line_num, {key: clean(value) for key, value in row.items()}))
    return table


def read_members(files: Sequence[Path]) -> dict[str, Table]:
    """The export's tables from downloaded zips (members matched by name) or single CSV files."""
    found: dict[str, tuple[str, bytes]] = {}

    def take(label: str, basename: str, read: Callable[[], bytes]) -> None:
        for kind, pattern in MEMBERS.items():
            if pattern.match(basename):
                if kind in found:
                    raise ConversionError(f"{NAME}: two files for {kind}: {found[kind][0]} and {label}")
                found[kind] = (label, read())

    for path in files:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        take(f"{path.name}:{info.filename}", PurePosixPath(info.filename).name,
                             functools.partial(archive.read, info))
        elif any(pattern.match(path.name) for pattern in MEMBERS.values()):
            take(path.name, path.name, path.read_bytes)
        else:
            raise ConversionError(f"{NAME} {path.name}: neither a zip archive nor a unix_*_utf8.csv file of the "
                                  "ROME export")
    missing = [kind for kind in ("codes", "appellations") if kind not in found]
    if "cr_gd_dp" not in found and not ("grands_domaines" in found and "domaines" in found):
        missing.append("cr_gd_dp (or grand_domaine and domaine_professionnel)")
    if missing:
        found_text = ", ".join(sorted(found)) or "none"
        raise ConversionError(f"{NAME}: missing file(s) {', '.join(missing)}; found {found_text}")
    return {kind: parse_table(label, data, REQUIRED[kind]) for kind, (label, data) in found.items()}


def convert_tables(tables: Mapping[str, Table],
                   labels_v3: Mapping[str, str]) -> dict[str, list[dict[str, str]]]:
    """The four rome/ files from the export's tables; `labels_v3` (code → ROME v3 label) is kept from the file in
    use because the ROME 4.0 export no longer carries the v3 labels (ROME v3 is frozen)."""
    domains = _domains(tables)
    codes: dict[str, dict[str, str]] = {}
    lines: dict[str, int] = {}
    table = tables["codes"]
    for line, row in table.rows:
        code = row["code_rome"]
        if not CODE.match(code):
            raise table.fail(line, f"bad ROME code {code!r}")
        if code in codes:
            raise table.fail(line, f"duplicate ROME code {code!r}")
        if not row["libelle_rome"]:
            raise table.fail(line, "empty libelle_rome")
        # Exports before ROME 4.0 v9 (2023) have no parent column: every code was then its own parent.
        parent = row.get("code_rome_parent") or code
        grand, domaine = domains.get(code, (code[0], code[:3]))
        codes[code] = {
            "code_rome": code, "libelle_rome": row["libelle_rome"], "code_rome_parent": parent,
            "est_code_parent": "1" if parent == code else "0", "libelle_rome_v3": labels_v3.get(code, ""),
            "code_grand_domaine": grand, "code_domaine_professionnel": domaine,
            **{name: row.get(name, "") for name in CODE_COLUMNS[7:]},
        }
        lines[code] = line
    for code, row in codes.items():
        if row["code_rome_parent"] not in codes:
            raise table.fail(lines[code], f"parent ROME code {row['code_rome_parent']!r} is not in the file")
    return {
        CODES: [codes[code] for code in sorted(codes)],
        APPELLATIONS: _appellations(tables["appellations"], codes),
        GRANDS_DOMAINES: _grands_domaines(tables),
        DOMAINES: _domaines(tables),
    }


def _appellations(table: Table, codes: Mapping[str, Mapping[str, str]]) -> list[dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for line, row in table.rows:
        ogr, code = row["code_ogr"], row["code_rome"]
        if not ogr.isdigit():
            raise table.fail(line, f"code_ogr is not a number: {ogr!r}")
        if ogr in rows:
            raise table.fail(line, f"duplicate code_ogr {ogr!r}")
        if code not in codes:
            raise table.fail(line, f"unknown ROME code {code!r}")
        if row["classification"] not in ("PRINCIPALE", "SYNONYME"):
            raise table.fail(line, f"classification is neither PRINCIPALE nor SYNONYME: {row['classification']!r}")
        if not row["libelle_appellation_long"]:
            raise table.fail(line, "empty libelle_appellation_long")
        out = {name: row.get(name, "") for name in APPELLATION_COLUMNS}
        # Appellation files before the 2024 exports have no parent column: the fiche's parent is the one.
        out["code_rome_parent"] = row.get("code_rome_parent") or codes[code]["code_rome_parent"]
        rows[ogr] = out
    return [rows[ogr] for ogr in sorted(rows, key=int)]


def _domains(tables: Mapping[str, Table]) -> dict[str, tuple[str, str]]:
    """code ROME → (grand domaine, domaine professionnel) from the cr_gd_dp file, when the export has it."""
    table = tables.get("cr_gd_dp")
    if table is None:
        return {}
    out = {}
    for line, row in table.rows:
        domaine = _domaine_code(row)
        if not (row["code_grand_domaine"] and domaine):
            raise table.fail(line, "empty grand domaine or domaine professionnel code")
        out[row["code_rome"]] = (row["code_grand_domaine"], domaine)
    return out


def _domaine_code(row: Mapping[str, str]) -> str:
    # The export spells this column `code_domaine_professionel` (one n); accept the correct spelling too.
    return row.get("code_domaine_professionel") or row.get("code_domaine_professionnel", "")


def _grands_domaines(tables: Mapping[str, Table]) -> list[dict[str, str]]:
    labels: dict[str, str] = {}
    source = tables.get("grands_domaines") or tables["cr_gd_dp"]
    for line, row in source.rows:
        if not (row["code_grand_domaine"] and row["libelle_grand_domaine"]):
            raise source.fail(line, "empty grand domaine code or label")
        labels.setdefault(row["code_grand_domaine"], row["libelle_grand_domaine"])
    return [{"code_grand_domaine": code, "libelle_grand_domaine": labels[code]} for code in sorted(labels)]


def _domaines(tables: Mapping[str, Table]) -> list[dict[str, str]]:
    labels: dict[str, str] = {}
    source = tables.get("domaines") or tables["cr_gd_dp"]
    for line, row in source.rows:
        code = _domaine_code(row)
        label = row.get("libelle_domaine_professionnel") or row.get("libelle_domaine_professionel", "")
        if not (code and label):
            raise source.fail(line, "empty domaine professionnel code or label")
        labels.setdefault(code, label)
    return [{"code_domaine_professionnel": code, "libelle_domaine_professionnel": labels[code],
             "code_grand_domaine": code[0]} for code in sorted(labels)]


def downloads(urls: Sequence[str]) -> list[tuple[str, str]]:
    """One local file per URL: a CSV keeps its export name (the member it is), anything else is taken as the zip."""
    out = []
    for index, url in enumerate(urls):
        name = url_basename(url)
        if not any(pattern.match(name) for pattern in MEMBERS.values()):
            name = f"rome-export-{index}.zip"
        out.append((name, url))
    return out


def convert(files: Sequence[Path], data_dir: Path) -> dict[str, int]:
    """Write the four rome/ files from the downloaded export; rows written per file."""
    in_use = rows_in_use(data_dir / CODES, "code_rome")
    labels_v3 = {code: row.get("libelle_rome_v3", "") for code, row in in_use.items()}
    tables = convert_tables(read_members(files), labels_v3)
    columns = {CODES: CODE_COLUMNS, APPELLATIONS: APPELLATION_COLUMNS, GRANDS_DOMAINES: GRAND_DOMAINE_COLUMNS,
               DOMAINES: DOMAINE_COLUMNS}
    return {path: write_csv(data_dir / path, columns[path], rows) for path, rows in tables.items()}


FORMAT = SourceFormat(name=NAME, dataset="rome", outputs=(CODES, APPELLATIONS, GRANDS_DOMAINES, DOMAINES),
                      single_url=False, downloads=downloads, convert=convert)
