"""Where a file-based source comes from: a local path, or an HTTP(S) URL downloaded to a temporary file first."""
from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError

from app.http_client import RETRY_STATUSES, Policy, jittered_backoff, policy

log = logging.getLogger(__name__)

TIMEOUT_S = (10.0, 120.0)  # (connect, read between two chunks): exports are large but must keep flowing
RETRIES = 3
#: Waits of about 1-2, 2-4, 4-8 s between attempts (jittered), never more than 30 s.
BACKOFF_S = 2.0
MAX_BACKOFF_S = 30.0
CHUNK = 1 << 20


#: File names of the generated demo sources (the scripts/demo_data package) inside LBA_DEMO_DIR/DEMO_SCALE, by
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


class _ShortRead(Exception):
    """The body ended before its Content-Length."""


def download(url: str, dest: Path, session: requests.Session | None = None,
             sleep: Callable[[float], None] = time.sleep, retries: int = RETRIES) -> Path:
    """Stream `url` into `dest`, retrying 429/5xx and network errors; a short read is an error, never a file.

    One policy (app/http_client.py) counts every retry: urllib3 retries the statuses and the lost
    connections before the body; a body cut short while streaming (which urllib3 has already
    handed over) is counted by the same policy, from the state the answer carries, and asked again.
    A given `session` is used with the policy mounted on it.
    """
    retry = policy(retries, BACKOFF_S, statuses=RETRY_STATUSES,
                   wait=jittered_backoff(BACKOFF_S, MAX_BACKOFF_S, retry_after=False), pause=sleep)
    http = session or requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    while True:
        try:
            answer = http.get(url, stream=True, timeout=TIMEOUT_S)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise SourceError(f"{url}: download failed after {retries} retries ({exc})") from exc
        with answer:
            if answer.status_code in RETRY_STATUSES:
                raise SourceError(f"{url}: download failed after {retries} retries (HTTP {answer.status_code})")
            if answer.status_code != 200:
                raise SourceError(f"{url} answered {answer.status_code}")
            try:
                _write(answer, dest)
                return dest
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    _ShortRead) as exc:
                state = answer.raw.retries if isinstance(answer.raw.retries, Policy) else retry
                try:
                    retry = state.increment(method="GET", url=url, error=exc)
                except MaxRetryError:
                    raise SourceError(f"{url}: download failed after {retries} retries ({exc})") from exc
        retry.sleep()
        adapter.max_retries = retry  # what is left of the budget, for the next request


def _write(answer: requests.Response, dest: Path) -> None:
    expected = answer.headers.get("Content-Length")
    written = 0
    with open(dest, "wb") as out:
        for chunk in answer.iter_content(CHUNK):
            out.write(chunk)
            written += len(chunk)
    # A transfer cut short would be parsed as a truncated file and fail later, less clearly.
    if expected is not None and answer.headers.get("Content-Encoding") is None and written != int(expected):
        raise _ShortRead(f"short read: {written} of {expected} bytes")


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
