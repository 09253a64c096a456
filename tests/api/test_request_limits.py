"""Size limits answered by the app in the JSON error shape, before gunicorn's own plain-text errors."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.store import upgraded_store

ROOT = Path(__file__).resolve().parents[2]


def test_long_query_strings_get_a_json_414(client):
    response = client.get("/api/v1/match?romes=D1102&pad=" + "x" * 7000)
    assert response.status_code == 414 and response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "uri_too_long"
    assert client.get("/api/v1/match?romes=D1102&pad=" + "x" * 5000).status_code == 200


def test_big_or_many_headers_get_a_json_431(client):
    big = client.get("/api/v1/match?romes=D1102", headers={"X-Big": "x" * 9000})
    assert big.status_code == 431 and big.get_json()["error"]["code"] == "request_header_fields_too_large"
    many = client.get("/api/v1/match?romes=D1102", headers={f"X-H{i}": "1" for i in range(120)})
    assert many.status_code == 431 and many.mimetype == "application/json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory):
    """The real gunicorn with the project's gunicorn.conf.py, one worker, an empty index."""
    folder = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LBA_INDEX_DIR": str(folder / "index"),
           "DATABASE_URL": f"sqlite:///{folder / 'lba.sqlite'}", "LBA_RATELIMIT_PATH": str(folder / "rl.sqlite"),
           "LBA_EMBEDDING_MODEL": "none", "WEB_CONCURRENCY": "1", "PORT": str(port), "LBA_ANONYMOUS_RATE": "1000"}
    upgraded_store(env["DATABASE_URL"])
    gunicorn = Path(sys.executable).parent / "gunicorn"
    log_path = folder / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(gunicorn), "--config", str(ROOT / "gunicorn.conf.py"), "--bind",
                                 f"127.0.0.1:{port}", "--workers", "1", "app.factory:create_app()"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise AssertionError("gunicorn did not start")
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_behind_gunicorn_the_app_answers_size_errors_in_json(gunicorn_port):
    status, ctype, body = _get(gunicorn_port, "/api/v1/match?romes=D1102&pad=" + "x" * 7500)
    assert (status, ctype) == (414, "application/json"), body[:300]
    assert json.loads(body)["error"]["code"] == "uri_too_long"
    status, ctype, body = _get(gunicorn_port, "/api/v1/match?romes=D1102", {"X-Big": "x" * 10000})
    assert (status, ctype) == (431, "application/json"), body[:300]
    status, ctype, body = _get(gunicorn_port, "/api/v1/match?romes=D1102", {f"X-H{i}": "1" for i in range(150)})
    assert (status, ctype) == (431, "application/json"), body[:300]
    # Beyond gunicorn's own maximum request line (8190 bytes) gunicorn answers itself, as documented.
    status, _, _ = _get(gunicorn_port, "/api/v1/match?romes=D1102&pad=" + "x" * 9000)
    assert status in (400, 414)
