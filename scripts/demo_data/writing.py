"""The generated files' layout: JSON arrays written in chunks, one element per line."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, BinaryIO

import orjson

CHUNK = 10_000  # items built and written together (companies: projected together too)


def write_lines(handle: BinaryIO, items: Sequence[Any], first: bool) -> None:
    """Append items of a JSON array, one per line; `first` when nothing was written before."""
    for item in items:
        if not first:
            handle.write(b",\n")
        handle.write(orjson.dumps(item))
        first = False
