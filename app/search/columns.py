"""Posting columns of one index generation: numpy arrays sorted by (ROME code, cell), memory-mapped."""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: One row per (document, ROME index code). `key` = code number << CELL_BITS | cell, so the rows of
#: one code in one row of cells are one contiguous slice found by binary search. Codes 0 stand for
#: "none": diploma 0 = unknown level, pday/expday 0 = no date (day numbers are date ordinals).
ROW_DTYPES: dict[str, Any] = {
    "key": np.int64, "rid": np.int32, "idrank": np.int64, "lat": np.float64, "lon": np.float64,
    "x": np.float64, "y": np.float64, "z": np.float64, "score": np.float64, "diploma": np.int8,
    "contracts": np.int8, "source": np.int16, "pday": np.int32, "expday": np.int32, "apps": np.int32,
}
#: Fields of one posting row as the builder and the live table hand them over (key and idrank are derived).
ROW_FIELDS = ("rid", "rome", "cell", "lat", "lon", "x", "y", "z", "score", "diploma", "contracts", "source",
              "pday", "expday", "apps")
CELL_BITS = 23  # 1800 rows × 3600 columns of 0.1° = 6.48M cells < 2**23
# 3: per-document word columns (text_columns.py). Bumped when the files change shape; older generations
# are rebuilt, never misread.
FORMAT = 3


def _typed_columns(rows: Sequence[tuple[Any, ...]], codes: dict[str, int],
                   sources: dict[str, int]) -> dict[str, np.ndarray]:
    """Rows in ROW_FIELDS order as typed columns (all but idrank); unseen codes and sources get the next numbers."""
    cols = list(zip(*rows))
    code_numbers = np.array([codes.setdefault(code, len(codes)) for code in cols[1]], dtype=np.int64)
    values = {"key": (code_numbers << CELL_BITS) | np.array(cols[2], dtype=np.int64), "rid": cols[0],
              "lat": cols[3], "lon": cols[4], "x": cols[5], "y": cols[6], "z": cols[7], "score": cols[8],
              "diploma": [d or 0 for d in cols[9]], "contracts": cols[10],
              "source": [sources.setdefault(name, len(sources)) for name in cols[11]],
              "pday": [d or 0 for d in cols[12]], "expday": [d or 0 for d in cols[13]], "apps": cols[14]}
    return {name: np.asarray(value, dtype=ROW_DTYPES[name]) for name, value in values.items()}


