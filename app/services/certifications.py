"""RNCP certification → ROME codes, read from the indexed formations (each carries its RNCP and ROME codes)."""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable

from app.search.contract import MatchQuery, SearchEngine

RNCP_RE = re.compile(r"^RNCP[0-9]{3,5}$", re.ASCII)
#: How often the formation index generation is checked; a new generation rebuilds the table.
CHECK_SECONDS = 60.0
BATCH = 1000  # documents fetched per get_many call while building


class UnknownCertification(LookupError):
    """No indexed formation leads to this RNCP certification."""


class Certifications:
    """An RNCP → ROME table built from the formation index, rebuilt when a new generation is published.

    The public service asks API Apprentissage; our formations catalogue holds the same pairs
    (`rncp_code` and `romes` of each formation), so the table is every pair the index holds.
    """

    def __init__(self, engine: SearchEngine, rome_codes: Callable[[], Iterable[str]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._rome_codes = rome_codes
        self._clock = clock
        self._lock = threading.Lock()
        self._table: dict[str, tuple[str, ...]] | None = None
        self._generation: object = None
        self._checked = float("-inf")

    def romes(self, rncp: str) -> list[str]:
        """ROME codes of certification `rncp` ("RNCP34826"), most frequent first; UnknownCertification otherwise."""
        code = rncp.strip().upper()
        found = self.table().get(code) if RNCP_RE.match(code) else None
        if not found:
            raise UnknownCertification(code)
        return list(found)

    def table(self) -> dict[str, tuple[str, ...]]:
        """The whole table, (re)built on first use and when the formation index changed."""
        with self._lock:
            now = self._clock()
            if self._table is None or now - self._checked >= CHECK_SECONDS:
                self._checked = now
                generation = self._engine.stats().get("formation", {}).get("generation")
                if self._table is None or generation != self._generation:
                    self._table = self._build()
                    self._generation = generation
            return self._table

    def _build(self) -> dict[str, tuple[str, ...]]:
        codes = tuple(dict.fromkeys(self._rome_codes()))
        if not codes:
            return {}
        ids = [hit.id for hit in self._engine.iter_candidates(
            MatchQuery(romes=codes, kinds=("formation",), include_expired=True, page_size=None))]
        counts: dict[str, dict[str, int]] = {}
        for start in range(0, len(ids), BATCH):
            for doc in self._engine.get_many("formation", ids[start:start + BATCH]).values():
                rncp = str(doc.get("rncp_code") or "").strip().upper()
                if not RNCP_RE.match(rncp):
                    continue
                per_code = counts.setdefault(rncp, {})
                for rome in doc.get("romes") or []:
                    per_code[rome] = per_code.get(rome, 0) + 1
        return {rncp: tuple(sorted(romes, key=lambda r: (-romes[r], r))) for rncp, romes in counts.items()}
