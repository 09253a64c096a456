"""Candidates of one kind: the scan of the asked codes' cell slices, the radius and filter masks, distinct documents."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import orjson

from app.search.contract import MatchQuery
from app.search.embedded.grid import Area
from app.search.embedded.rows import contract_bits
from app.search.embedded.snapshots import NO_RIDS, View

GATHERED = ("rid", "idrank", "score", "diploma", "contracts", "source", "pday", "expday", "apps", "lat", "lon")


@dataclass
class Candidates:
    """Every candidate of one kind for one query, one entry per document, as parallel arrays."""

    rid: np.ndarray
    idrank: np.ndarray
    c2: np.ndarray | None  # None without a point
    score: np.ndarray
    diploma: np.ndarray
    contracts: np.ndarray
    source: np.ndarray
    pday: np.ndarray
    expday: np.ndarray
    apps: np.ndarray
    lat: np.ndarray
    lon: np.ndarray

    def __len__(self) -> int:
        return len(self.rid)

    def take(self, index: np.ndarray) -> "Candidates":
        return Candidates(**{name: (None if value is None else value[index])  # type: ignore[arg-type]
                             for name, value in self.__dict__.items()})


def candidates(view: View, query: MatchQuery, area: Area | None, today: date,
               scratch: dict[str, tuple[np.ndarray, np.ndarray]], kind: str) -> Candidates:
    """Every distinct document of `kind` matching `query`: scans of the asked codes' cell slices.

    `scratch` holds this thread's arrays for `distinct`, per kind.
    """
    codes = list(dict.fromkeys(query.romes))
    spans = area.spans if area is not None else None
    day = today.toordinal()
    parts = []
    for store, removed in ((view.base, view.removed), (view.live, NO_RIDS)):
        if store is None:
            continue
        idx = store.rows(codes, spans)
        if not len(idx):
            continue
        cols = store.cols
        got: dict[str, np.ndarray] = {}
        mask = None
        if spans is not None:
            # The radius filter, written like app.search.geo.chord2, so distances are bit-identical to Python's.
            dx = cols["x"][idx] - area.x0  # type: ignore[union-attr]
            dy = cols["y"][idx] - area.y0  # type: ignore[union-attr]
            dz = cols["z"][idx] - area.z0  # type: ignore[union-attr]
            got["c2"] = dx * dx + dy * dy + dz * dz
            mask = got["c2"] <= area.c2max  # type: ignore[union-attr]
        conditions = []
        if query.diploma_level is not None:
            got["diploma"] = cols["diploma"][idx]
            conditions.append((got["diploma"] == 0) | (got["diploma"] == query.diploma_level))
        if query.contract_types:
            got["contracts"] = cols["contracts"][idx]
            conditions.append((got["contracts"] & contract_bits(query.contract_types)) != 0)
        if query.sources:
            got["source"] = cols["source"][idx]
            conditions.append(np.isin(got["source"], store.source_numbers(dict.fromkeys(query.sources))))
        if query.exclude_sources:
            got["source"] = got.get("source", cols["source"][idx])
            conditions.append(~np.isin(got["source"],
                                       store.source_numbers(dict.fromkeys(query.exclude_sources))))
        if not query.include_expired:
            got["expday"] = cols["expday"][idx]
            conditions.append((got["expday"] == 0) | (got["expday"] >= day))
        if len(removed):
            got["rid"] = cols["rid"][idx]
            conditions.append(~np.isin(got["rid"], removed))
        for condition in conditions:
            mask = condition if mask is None else mask & condition
        if mask is not None:
            idx = idx[mask]
            got = {name: values[mask] for name, values in got.items()}
        part = {name: got[name] if name in got else cols[name][idx] for name in GATHERED}
        part["c2"] = got.get("c2")
        parts.append(part)
    if not parts:
        empty = {name: view.base.cols[name][:0] for name in GATHERED}
        return Candidates(c2=np.empty(0) if spans is not None else None, **empty)
    merged = {name: (np.concatenate([p[name] for p in parts]) if len(parts) > 1 else parts[0][name])
              for name in GATHERED}
    c2 = None if spans is None else (np.concatenate([p["c2"] for p in parts]) if len(parts) > 1
                                     else parts[0]["c2"])
    cands = Candidates(c2=c2, **merged)
    if len(codes) > 1 and len(cands):
        cands = distinct(kind, view, cands, scratch)
    if (query.departments or query.opcos or query.exclude_opcos) and len(cands):
        cands = cands.take(document_mask(view, cands, query))
    return cands


def document_mask(view: View, cands: Candidates, query: MatchQuery) -> np.ndarray:
    """Which candidates pass the department and OPCO filters, read from their documents in the snapshot.

    These fields are not posting columns (only the v3 API filters on them), so they are read
    for the geo + job candidates only, before totals, facets and ranking: results are complete.
    """
    rows = view.conn.execute(
        "SELECT rid, json_extract(b, '$.place.department'), json_extract(b, '$.place.postcode'),"
        " json_extract(b, '$.organisation.opco')"
        " FROM (SELECT rid, CAST(body AS TEXT) AS b FROM docs WHERE rid IN (SELECT value FROM json_each(?)))",
        (orjson.dumps(np.unique(cands.rid).tolist()).decode(),)).fetchall()
    departments = tuple(dict.fromkeys(query.departments))
    wanted = {name.lower() for name in query.opcos}
    unwanted = {name.lower() for name in query.exclude_opcos}
    passing = []
    for rid, department, postcode, opco in rows:
        if departments and not (str(department or "") in departments
                                or (postcode and str(postcode).startswith(departments))):
            continue
        name = str(opco or "").lower()
        if (wanted and name not in wanted) or name in unwanted:
            continue
        passing.append(rid)
    return np.isin(cands.rid, np.asarray(passing, dtype=np.int64))


def distinct(kind: str, view: View, cands: Candidates,
             scratch: dict[str, tuple[np.ndarray, np.ndarray]]) -> Candidates:
    """One entry per document found under several asked codes, with the best of its code scores.

    Scratch arrays indexed by rid (one pair per thread and kind) make it linear: no sort.
    """
    size = max(view.base.max_rid, view.live.max_rid if view.live is not None else 0) + 2
    best, first = scratch.get(kind, (None, None))  # type: ignore[arg-type]
    if best is None or len(best) < size:
        best = np.full(size + 1024, -np.inf)
        first = np.full(size + 1024, np.iinfo(np.int64).max, dtype=np.int64)
        scratch[kind] = (best, first)
    assert best is not None and first is not None
    rid = cands.rid
    order = np.arange(len(rid), dtype=np.int64)
    np.maximum.at(best, rid, cands.score)
    np.minimum.at(first, rid, order)
    out = cands.take(first[rid] == order)
    out.score = best[out.rid]
    best[rid] = -np.inf  # leave the scratch clean for the next query
    first[rid] = np.iinfo(np.int64).max
    return out
