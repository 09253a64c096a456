"""API keys, per-caller rate limits with Retry-After, and one log line per call."""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import replace

import pytest
import redis
from click.testing import CliRunner

from app.factory import create_app
from app.services.partners import create_key, list_keys, revoke_key
from app.store import upgraded_store
from scripts.cli import main as cli
from tests.redis_server import redis_server


def _limited_app(api_settings, engine, tmp_path, **changes):
    """An app allowing 3 anonymous calls per 60 s window (long enough that no test straddles two)."""
    settings = replace(api_settings, ratelimit_path=str(tmp_path / "rl.sqlite"), anonymous_rate=3,
                       database_url=f"sqlite:///{tmp_path / 'store.sqlite'}",
                       **({"ratelimit_window": 60} | changes))
    upgraded_store(settings.database_url)
    return create_app(settings, engine=engine)


@pytest.fixture
def limited(api_settings, engine, tmp_path):
    app = _limited_app(api_settings, engine, tmp_path)
    return app, app.extensions["lba.store"]


def test_anonymous_callers_are_limited_per_ip_with_retry_after(limited):
    app, _ = limited
    client = app.test_client()
    statuses = [client.get("/api/v1/match?romes=D1102").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    response = client.get("/api/v1/match?romes=D1102")
    assert response.status_code == 429 and 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.get_json()["error"]["code"] == "too_many_requests"
    other_ip = client.get("/api/v1/match?romes=D1102", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other_ip.status_code == 200
    assert client.get("/healthz").status_code == 200  # health checks are never metered


def test_a_key_has_its_own_limit_and_a_revoked_key_is_refused(limited, monkeypatch):
    app, store = limited
    client = app.test_client()
    key_id, key = create_key(store, "Parcoursup", rate_per_second=20)
    statuses = [client.get("/api/v1/match?romes=D1102", headers={"X-API-Key": key}).status_code
                for _ in range(10)]
    assert statuses == [200] * 10  # above the anonymous limit of 3
    assert revoke_key(store, key_id) and not revoke_key(store, key_id)
    monkeypatch.setattr("app.services.partners.CACHE_SECONDS", 0.0)
    refused = client.get("/api/v1/match?romes=D1102", headers={"X-API-Key": key})
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "invalid_api_key"
    wrong = client.get("/api/v1/match?romes=D1102", headers={"X-API-Key": "lba_nope"})
    assert wrong.status_code == 401


def test_keys_are_stored_hashed(limited):
    _, store = limited
    _, key = create_key(store, "ONISEP")
    with store.connect() as conn:
        dump = " ".join(str(v) for row in conn.exec_driver_sql("SELECT * FROM api_keys") for v in row)
    assert key not in dump and key[:12] in dump
    assert [k["name"] for k in list_keys(store)] == ["ONISEP"]


def test_every_call_is_logged_with_caller_endpoint_count_and_latency(client, caplog):
    with caplog.at_level(logging.INFO, logger="lba.api_calls"):
        client.get("/api/v1/match?romes=D1102&page_size=7")
        client.get("/api/v1/match?romes=bad")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "lba.api_calls"]
    assert lines[0]["endpoint"] == "/api/v1/match" and lines[0]["results"] == 7 and lines[0]["status"] == 200
    assert lines[0]["caller"].startswith("ip:") and lines[0]["latency_ms"] >= 0
    assert lines[1]["status"] == 400 and lines[1]["results"] is None


def test_invalid_keys_are_metered_per_ip_before_the_401(limited):
    app, _ = limited
    client = app.test_client()
    statuses = [client.get("/api/v1/match?romes=D1102", headers={"X-API-Key": f"lba_guess{i}"}).status_code
                for i in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]  # guessing keys spends the IP's anonymous budget
    assert client.get("/api/v1/match?romes=D1102").status_code == 429
    elsewhere = client.get("/api/v1/match?romes=D1102", headers={"X-API-Key": "lba_guess"},
                           environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert elsewhere.status_code == 401


def test_a_locked_limit_store_fails_open_with_a_log_line(limited, tmp_path, caplog):
    app, _ = limited
    client = app.test_client()
    assert client.get("/api/v1/match?romes=D1102").status_code == 200
    locker = sqlite3.connect(tmp_path / "rl.sqlite", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        with caplog.at_level(logging.ERROR):
            started = time.monotonic()
            response = client.get("/api/v1/match?romes=D1102")
            elapsed = time.monotonic() - started
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert response.status_code == 200, response.get_json()
    assert elapsed < 3.0
    assert any("rate-limit storage failed" in r.getMessage() for r in caplog.records)


def test_behind_trusted_proxies_each_client_has_its_own_bucket(api_settings, engine, tmp_path):
    app = _limited_app(api_settings, engine, tmp_path, trusted_proxies=1)
    client = app.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}  # every request arrives from the proxy
    first = [client.get("/api/v1/match?romes=D1102", headers={"X-Forwarded-For": "203.0.113.7"},
                        environ_base=proxy).status_code for _ in range(4)]
    other = client.get("/api/v1/match?romes=D1102", headers={"X-Forwarded-For": "198.51.100.9"},
                       environ_base=proxy)
    assert first == [200, 200, 200, 429] and other.status_code == 200
    # Only the last hop is believed: a client prepending addresses cannot pick a fresh bucket.
    spoofed = client.get("/api/v1/match?romes=D1102", headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.7"},
                         environ_base=proxy)
    assert spoofed.status_code == 429


def test_without_trusted_proxies_forwarded_headers_are_ignored(limited):
    app, _ = limited
    client = app.test_client()
    statuses = [client.get("/api/v1/match?romes=D1102", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                for i in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_limits_live_in_redis_and_fail_open_when_redis_dies(api_settings, engine, tmp_path, caplog):
    with redis_server() as server:
        app = _limited_app(api_settings, engine, tmp_path, ratelimit_storage=server.url)
        client = app.test_client()
        statuses = [client.get("/api/v1/match?romes=D1102").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        keys = redis.Redis.from_url(server.url).keys("*")
        assert keys and any(b"ip" in k for k in keys), keys  # the counters are in Redis, not in a local file
        assert not (tmp_path / "rl.sqlite").exists()
        server.kill()
        with caplog.at_level(logging.ERROR):
            started = time.monotonic()
            after = [client.get("/api/v1/match?romes=D1102").status_code for _ in range(3)]
            elapsed = time.monotonic() - started
    assert after == [200, 200, 200]  # fail open: a counter outage is not a service outage
    assert elapsed < 5.0
    assert sum("rate-limit storage failed" in r.getMessage() for r in caplog.records) == 1  # one line per outage


def test_cli_creates_lists_and_revokes_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    runner = CliRunner()
    refused = runner.invoke(cli, ["apikey", "list"])
    assert refused.exit_code != 0 and "lba db upgrade" in refused.output
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    created = runner.invoke(cli, ["apikey", "create", "1jeune1solution", "--rate", "30"])
    assert created.exit_code == 0 and "lba_" in created.output
    listed = runner.invoke(cli, ["apikey", "list"])
    assert "1jeune1solution" in listed.output and "30/s" in listed.output and "active" in listed.output
    assert runner.invoke(cli, ["apikey", "revoke", "1"]).exit_code == 0
    assert "revoked" in runner.invoke(cli, ["apikey", "list"]).output
    assert runner.invoke(cli, ["apikey", "revoke", "1"]).exit_code != 0
