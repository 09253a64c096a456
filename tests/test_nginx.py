"""deploy/nginx.conf with Debian's nginx in front of real gunicorn: slow clients, request ids, JSON refusals."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from scripts.probe_slow_clients import free_port, measure, p95, serve, slow_sockets
from tests.real_components import require, skip_if_opted_out

CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"


@contextmanager
def nginx_in_front(upstream_url: str, folder: Path) -> Iterator[str]:
    """deploy/nginx.conf with the upstream, port and log files of this test; yields nginx's URL."""
    skip_if_opted_out("nginx")
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        require("nginx", "nginx is not installed (Debian package nginx; `make test` installs it)")
    port = free_port()
    text = CONFIG.read_text()
    for old, new in (("server app:8000;", f"server {upstream_url.split('//')[1]};"),
                     ("listen 8080;", f"listen 127.0.0.1:{port};"),
                     ("pid /tmp/nginx.pid;", f"pid {folder / 'nginx.pid'};"),
                     ("error_log /dev/stderr warn;", f"error_log {folder / 'error.log'} warn;"),
                     ("access_log /dev/stdout json;", f"access_log {folder / 'access.log'} json;")):
        assert old in text, old
        text = text.replace(old, new)
    config = folder / "nginx.conf"
    config.write_text(text)
    checked = subprocess.run([binary, "-t", "-c", str(config), "-p", str(folder)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    with (folder / "stderr.log").open("wb") as err:
        process = subprocess.Popen([binary, "-c", str(config), "-p", str(folder), "-g", "daemon off;"],
                                   stdout=subprocess.DEVNULL, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=5):
                    break
            except urllib.error.HTTPError:
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    require("nginx", f"nginx did not start: {(folder / 'stderr.log').read_text(errors='replace')}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def stack(served_index, tmp_path_factory):
    folder = tmp_path_factory.mktemp("nginx")
    with serve(served_index, {"LBA_TRUSTED_PROXIES": "1"}, workers=2) as served:
        with nginx_in_front(served.url, folder) as url:
            yield url, folder, served


def test_many_slow_clients_at_nginx_leave_query_latency_unchanged(stack):
    url, _, _ = stack
    measure(url, 3)
    alone = measure(url, 20, timeout_s=3.0)
    with slow_sockets(url, 64):  # far more than the two workers' 16 threads
        time.sleep(1.5)
        during = measure(url, 20, timeout_s=3.0)
    assert p95(during) <= max(3 * p95(alone), p95(alone) + 0.5), (p95(alone), p95(during))


def test_the_request_id_of_nginx_is_the_one_the_app_answers_and_logs(stack):
    url, folder, _ = stack
    try:
        urllib.request.urlopen(url + "/api/v1/match?romes=bad", timeout=30)
        raise AssertionError("a 400 was expected")
    except urllib.error.HTTPError as error:
        body = json.loads(error.read())
        rid = error.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)  # nginx's $request_id, accepted by the app
    assert body["error"]["request_id"] == rid and body["error"]["code"] == "invalid_parameters"
    time.sleep(0.3)
    lines = [json.loads(line) for line in (folder / "access.log").read_text().splitlines()]
    assert any(line["request_id"] == rid and line["status"] == 400 for line in lines)


def test_nginx_refuses_an_oversized_body_in_the_json_error_shape(stack):
    url, _, _ = stack
    request = urllib.request.Request(url + "/api/v2/application", data=b"x" * (7 * 1024 * 1024), method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 413
    body = json.loads(caught.value.read())
    assert body["error"]["code"] == "payload_too_large" and re.fullmatch(r"[0-9a-f]{32}", body["error"]["request_id"])
