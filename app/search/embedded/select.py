"""Choosing a page without a full sort: per-key partitions in the order a sort asks, then a Python sort of the few."""
from __future__ import annotations

import numpy as np

from app.search.embedded.scan import Candidates


def sort_keys(sort: str, cands: Candidates, total: np.ndarray) -> list[np.ndarray]:
    """Ascending numeric keys of ranking.blend's order inside one kind; ids break the remaining ties."""
    c2 = cands.c2 if cands.c2 is not None else np.zeros(len(cands))
    if sort == "distance":
        return [c2, -total, cands.idrank]
    if sort == "date":
        newest_first = np.where(cands.pday == 0, 1, -cands.pday.astype(np.int64))  # no date last
        return [newest_first, -total, c2, cands.idrank]
    return [-total, c2, cands.idrank]


# The same orders on (hit, (c2, pday)) pairs, with the real ids as the last key.
PY_SORT = {
    "relevance": lambda pair: (-pair[0].rank_score, pair[1][0], pair[0].id),
    "distance": lambda pair: (pair[1][0], -pair[0].rank_score, pair[0].id),
    "date": lambda pair: (pair[1][1] == 0, -pair[1][1], -pair[0].rank_score, pair[1][0], pair[0].id),
}


def select(keys: list[np.ndarray], idx: np.ndarray, limit: int) -> np.ndarray:
    """Indices among `idx` of the `limit` first by `keys` (lexicographic), plus rows tied on every key.

    A partition per key instead of a full sort: the rows strictly before the limit-th value are in,
    rows tied with it are decided by the next key; ties left after the last key are all returned
    for the caller to order by id.
    """
    chosen = []
    for key in keys:
        if len(idx) <= limit or limit <= 0:
            break
        values = key[idx]
        kth = np.partition(values, limit - 1)[limit - 1]
        better = idx[values < kth]
        chosen.append(better)
        limit -= len(better)
        idx = idx[values == kth]
    chosen.append(idx if limit > 0 else idx[:0])
    return np.concatenate(chosen) if len(chosen) > 1 else chosen[0]
