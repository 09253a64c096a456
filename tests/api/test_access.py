"""API keys, per-caller rate limits with Retry-After, and one log line per call."""
from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
from click.testing import CliRunner

from app.factory import create_app
from app.store import upgraded_store
from app.services.partners import create_key, list_keys, revoke_key
from app.services.ratelimit import RateLimiter
from scripts.cli import main as cli


@pytest.fixture
def limited(api_settings, engine, tmp_path):
    settings = replace(api_settings, ratelimit_path=str(tmp_path / "rl.sqlite"), anonymous_rate=3,
                       database_url=f"sqlite:///{tmp_path / 'store.sqlite'}")
    upgraded_store(settings.database_url)
    app = create_app(settings, engine=engine)
    return app, app.extensions["lba.store"]


def test_anonymous_callers_are_limited_per_ip_with_retry_after(limited, monkeypatch):
    app, _ = limited
    monkeypatch.setattr("app.services.ratelimit.time.time", lambda: 1_000_000.25)  # one frozen window
    client = app.test_client()
    statuses = [client.get("/api/v1/match?romes=D1102").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    response = client.get("/api/v1/match?romes=D1102")
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
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


def test_rate_limiter_windows(tmp_path):
    limiter = RateLimiter(tmp_path / "rl.sqlite")
    assert [limiter.hit("a", 2, now=100.2) for _ in range(2)] == [None, None]
    wait = limiter.hit("a", 2, now=100.5)
    assert wait == pytest.approx(0.5)
    assert limiter.hit("a", 2, now=101.0) is None and limiter.hit("b", 2, now=100.5) is None
    assert RateLimiter.retry_after_header(0.01) == "1"


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
