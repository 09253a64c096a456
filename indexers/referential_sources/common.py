"""What every official-source converter shares: its declaration, its error, and the data directory's CSV conventions."""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit


class ConversionError(RuntimeError):
    """An official payload cannot be converted; the message names the source, the file and the item or line."""


@dataclass(frozen=True)
class SourceFormat:
    """One official distribution: how to download it and how to turn it into data-directory files.

    `downloads(urls)` gives the (local file name, URL) pairs to fetch for the URLs an operator declared;
    `convert(files, data_dir)` reads the fetched files, writes `outputs` into `data_dir` (which still holds
    the files in use, for the columns an official source lacks) and returns the rows written per file.
    """

    name: str
    dataset: str
    outputs: tuple[str, ...]
    single_url: bool
    downloads: Callable[[Sequence[str]], list[tuple[str, str]]]
    convert: Callable[[Sequence[Path], Path], dict[str, int]]


def clean(value: object) -> str:
    """Text as the data directory keeps it: surrounding whitespace removed, inner runs of whitespace made one space."""
    return " ".join(str(value).split()) if value is not None else ""


def url_basename(url: str) -> str:
    """The last segment of a URL's path ('' for `https://host/`)."""
    return PurePosixPath(urlsplit(url).path).name


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> int:
    """Write `rows` as UTF-8 comma-separated CSV with a header and `\\n` line ends; the number of rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(name, "") for name in columns])
            count += 1
    return count


def rows_in_use(path: Path, key: str) -> dict[str, dict[str, str]]:
    """Rows of a data-directory file by `key`, to keep the columns an official source does not publish.

    A missing file or column gives an empty mapping: the converted file then leaves those columns empty.
    """
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if key not in (reader.fieldnames or []):
            return {}
        return {row[key]: row for row in reader if row.get(key)}
