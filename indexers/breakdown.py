"""What a build published, by source and by region: counted as documents pass to the index builder."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from app.referentials.regions import Regions


class Breakdown:
    """Documents by (source, region) of one generation; a later document with the same id replaces the earlier.

    Sources in `live_sources` are left out: their documents change between builds (deposited offers
    are synced every few minutes) so the statistics count them from the store instead.
    """

    def __init__(self, regions: Regions, live_sources: Iterable[str] = ()) -> None:
        self.regions = regions
        self.live_sources = frozenset(live_sources)
        # id → index into _keys: one small int per document, not one tuple each.
        self._of: dict[str, int] = {}
        self._keys: list[tuple[str, str]] = []
        self._key_index: dict[tuple[str, str], int] = {}

    def counted(self, documents: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The documents unchanged, each one counted on its way."""
        for document in documents:
            source = str(document.get("source") or "")
            if source not in self.live_sources:
                key = (source, self.regions.region_of_place(document.get("place")))
                index = self._key_index.get(key)
                if index is None:
                    index = self._key_index[key] = len(self._keys)
                    self._keys.append(key)
                self._of[str(document["id"])] = index
            yield document

    def remove(self, ids: Iterable[str]) -> None:
        """Forget documents deleted from the generation after it was published."""
        for doc_id in ids:
            self._of.pop(str(doc_id), None)

    def as_dict(self) -> dict[str, dict[str, int]]:
        """{source: {region code: documents}}, sorted (region "" is a place of unknown department)."""
        counts = Counter(self._of.values())
        out: dict[str, dict[str, int]] = {}
        for index, count in sorted(counts.items(), key=lambda item: self._keys[item[0]]):
            source, region = self._keys[index]
            out.setdefault(source, {})[region] = count
        return out
