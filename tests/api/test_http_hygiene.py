"""Security headers, CORS for the partner API, request ids everywhere, JSON logs, bounded bodies, a quiet /healthz."""
from __future__ import annotations

import json
import logging
import re
from dataclasses import replace

import pytest
from flask import Response

from app.factory import create_app
from app.http_hygiene import JsonFormatter, RequestIdFilter


@pytest.fixture(scope="module")
def app(api_settings, engine):
    settings = replace(api_settings, cors_origins=("https://partenaire.example",),
                       frame_ancestors="https://site-cfa.example", trusted_proxies=1)
    app = create_app(settings, engine=engine)
    app.config.update(TESTING=True)

    @app.get("/widget/test")
    def _widget():
        return Response("<p>widget</p>", mimetype="text/html")

    @app.get("/page/test")
    def _page():
        return Response("<p>page</p>", mimetype="text/html")

    @app.post("/api/v2/application/test")
    def _application():
        from flask import request
        return {"size": len(request.get_data())}

    @app.post("/api/v1/small/test")
    def _small():
        from flask import request
        return {"size": len(request.get_data())}

    # Probes of the API's body limits stand for the exempt JSON API blueprints (app/web/csrf.py).
    from app.web.csrf import csrf
    csrf.exempt(_application)
    csrf.exempt(_small)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def test_every_answer_has_nosniff_a_referrer_policy_and_a_request_id(client):
    for path in ("/healthz", "/api/v1/match?romes=D1102", "/api/v1/match?romes=bad", "/nowhere"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])


def test_a_well_formed_request_id_is_kept_and_a_hostile_one_replaced(client):
    kept = client.get("/api/v1/match?romes=D1102", headers={"X-Request-Id": "edge-0123456789abcdef"})
    assert kept.headers["X-Request-Id"] == "edge-0123456789abcdef"
    for hostile in ("a;Set-Cookie: x=1", "short", "x" * 300, '"}{"level":"ERROR'):
        replaced = client.get("/api/v1/match?romes=D1102", headers={"X-Request-Id": hostile})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-Id"])


def test_error_bodies_carry_the_request_id_in_the_one_shape(client):
    response = client.get("/api/v1/match?romes=bad", headers={"X-Request-Id": "trace-abcdef123456"})
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["request_id"] == "trace-abcdef123456"
    missing = client.get("/api/v1/nowhere").get_json()["error"]
    assert missing["code"] == "not_found" and re.fullmatch(r"[0-9a-f]{32}", missing["request_id"])


def test_hsts_only_over_https_and_through_the_trusted_proxy(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_have_a_csp_and_only_the_widget_may_be_framed_by_the_configured_sites(client):
    page = client.get("/page/test").headers
    assert "default-src 'self'" in page["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in page["Content-Security-Policy"] and page["X-Frame-Options"] == "SAMEORIGIN"
    # The real widget page (app/web/widget.py): the one page other sites may frame.
    answer = client.get("/widget?romes=D1102&latitude=48.8566&longitude=2.3522&radius=30&caller=test")
    assert answer.status_code == 200
    widget = answer.headers
    assert "frame-ancestors https://site-cfa.example" in widget["Content-Security-Policy"]
    assert "X-Frame-Options" not in widget
    assert "Content-Security-Policy" not in client.get("/api/v1/match?romes=D1102").headers  # JSON: no CSP needed


def test_cors_answers_configured_origins_only(client):
    allowed = client.get("/api/v1/match?romes=D1102", headers={"Origin": "https://partenaire.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://partenaire.example"
    assert "X-Request-Id" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Origin" in allowed.headers["Vary"]
    other = client.get("/api/v1/match?romes=D1102", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options("/api/v1/match", headers={"Origin": "https://partenaire.example",
                                                         "Access-Control-Request-Method": "GET",
                                                         "Access-Control-Request-Headers": "Authorization"})
    assert preflight.status_code == 204
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    health = client.get("/healthz", headers={"Origin": "https://partenaire.example"})
    assert "Access-Control-Allow-Origin" not in health.headers  # CORS is for the partner API only


def test_bodies_are_bounded_small_except_applications(client):
    cv = b"a" * (4_300_000)  # a 3 MB CV as base64, with room for the form
    assert client.post("/api/v2/application/test", data=cv).get_json() == {"size": len(cv)}
    too_big = client.post("/api/v2/application/test", data=b"a" * (6 * 1024 * 1024))
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "payload_too_large"
    small = client.post("/api/v1/small/test", data=b"a" * 300_000)
    assert small.status_code == 413 and small.get_json()["error"]["request_id"]
    assert client.post("/api/v1/small/test", data=b"a" * 1000).get_json() == {"size": 1000}


def test_healthz_shows_no_class_names_or_process_ids(client):
    body = client.get("/healthz").get_json()
    text = json.dumps(body)
    assert "Engine" not in text and body["engine"] == "embedded"
    for stats in body["indexes"].values():
        assert stats["generation"] and "-" not in stats["generation"]  # the stamp without "-<pid>"


def test_log_lines_are_json_with_the_request_id(app, caplog):
    formatter, stamp = JsonFormatter(), RequestIdFilter()
    with app.test_request_context("/api/v1/match", headers={"X-Request-Id": "log-req-123456"}):
        record = logging.LogRecord("lba.test", logging.WARNING, __file__, 1, "bonjour %s", ("monde",), None)
        stamp.filter(record)
        line = json.loads(formatter.format(record))
        merged = logging.LogRecord("lba.api_calls", logging.INFO, __file__, 1, json.dumps({"status": 200}), None, None)
        stamp.filter(merged)
        call = json.loads(formatter.format(merged))
    assert line["message"] == "bonjour monde" and line["level"] == "WARNING" and line["request_id"] == "log-req-123456"
    assert call["status"] == 200 and call["request_id"] == "log-req-123456" and call["logger"] == "lba.api_calls"
    outside = logging.LogRecord("lba.test", logging.INFO, __file__, 1, "hors requête", None, None)
    stamp.filter(outside)
    assert "request_id" not in json.loads(formatter.format(outside))
