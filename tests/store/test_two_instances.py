"""Two app servers on one PostgreSQL and one Redis (issue 11 item 11): what one writes or spends, the other sees."""
from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from scripts.bench_applications import PDF, build_index, free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]


#: Anonymous calls allowed per caller in one long window, across both instances together.
RATE, WINDOW_S = 20, 600


def _server(url: str, redis: str, index: Path, port: int, log) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "SEARCH_ENGINE": "embedded",
           "LBA_INDEX_DIR": str(index), "LBA_EMBEDDING_MODEL": "none", "LBA_EMBEDDING_BACKEND": "none",
           "WEB_CONCURRENCY": "1", "LBA_ANONYMOUS_RATE": str(RATE), "LBA_RATELIMIT_WINDOW": str(WINDOW_S),
           # Each instance its own file: only Redis can make them agree.
           "LBA_RATELIMIT_PATH": str(index.parent / f"rl{port}.sqlite"), "LBA_RATELIMIT_STORAGE": redis}
    return subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"),
                             "--bind", f"127.0.0.1:{port}", "app.factory:create_app()"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=log)


def test_two_app_servers_on_one_postgresql_and_one_redis_share_writes_and_limits(postgres, redis_url,
                                                                                 tmp_path) -> None:
    from app.store import upgraded_store

    url = postgres.create_database()
    upgraded_store(url)
    ports, servers = [free_port(), free_port()], []
    logs = [(tmp_path / f"server{number}.log").open("w") for number in range(2)]
    for number, port in enumerate(ports):  # each instance has its own index folder; only the store is shared
        build_index(tmp_path / f"index{number}", 5)
        servers.append(_server(url, redis_url, tmp_path / f"index{number}", port, logs[number]))
    try:
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/healthz", 240)
        a, b = (f"http://127.0.0.1:{port}/api/v1/applications" for port in ports)
        body = {"first_name": "Inès", "last_name": "Martin", "email": "ines.martin@example.org",
                "phone": "0612345678", "company_siret": "40000000000001",
                "cv": {"name": "cv.pdf", "content": base64.b64encode(PDF).decode()}}
        first = requests.post(a, json=body, headers={"Idempotency-Key": "shared-1"}, timeout=60)
        assert first.status_code == 202, first.text
        # B replays A's answer for the same key: it reads the row A committed.
        replay = requests.post(b, json=body, headers={"Idempotency-Key": "shared-1"}, timeout=60)
        assert replay.status_code == 202 and replay.json() == first.json()
        # The per-target cap counts applications written through either instance.
        assert requests.post(b, json=body, timeout=60).status_code == 202
        assert requests.post(a, json=body, timeout=60).status_code == 202
        capped = requests.post(b, json=body, timeout=60)
        assert capped.status_code == 429 and capped.json()["error"]["details"]["rule"] == "applicant_per_target"
        other = requests.post(a, json={**body, "message": "autre"}, headers={"Idempotency-Key": "shared-1"},
                              timeout=60)
        assert other.status_code == 409
        # One caller's budget is spent through both instances together (Redis): 6 calls above, then a burst.
        searches = [requests.get(f"http://127.0.0.1:{ports[n % 2]}/api/v1/match?romes=D1102&insee=75056",
                                 timeout=60) for n in range(30)]
        served = [n for n, answer in enumerate(searches) if answer.status_code != 429]
        assert len(served) == RATE - 6, [answer.status_code for answer in searches]
        assert {n % 2 for n in range(30) if n not in served} == {0, 1}  # both instances refuse once it is spent
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(30)
        for log in logs:
            log.close()
    logs_text = "".join((tmp_path / f"server{n}.log").read_text() for n in range(2))
    assert "Traceback" not in logs_text, logs_text[-3000:]


def test_a_partner_offer_posted_on_one_instance_is_read_and_found_on_the_other(postgres, redis_url, tmp_path) -> None:
    """Both instances on one PostgreSQL and, as gunicorn workers of one machine do, one embedded index folder."""
    from app.services.partners import create_key
    from app.store import get_store, upgraded_store
    from tests.api.test_v3_jobs import body

    url = postgres.create_database()
    upgraded_store(url)
    _, key = create_key(get_store(url), "Jobboard")
    headers = {"Authorization": f"Bearer {key}"}
    build_index(tmp_path / "index", 1)
    ports, servers = [free_port(), free_port()], []
    logs = [(tmp_path / f"server{number}.log").open("w") for number in range(2)]
    for number, port in enumerate(ports):
        servers.append(_server(url, redis_url, tmp_path / "index", port, logs[number]))
    try:
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/healthz", 240)
        a, b = (f"http://127.0.0.1:{port}" for port in ports)
        created = requests.post(f"{a}/api/v3/jobs", json=body("shared-1"), headers=headers, timeout=60)
        assert created.status_code == 200, created.text
        job_id = created.json()["id"]
        read = requests.get(f"{b}/api/v3/jobs/{job_id}", headers=headers, timeout=60)
        assert read.status_code == 200 and read.json()["identifier"]["partner_job_id"] == "shared-1"
        # Found through B's search: the index A wrote to at once. With the key: the anonymous budget of
        # this address lives in the shared Redis, which the test above spends on purpose.
        found = requests.get(f"{b}/api/v1/match?romes=D1102&latitude=45.764&longitude=4.8357&radius=30"
                             "&kinds=offers&page_size=100", headers=headers, timeout=60).json()
        assert job_id in {item["id"] for item in found["items"]}
        # The same partner_job_id through B updates A's offer: still one offer.
        again = requests.post(f"{b}/api/v3/jobs", json=body("shared-1", title="Boulanger tourier"), headers=headers,
                              timeout=60)
        assert again.json()["id"] == job_id
        assert requests.get(f"{a}/api/v3/jobs/{job_id}", headers=headers,
                            timeout=60).json()["offer"]["title"] == "Boulanger tourier"
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(30)
        for log in logs:
            log.close()
    logs_text = "".join((tmp_path / f"server{n}.log").read_text() for n in range(2))
    assert "Traceback" not in logs_text, logs_text[-3000:]
