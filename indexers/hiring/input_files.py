"""Input formats of the hiring prediction (company file, monthly hires by contract kind) and their streamed CSV readers.

Both files are UTF-8 CSV with a header row, comma-separated, every code read as text.

`companies.csv`, one row per establishment (SIRET) — the shape a SIRENE extract joined with the
service's own contact flags has:

    siret, name, trade_name, naf, headcount_band, insee_code, postcode, street_number, street_name,
    latitude, longitude, email, phone, website, created_on, closed_on, opt_out

`siret`, `naf` and `headcount_band` are required columns; a row needs `insee_code`, `postcode`
or `latitude`+`longitude` to be located. `naf` is `1071C` or `10.71C`; `headcount_band` is the
INSEE code of SIRENE (`trancheEffectifsEtablissement`: `NN`, `00`, `01`…`53`) or the label of the
predicted-recruiters file (`1-2`, `10-19`…); coordinates are WGS84; `created_on`/`closed_on` are
`YYYY-MM-DD` (empty: unknown / still open); `opt_out` is `1` when the company asked not to be shown.

`hirings.csv`, one row per (SIRET, month, contract kind) with at least one hire — the shape of an
aggregated extract of the pre-hiring declarations (DPAE) and apprenticeship contracts:

    siret, month, contract, hires

`month` is `YYYY-MM` (a full date is read as its month), `contract` is `apprenticeship`,
`fixed_term` or `permanent`, `hires` a non-negative integer. Rows of one key are summed.
"""
from __future__ import annotations

import csv
import math
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.referentials import Commune, Referentials
from indexers import ImportStats, commune_of
from indexers.hiring.codes import ALWAYS, CONTRACTS, NEVER, RowError, band_code, flag, month_ordinal
from indexers.hiring.history import MAX_CELL, Companies, History
from indexers.recruiters import valid_siret

COMPANY_COLUMNS = ("siret", "name", "trade_name", "naf", "headcount_band", "insee_code", "postcode",
                   "street_number", "street_name", "latitude", "longitude", "email", "phone", "website",
                   "created_on", "closed_on", "opt_out")
HIRING_COLUMNS = ("siret", "month", "contract", "hires")
REQUIRED_COMPANY_COLUMNS = ("siret", "naf", "headcount_band")


class _Locator:
    """Commune of a row from its INSEE code, postal code or, failing both, its nearest commune centre."""

    def __init__(self, refs: Referentials) -> None:
        self.refs = refs
        self._tree: Any = None
        self._communes: list[Commune] = []

    def nearest(self, lat: float, lon: float) -> Commune:
        if self._tree is None:
            from scipy.spatial import cKDTree

            # Paris/Lyon/Marseille answer with their arrondissement, as SIRENE codes them.
            split = {c.parent for c in self.refs.communes if c.kind == "arrondissement-municipal"}
            self._communes = [c for c in self.refs.communes if c.insee not in split]
            self._tree = cKDTree(_unit_vectors([c.latitude for c in self._communes],
                                               [c.longitude for c in self._communes]))
        _, position = self._tree.query(_unit_vectors([lat], [lon])[0])
        return self._communes[int(position)]

    def locate(self, insee: str, postcode: str, lat: float, lon: float) -> Commune:
        commune = commune_of(self.refs, insee, postcode)
        if commune is None and not math.isnan(lat):
            commune = self.nearest(lat, lon)
        if commune is None:
            raise RowError("no location")
        return commune


def _unit_vectors(lats: Sequence[float], lons: Sequence[float]) -> np.ndarray:
    # Points on the unit sphere: Euclidean nearest neighbour = great-circle nearest, overseas included.
    lat, lon = np.radians(np.asarray(lats, dtype=float)), np.radians(np.asarray(lons, dtype=float))
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _coordinate(text: str, low: float, high: float) -> float:
    raw = text.strip()
    if not raw:
        return math.nan
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise RowError("bad coordinates") from None
    if not (low <= value <= high) or not math.isfinite(value):
        raise RowError("bad coordinates")
    return value


