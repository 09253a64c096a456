"""The one retry policy (app/http_client.py): Retry-After reading, and a download retried through it."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.http_client import retry_after_seconds as _retry_after
from indexers.sources import SourceError, download

NOW = datetime(2026, 9, 1, tzinfo=timezone.utc)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert _retry_after("3", NOW) == 3.0
    assert _retry_after("Tue, 01 Sep 2026 00:00:05 GMT", NOW) == 5.0
    assert _retry_after("", NOW) is None and _retry_after("soon", NOW) is None


@contextmanager
def _flaky(answers: list[tuple[int, bytes, int]]) -> Iterator[tuple[str, list[str]]]:
    """Serves `answers` in order (status, body, announced length), then the last one for ever."""
    served: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body, length = answers[min(len(served), len(answers) - 1)]
            served.append(self.path)
            self.send_response(status)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/file.json", served
    finally:
        server.shutdown()
        server.server_close()


def test_a_download_is_retried_on_5xx_and_on_a_short_body(tmp_path: Path) -> None:
    sleeps: list[float] = []
    body = b'{"ok": true}'
    with _flaky([(503, b"", 0), (200, body[:4], len(body)), (200, body, len(body))]) as (url, served):
        assert download(url, tmp_path / "f.json", sleep=sleeps.append).read_bytes() == body
    assert len(served) == 3 and len(sleeps) == 2
    assert 1.0 <= sleeps[0] <= 2.0 and 2.0 <= sleeps[1] <= 4.0  # one budget: the 2nd retry backs off further


def test_a_download_gives_up_after_its_retries(tmp_path: Path) -> None:
    sleeps: list[float] = []
    with _flaky([(502, b"", 0)]) as (url, served):
        with pytest.raises(SourceError, match="download failed after 3 retries"):
            download(url, tmp_path / "f.json", sleep=sleeps.append)
    assert len(served) == 4 and len(sleeps) == 3
