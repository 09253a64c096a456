"""The deliberately broken items of a file and the rejections, by reason, the indexers should report."""
from __future__ import annotations

import random
from collections.abc import Mapping


def broken_positions(rng: random.Random, count: int, kinds: list[str], per: int) -> dict[int, str]:
    """Positions of deliberately broken items: about one per `per` items, at least one of each kind."""
    total = min(count // 4, max(len(kinds), count // per))
    positions = rng.sample(range(count), total) if total else []
    return {position: kinds[i % len(kinds)] for i, position in enumerate(sorted(positions))}


def count_by_reason(broken: Mapping[int, str]) -> dict[str, int]:
    """How many broken items there are of each kind, kinds in alphabetical order (the manifest's order)."""
    expected: dict[str, int] = {}
    for kind in broken.values():
        expected[kind] = expected.get(kind, 0) + 1
    return dict(sorted(expected.items()))
