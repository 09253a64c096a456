"""CSV reading that names the file and line of any problem."""
from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path


class ReferenceDataError(RuntimeError):
    """A reference file is missing or malformed; the message names the file and the line."""


def read_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each data row, checking the header has the `required` columns.

    Every value stays a string: codes such as `01001` or `2A004` must keep their exact spelling.
    """
    if not path.is_file():
        raise ReferenceDataError(f"{path}: reference file not found")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in required if name not in (reader.fieldnames or [])]
        if missing:
            raise ReferenceDataError(f"{path}:1: missing column(s) {', '.join(missing)}")
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                raise ReferenceDataError(f"{path}:{reader.line_num}: wrong number of fields")
            yield reader.line_num, row


def parse_float(path: Path, line: int, name: str, text: str) -> float:
    """Parse a number column, naming file, line and column when it is not one."""
    try:
        return float(text)
    except ValueError:
        raise ReferenceDataError(f"{path}:{line}: column {name} is not a number: {text!r}") from None


def check(condition: bool, path: Path, line: int, message: str) -> None:
    """Raise ReferenceDataError at `path:line` unless `condition` holds."""
    if not condition:
        raise ReferenceDataError(f"{path}:{line}: {message}")
