"""gunicorn.conf.py with real processes: limits held across 4 workers, slow clients, the JSON access log."""
from __future__ import annotations

import json
import os
import statistics
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scripts.probe_slow_clients import QUERY, measure, p95, serve, slow_sockets


def _get(url: str, client_ip: str) -> tuple[int, float]:
    request = urllib.request.Request(url + QUERY, headers={"X-Forwarded-For": client_ip})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def _open_files(pid: int) -> set[str]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            out.add(os.readlink(fd))
        except OSError:
            pass
    return out


@pytest.mark.parametrize("storage", ["sqlite", "redis"])
def test_a_burst_is_held_to_its_limit_across_four_workers_and_other_callers_are_served(
        storage, served_index, request):
    limit = 20
    env = {"LBA_ANONYMOUS_RATE": str(limit), "LBA_RATELIMIT_WINDOW": "300", "LBA_TRUSTED_PROXIES": "1"}
    if storage == "redis":
        env["LBA_RATELIMIT_STORAGE"] = request.getfixturevalue("redis_url")
    burster = f"203.0.113.{10 + len(storage)}"  # a fresh bucket per run, even on the session's Redis
    with serve(served_index, env) as served:
        baseline = [_get(served.url, f"198.51.100.{i}")[1] for i in range(1, 6)]
        with ThreadPoolExecutor(16) as pool:
            burst = [pool.submit(_get, served.url, burster) for _ in range(120)]
            time.sleep(0.2)
            others = [_get(served.url, f"198.51.100.{i}") for i in range(10, 30)]
            statuses = [f.result()[0] for f in burst]
        workers = served.worker_pids()
        master_files = _open_files(served.process.pid)
        worker_files = [_open_files(pid) for pid in workers]
    assert statuses.count(200) == limit and statuses.count(429) == 120 - limit  # one bucket for 4 workers
    assert [s for s, _ in others] == [200] * 20  # other callers have their own buckets
    during = statistics.median(t for _, t in others)
    assert during <= 3 * statistics.median(baseline) + 0.5, (during, baseline)
    assert len(workers) == 4
    if storage == "sqlite":
        touched = [files for files in worker_files if any(f.endswith("rl.sqlite") for f in files)]
        # Workers open their own connections after the fork; the master holds none to hand down.
        assert not any(f.endswith("rl.sqlite") for f in master_files), master_files
        assert len(touched) >= 2


def test_slow_clients_do_not_hold_the_workers(served_index):
    with serve(served_index) as served:
        measure(served.url, 3)
        alone = measure(served.url, 20, timeout_s=3.0)
        with slow_sockets(served.url, 8):
            time.sleep(1.5)
            during = measure(served.url, 20, timeout_s=3.0)
    assert p95(during) <= max(3 * p95(alone), p95(alone) + 0.5), (p95(alone), p95(during))


def test_the_access_log_is_one_json_object_per_request_with_the_request_id(served_index):
    with serve(served_index, workers=1) as served:
        request = urllib.request.Request(served.url + QUERY + "&x=%22quoted%22",
                                         headers={"X-Request-Id": "probe-1234567890"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.headers["X-Request-Id"] == "probe-1234567890"
        time.sleep(0.5)
        lines = served.log.read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    access = [e for e in entries if e.get("logger") == "gunicorn.access" and e.get("request_id") == "probe-1234567890"]
    assert len(access) == 1 and access[0]["status"] == 200 and access[0]["path"] == "/api/v1/match"
    assert access[0]["query"].endswith("x=%22quoted%22") and access[0]["duration_ms"] >= 0
    calls = [e for e in entries if e.get("logger") == "lba.api_calls"]
    assert calls and calls[-1]["request_id"] == "probe-1234567890"  # the app's own lines carry it too
