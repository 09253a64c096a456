"""Official-format payloads for the referential converters: recorded fixtures, a zip and a workbook built from them."""
from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import xlwt

from app.config import Settings
from indexers.referential_sources import geo_api, insee_naf, rome_csv

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "referentials"
GEO = FIXTURES / "geo_api"
ROME = FIXTURES / "rome"
NAF_CELLS = FIXTURES / "naf" / "int_courts_naf_rev_2.cells.json"
SHARED = Path(Settings.from_env().data_dir)


def geo_files() -> list[Path]:
    """The four recorded API answers, named as the converter downloads them."""
    return sorted(GEO.glob("*.json"))


def geo_payload(name: str) -> list[dict]:
    return json.loads((GEO / name).read_text(encoding="utf-8"))


def rome_members() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(ROME.glob("*.csv"))}


def rome_zip(dest: Path, prefix: str = "", members: dict[str, bytes] | None = None) -> Path:
    """The RefRomeCsv archive: the export's CSV members (under `prefix`) beside files the converter ignores."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (rome_members() if members is None else members).items():
            archive.writestr(prefix + name, data)
        archive.writestr(prefix + "unix_texte_v460_utf8.csv", '"code_rome","code_compo_bloc"\n"A1101","1"\n')
        archive.writestr(prefix + "version.txt", "Numero de version : 60\n")
    return dest


def naf_cells() -> list[list[object]]:
    return json.loads(NAF_CELLS.read_text(encoding="utf-8"))


def naf_xls(dest: Path, cells: list[list[object]] | None = None) -> Path:
    """INSEE's workbook (Excel 97-2003, BIFF8) holding `cells` on its first sheet."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("int_courts_naf_rev_2")
    for r, row in enumerate(naf_cells() if cells is None else cells):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(dest))
    return dest


def shared_rows(relative: str, key: str, keys: set[str]) -> list[dict[str, str]]:
    """Rows of a shared data file whose `key` is in `keys`."""
    with (SHARED / relative).open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row[key] in keys]


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def in_use_communes(data_dir: Path, codes: set[str]) -> None:
    """A communes.csv in use holding only `codes` (their former codes, arrondissement and coordinates)."""
    write_rows(data_dir / geo_api.COMMUNES, shared_rows(geo_api.COMMUNES, "code_insee", codes))


def base_data_dir(dest: Path, scratch: Path) -> Path:
    """A small, consistent data directory: the fixtures converted, a ROME↔NAF mapping on their codes, and the
    shared diploma and OPCO tables (which no official source converts)."""
    for folder in ("diplomes", "opco"):
        for path in (SHARED / folder).glob("*.csv"):
            (dest / folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest / folder / path.name)
    in_use_communes(dest, {"13201", "69123"})
    geo_api.convert(geo_files(), dest)
    rome_csv.convert([rome_zip(scratch / "RefRomeCsv.zip")], dest)
    insee_naf.convert([naf_xls(scratch / insee_naf.FILE)], dest)
    with (dest / rome_csv.CODES).open(encoding="utf-8") as handle:
        romes = {row["code_rome"] for row in csv.DictReader(handle)}
    with (dest / insee_naf.OUTPUT).open(encoding="utf-8") as handle:
        nafs = {row["code_naf_compact"] for row in csv.DictReader(handle)}
    mapping = [row for row in shared_rows("naf/rome_naf_mapping_lbb.csv", "code_rome", romes)
               if row["code_naf_compact"] in nafs]
    write_rows(dest / "naf" / "rome_naf_mapping_lbb.csv", mapping)
    return dest


def csv_bytes(rows: list[list[str]]) -> bytes:
    """Rows written as the ROME export writes them: every field quoted."""
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")