def _date_month(text: str, missing: int) -> int:
    raw = text.strip()
    if not raw:
        return missing
    try:
        return month_ordinal(raw)
    except RowError:
        raise RowError("bad date") from None


def _rows(path: str | Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, int], list[str]]]:
    """(line, column positions, cells) of each data row, checking the header names `required`."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader, [])]
        missing = [name for name in required if name not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        positions = {name: i for i, name in enumerate(header)}
        for cells in reader:
            yield reader.line_num, positions, cells


def read_companies(path: str | Path, refs: Referentials, stats: ImportStats | None = None) -> Companies:
    """The company file, streamed; rows counted in `stats` by rejection reason; the first row of a SIRET wins."""
    stats = stats or ImportStats("hiring companies")
    locator = _Locator(refs)
    cols: dict[str, list[Any]] = {name: [] for name in (
        "siret", "naf", "band", "department", "insee", "postcode", "city", "latitude", "longitude", "created",
        "closed", "closed_on", "opt_out", "name", "trade_name", "street_number", "street_name", "email",
        "phone", "website")}
    index: dict[str, int] = {}
    header_checked = False
    for _, positions, cells in _rows(path, REQUIRED_COMPANY_COLUMNS):
        if not header_checked:
            if "insee_code" not in positions and "postcode" not in positions and "latitude" not in positions:
                raise ValueError(f"{path}: needs an insee_code, postcode or latitude/longitude column")
            header_checked = True
        stats.read += 1
        if len(cells) != len(positions):
            stats.reject("wrong number of fields")
            continue

        def cell(name: str) -> str:
            position = positions.get(name)
            return cells[position].strip() if position is not None else ""

        try:
            siret = cell("siret").replace(" ", "")
            if not valid_siret(siret):
                raise RowError("invalid siret")
            if siret in index:
                raise RowError("duplicate siret")
            naf = cell("naf").replace(".", "").upper()
            if naf not in refs.naf.codes:
                raise RowError("unknown naf")
            band = band_code(cell("headcount_band"))
            lat = _coordinate(cell("latitude"), -90.0, 90.0)
            lon = _coordinate(cell("longitude"), -180.0, 180.0)
            if math.isnan(lat) != math.isnan(lon):
                raise RowError("bad coordinates")
            commune = locator.locate(cell("insee_code"), cell("postcode"), lat, lon)
            created = _date_month(cell("created_on"), ALWAYS)
            closed = _date_month(cell("closed_on"), NEVER)
            opt_out = flag(cell("opt_out"))
        except RowError as error:
            stats.reject(str(error))
            continue
        if band == "NN" and not cell("headcount_band"):
            stats.warn("unknown headcount band")
        index[siret] = len(cols["siret"])
        postcode = cell("postcode") or (commune.postcodes[0] if commune.postcodes else "")
        for key, value in (("siret", siret), ("naf", naf), ("band", band), ("department", commune.department),
                           ("insee", cell("insee_code") or commune.insee), ("postcode", postcode),
                           ("city", commune.name), ("latitude", lat), ("longitude", lon), ("created", created),
                           ("closed", closed), ("closed_on", cell("closed_on")), ("opt_out", opt_out),
                           ("name", cell("name")), ("trade_name", cell("trade_name")),
                           ("street_number", cell("street_number")), ("street_name", cell("street_name")),
                           ("email", cell("email")), ("phone", cell("phone")), ("website", cell("website"))):
            cols[key].append(value)
        stats.indexed += 1
    return Companies(
        siret=cols["siret"], naf=np.array(cols["naf"], dtype="<U5"), band=np.array(cols["band"], dtype="<U2"),
        department=np.array(cols["department"], dtype="<U3"), insee=cols["insee"], postcode=cols["postcode"],
        city=cols["city"], latitude=np.array(cols["latitude"], dtype=float),
        longitude=np.array(cols["longitude"], dtype=float), created=np.array(cols["created"], dtype=np.int32),
        closed=np.array(cols["closed"], dtype=np.int32), closed_on=cols["closed_on"],
        opt_out=np.array(cols["opt_out"], dtype=bool), name=cols["name"], trade_name=cols["trade_name"],
        street_number=cols["street_number"], street_name=cols["street_name"], email=cols["email"],
        phone=cols["phone"], website=cols["website"], index=index,
    )


def read_hirings(path: str | Path, companies: Companies, stats: ImportStats | None = None,
                 first_month: str | None = None, last_month: str | None = None) -> History:
    """The monthly hires file, streamed into a dense array; months default to the span of the file.

    Rows of SIRETs absent from the company file, of months outside [first_month, last_month] or
    with a bad month, contract or count are counted in `stats` and skipped.
    """
    stats = stats or ImportStats("hiring history")
    low = month_ordinal(first_month) if first_month else None
    high = month_ordinal(last_month) if last_month else None
    rows_company, rows_month, rows_kind, rows_hires = array("i"), array("i"), array("b"), array("i")
    month_cache: dict[str, int] = {}
    kind_of = {name: i for i, name in enumerate(CONTRACTS)}
    index = companies.index
    for _, positions, cells in _rows(path, HIRING_COLUMNS):
        stats.read += 1
        try:
            company = index.get(cells[positions["siret"]].strip())
            if company is None:
                raise RowError("unknown siret")
            month_text = cells[positions["month"]]
            month = month_cache.get(month_text)
            if month is None:
                month = month_cache[month_text] = month_ordinal(month_text)
            if (low is not None and month < low) or (high is not None and month > high):
                raise RowError("month out of range")
            kind = kind_of.get(cells[positions["contract"]].strip().lower())
            if kind is None:
                raise RowError("bad contract")
            hires_text = cells[positions["hires"]].strip()
            if not hires_text.isdigit():
                raise RowError("bad hires")
            hires = int(hires_text)
        except RowError as error:
            stats.reject(str(error))
            continue
        except IndexError:
            stats.reject("wrong number of fields")
            continue
        rows_company.append(company)
        rows_month.append(month)
        rows_kind.append(kind)
        rows_hires.append(hires)
        stats.indexed += 1
    months = np.frombuffer(rows_month, dtype=np.int32) if len(rows_month) else np.zeros(0, np.int32)
    first = low if low is not None else (int(months.min()) if months.size else 0)
    last = high if high is not None else (int(months.max()) if months.size else first)
    counts = np.zeros((len(companies), last - first + 1, len(CONTRACTS)), dtype=np.int64)
    if months.size:
        np.add.at(counts, (np.frombuffer(rows_company, dtype=np.int32), months - first,
                           np.frombuffer(rows_kind, dtype=np.int8)), np.frombuffer(rows_hires, dtype=np.int32))
    if (counts > MAX_CELL).any():
        stats.warn("hires capped at 65535 per company-month-kind")
    if months.size and (np.bincount(months - first, minlength=last - first + 1) == 0).any():
        # A month without a single hire nationally is a missing extract, not a quiet month.
        stats.warn("month without any hire")
    return History(companies, first, np.minimum(counts, MAX_CELL).astype(np.uint16))


def load_history(companies_path: str | Path, hirings_path: str | Path, refs: Referentials,
                 **months: str | None) -> tuple[History, ImportStats, ImportStats]:
    """Both files read: (history, company stats, hiring stats)."""
    company_stats, hiring_stats = ImportStats("hiring companies"), ImportStats("hiring history")
    started = time.perf_counter()
    companies = read_companies(companies_path, refs, company_stats)
    company_stats.seconds = time.perf_counter() - started
    history = read_hirings(hirings_path, companies, hiring_stats, **months)
    hiring_stats.seconds = time.perf_counter() - started - company_stats.seconds
    return history, company_stats, hiring_stats


def write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a header and rows; returns the number of rows. Used by the demo generator and tests."""
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row)
            written += 1
    return written
