"""Where a file-based source comes from: a local path, or an HTTP(S) URL downloaded to a temporary file first."""
from __future__ import annotations

import logging
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

log = logging.getLogger(__name__)

TIMEOUT_S = (10.0, 120.0)  # (connect, read between two chunks): exports are large but must keep flowing
RETRIES = 3
CHUNK = 1 << 20
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


#: File names of the generated demo sources (scripts/demo_data.py) inside LBA_DEMO_DIR/DEMO_SCALE, by
#: generator key; read by the jobs only in demo mode (LBA_DEMO=1).
DEMO_FILES = {"offers": "offres_france_travail.json", "formations": "catalogue_formations.json",
              "companies": "recruteurs_lba.json"}
DEMO_MANIFEST = "manifest.json"


class SourceError(RuntimeError):
    """A source cannot be read: missing file, download refused or cut."""


class SourceNotConfigured(SourceError):
    """A job needs a source that no variable names (and demo mode is off)."""

    def __init__(self, variable: str, hint: str = "") -> None:
        super().__init__(f"{variable} is not set{hint}: configure the source, or set LBA_DEMO=1 to use the "
                         "generated demo files")
        self.variable = variable


def configured(value: str, variable: str, hint: str = "") -> str:
    """`value` when set; SourceNotConfigured naming `variable` otherwise."""
    if not value:
        raise SourceNotConfigured(variable, hint)
    return value


def is_url(source: str) -> bool:
    """Whether `source` names an HTTP(S) resource rather than a path."""
    return source.startswith(("http://", "https://"))


def download(url: str, dest: Path, session: requests.Session | None = None,
             sleep: Callable[[float], None] = time.sleep, retries: int = RETRIES) -> Path:
    """Stream `url` into `dest`, retrying 429/5xx and network errors; a short read is an error, never a file."""
    http = session or requests.Session()
    error = ""
    for attempt in range(retries + 1):
        if attempt:
            sleep(min(30.0, 2 ** attempt * random.uniform(0.5, 1.0)))
        try:
            with http.get(url, stream=True, timeout=TIMEOUT_S) as answer:
                if answer.status_code in RETRY_STATUSES:
                    error = f"HTTP {answer.status_code}"
                    continue
                if answer.status_code != 200:
                    raise SourceError(f"{url} answered {answer.status_code}")
                expected = answer.headers.get("Content-Length")
                written = 0
                with open(dest, "wb") as out:
                    for chunk in answer.iter_content(CHUNK):
                        out.write(chunk)
                        written += len(chunk)
                # A transfer cut short would be parsed as a truncated file and fail later, less clearly.
                if expected is not None and answer.headers.get("Content-Encoding") is None \
                        and written != int(expected):
                    error = f"short read: {written} of {expected} bytes"
                    continue
                return dest
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            error = str(exc)
    raise SourceError(f"{url}: download failed after {retries} retries ({error})")


@contextmanager
def local_copy(source: str, suffix: str = ".json") -> Iterator[Path]:
    """A readable path for `source`: the path itself, or a temporary download removed afterwards."""
    if not is_url(source):
        path = Path(source)
        if not path.is_file():
            raise SourceError(f"source file {source} does not exist")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="lba-source-") as tmp:
        dest = Path(tmp) / f"download{suffix}"
        started = time.perf_counter()
        download(source, dest)
        log.info("downloaded %s (%d bytes) in %.1f s", source, dest.stat().st_size, time.perf_counter() - started)
        yield dest