class PostingWriter:
    """Collects posting rows batch by batch, then writes them sorted as one .npy file per column."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self._sources: dict[str, int] = {}
        self._chunks: dict[str, list[np.ndarray]] = {name: [] for name in ROW_DTYPES if name != "idrank"}
        self._doc_ids: dict[int, str] = {}
        self.rows = 0

    def add(self, rows: Sequence[tuple[Any, ...]], ids: dict[int, str]) -> None:
        """One batch of rows in ROW_FIELDS order, and the ids of their documents by rid."""
        self._doc_ids.update(ids)
        if not rows:
            return
        for name, values in _typed_columns(rows, self._codes, self._sources).items():
            self._chunks[name].append(values)
        self.rows += len(rows)

    def forget(self, rids: Iterable[int]) -> None:
        """Drop documents replaced later in the same build (their rows are filtered out at write time)."""
        for rid in rids:
            self._doc_ids.pop(rid, None)

    def doc_rids(self) -> list[int]:
        """Rids of the documents kept (those not replaced later in the build)."""
        return list(self._doc_ids)

    def write(self, folder: Path, max_rid: int) -> int:
        """Write the columns sorted by key into `folder` (replaced if present); rows written."""
        cols = {name: (np.concatenate(chunks) if chunks else np.empty(0, ROW_DTYPES[name]))
                for name, chunks in self._chunks.items()}
        live = np.zeros(max_rid + 2, dtype=bool)
        live[np.fromiter(self._doc_ids, dtype=np.int64, count=len(self._doc_ids))] = True
        keep = live[cols["rid"]]
        order = np.argsort(cols["key"][keep], kind="stable")
        cols = {name: values[keep][order] for name, values in cols.items()}
        # Rank of every document's id in code-point order (UTF-8 bytes sort the same way), even
        # numbers, so documents added later slot in between with odd ones (see Postings.live).
        ids_sorted = sorted(self._doc_ids.items(), key=lambda item: item[1])
        rank_by_rid = np.zeros(max_rid + 2, dtype=np.int64)
        if ids_sorted:
            rank_by_rid[np.fromiter((rid for rid, _ in ids_sorted), dtype=np.int64, count=len(ids_sorted))] = \
                np.arange(0, 2 * len(ids_sorted), 2, dtype=np.int64)
        cols["idrank"] = rank_by_rid[cols["rid"]]
        id_bytes = np.array([doc_id.encode() for _, doc_id in ids_sorted] or [b""], dtype=np.bytes_)
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, values in cols.items():
            np.save(tmp / f"{name}.npy", values)
        np.save(tmp / "ids.npy", id_bytes if ids_sorted else id_bytes[:0])
        (tmp / "meta.json").write_text(json.dumps({
            "format": FORMAT, "rows": int(len(cols["key"])), "max_rid": int(max_rid),
            "codes": sorted(self._codes, key=self._codes.__getitem__),
            "sources": sorted(self._sources, key=self._sources.__getitem__)}))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        return int(len(cols["key"]))


@dataclass(frozen=True)
class Postings:
    """Posting rows as column arrays sorted by key, with the dictionaries that decode them."""

    cols: dict[str, np.ndarray]
    codes: dict[str, int]
    sources: list[str]
    max_rid: int
    ids_sorted: np.ndarray

    @classmethod
    def load(cls, folder: Path) -> "Postings":
        """Map a written generation's columns (read-only, shared by every process through the page cache)."""
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder}: column format {meta.get('format')} is not {FORMAT}")
        # Plain ndarray views of the maps: np.memmap's Python-level __getitem__ costs more than the
        # fancy indexing it wraps on small queries.
        cols = {name: np.load(folder / f"{name}.npy", mmap_mode="r").view(np.ndarray) for name in ROW_DTYPES}
        ids = np.load(folder / "ids.npy", mmap_mode="r").view(np.ndarray)
        return cls(cols, {code: i for i, code in enumerate(meta["codes"])}, list(meta["sources"]),
                   int(meta["max_rid"]), ids)

    def live(self, rows: Sequence[tuple[Any, ...]], ids: dict[int, str]) -> "Postings":
        """Rows added after the build (ROW_FIELDS order), in this generation's dictionaries, extended.

        Their id ranks are odd numbers between the base documents' even ones, so sorting by rank
        stays sorting by id up to ties among added documents, which callers break with the real ids.
        """
        codes = dict(self.codes)
        sources = {name: i for i, name in enumerate(self.sources)}
        if not rows:
            empty = {name: np.empty(0, dtype) for name, dtype in ROW_DTYPES.items()}
            return Postings(empty, codes, list(self.sources), self.max_rid, self.ids_sorted)
        arrays = _typed_columns(rows, codes, sources)
        wanted = np.array([ids[rid].encode() for rid in arrays["rid"].tolist()], dtype=np.bytes_)
        positions = np.searchsorted(self.ids_sorted, wanted) if len(self.ids_sorted) else np.zeros(len(rows))
        arrays["idrank"] = 2 * np.asarray(positions, dtype=np.int64) - 1
        order = np.argsort(arrays["key"], kind="stable")
        return Postings({name: a[order] for name, a in arrays.items()}, codes, sorted(sources, key=sources.__getitem__),
                        max(self.max_rid, int(arrays["rid"].max())), self.ids_sorted)

    def rows(self, codes: Sequence[str], cell_spans: Sequence[tuple[int, int]] | None) -> np.ndarray:
        """Indices of the rows of `codes` whose cell lies in one of `cell_spans` (all cells when None).

        Rows of the first code come first, then the second's...: callers rely on it to keep the
        first row of a document found under several codes.
        """
        starts, ends = [], []
        for code in codes:
            number = self.codes.get(code)
            if number is None:
                continue
            base = number << CELL_BITS
            if cell_spans is None:
                starts.append(base)
                ends.append(base + (1 << CELL_BITS))
            else:
                for first, last in cell_spans:
                    starts.append(base | first)
                    ends.append(base | (last + 1))
        if not starts:
            return np.empty(0, dtype=np.int64)
        key = self.cols["key"]
        lo = np.searchsorted(key, starts)
        hi = np.searchsorted(key, ends)
        lengths = hi - lo
        total = int(lengths.sum())
        # Concatenated aranges without a Python loop: each slice's start, repeated, plus a running offset.
        offsets = np.repeat(lo - (np.cumsum(lengths) - lengths), lengths)
        return offsets + np.arange(total, dtype=np.int64)

    def source_numbers(self, names: Iterable[str]) -> list[int]:
        """Numbers of the given source names known to this generation."""
        index = {name: i for i, name in enumerate(self.sources)}
        return [index[name] for name in names if name in index]
