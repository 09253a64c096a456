"""From candidates to contract Hits: the few document fields a hit shows, and the text scores under their budget."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from app.search.contract import Hit
from app.search.embedded.rows import ALL_CONTRACT_BITS, CONTRACT_NAMES
from app.search.embedded.scan import Candidates
from app.search.embedded.snapshots import View
from app.search.geo import km_from_chord2
from app.search.text import text_words
from app.search.text_columns import live_scores

log = logging.getLogger(__name__)


def hits(kind: str, view: View, cands: Candidates, chosen: np.ndarray,
         ts: np.ndarray | None = None, total: np.ndarray | None = None) -> list[tuple[Hit, Any]]:
    """Hits for the chosen candidates, each with its squared chord (0.0 without a point)."""
    rids = cands.rid[chosen]
    info = {rid: rest for rid, *rest in view.conn.execute(
        "SELECT rid, id, published, expires FROM docs WHERE rid IN (SELECT value FROM json_each(?))",
        (orjson.dumps(rids.tolist()).decode(),))}
    sources = view.decoder.sources
    c2 = cands.c2[chosen].tolist() if cands.c2 is not None else [None] * len(chosen)
    columns = zip(rids.tolist(), c2, cands.source[chosen].tolist(), cands.lat[chosen].tolist(),
                  cands.lon[chosen].tolist(), cands.score[chosen].tolist(), cands.diploma[chosen].tolist(),
                  cands.contracts[chosen].tolist(), cands.apps[chosen].tolist(),
                  cands.pday[chosen].tolist(),
                  ts[chosen].tolist() if ts is not None else [0.0] * len(chosen),
                  total[chosen].tolist() if total is not None else [None] * len(chosen))
    out = []
    for rid, c2_, source, lat, lon, score, diploma, contracts, apps, pday, text, rank_score in columns:
        doc_id, published, expires = info[rid]
        hit = Hit(kind, doc_id, sources[source], None if c2_ is None else km_from_chord2(c2_), lat, lon, score,
                  diploma or None, CONTRACT_NAMES[contracts & ALL_CONTRACT_BITS], published, expires, apps, text,
                  rank_score)
        out.append((hit, (0.0 if c2_ is None else c2_, pday)))
    return out


def text_scores(view: View, cands: Candidates, text: str, deadline: float, budget_s: float,
                on_exceeded: Callable[[], None]) -> np.ndarray:
    """BM25 relevance of every candidate's words (higher is better), 0 when no word matches.

    Computed over the candidates only, from the generation's word columns (text_columns.py),
    never over every document of France that holds a word; the work stops at `deadline`
    (the candidates not reached keep 0), so no text can hold a worker.
    """
    words = text_words(text)
    out = np.zeros(len(cands))
    if not words or not len(cands) or view.text is None:
        return out

    def passed() -> bool:
        if time.perf_counter() > deadline:
            on_exceeded()
            log.warning("text scoring stopped by its %.0f ms budget: %r", budget_s * 1000, text[:80])
            return True
        return False

    base = cands.rid <= view.base.max_rid
    out[base] = view.text.scores(cands.rid[base].astype(np.int64), words, passed)
    if view.live_words and not base.all():
        added = np.flatnonzero(~base)
        texts = [view.live_words.get(rid, []) for rid in cands.rid[added].tolist()]
        out[added] = live_scores(texts, words, view.text)
    return out
