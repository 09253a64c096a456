"""Ranking weights reload in a running server: a changed file changes ranking, with no restart, no failed request."""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from app.factory import create_app
from app.services.live_weights import LiveWeights, weights_version

QUERY = {"romes": "D1102,M1805", "latitude": 45.76, "longitude": 4.84, "radius": 60, "page_size": 20,
         "kinds": "offers,companies", "explain": 1}
# Distance nearly ignored, companies' hiring score decides: the order has to change.
CHANGED = "distance = 0.01\nhiring = 0.9\nprior = 0.0\nsaturation = 0.0\nfreshness = 0.0\nfirst_page_min_share = 0.0\n"


def _ranking(base: str) -> tuple[list[str], str]:
    body = requests.get(f"{base}/api/v1/match", params=QUERY, timeout=30)
    body.raise_for_status()
    items = body.json()["items"]
    return [f"{i['kind']}:{i['id']}" for i in items], items[0]["explain"]["weights_version"]


@pytest.fixture()
def served(api_settings, engine, tmp_path: Path):
    weights = tmp_path / "weights.toml"
    weights.write_text("distance = 0.30\n")
    app = create_app(replace(api_settings, ranking_weights=str(weights)), engine=engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", weights, app
    server.shutdown()
    thread.join(10)


def _until(predicate, seconds: float = 20.0):
    """Poll `predicate` until it returns a truthy value; the reload check runs at most every 2 s."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached")


def test_a_changed_weights_file_changes_ranking_without_restart_or_failed_request(served, caplog) -> None:
    base, path, _ = served
    before, version_before = _ranking(base)
    assert version_before == weights_version(path.read_bytes())
    failures: list[str] = []
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                response = requests.get(f"{base}/api/v1/match", params=QUERY, timeout=30)
                statuses.append(response.status_code)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
            except requests.RequestException as exc:  # a refused connection is a failed request too
                failures.append(repr(exc))

    workers = [threading.Thread(target=hammer) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.5)
        path.write_text(CHANGED)
        new_version = weights_version(CHANGED.encode())
        after = _until(lambda: (lambda r: r if r[1] == new_version else None)(_ranking(base)))[0]
        # A malformed file: refused, the previous (changed) weights keep serving.
        with caplog.at_level(logging.ERROR, logger="app.services.live_weights"):
            path.write_text(CHANGED + "hiring = = 2\n")
            _until(lambda: any("line 7" in r.getMessage() for r in caplog.records))
        still, version_still = _ranking(base)
        time.sleep(0.5)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    assert after != before, "the ranking did not change with the weights"
    assert still == after and version_still == new_version
    assert not failures, failures[:3]
    assert len(statuses) > 5


def test_the_match_log_line_names_the_weights_version(served, caplog) -> None:
    base, path, _ = served
    with caplog.at_level(logging.INFO, logger="lba.api_calls"):
        _ranking(base)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "lba.api_calls"]
    assert lines and lines[-1]["weights"] == weights_version(path.read_bytes())


def test_sighup_style_request_reloads_at_once_and_a_bad_file_keeps_the_old_weights(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text("distance = 0.3\n")
    now = [0.0]
    live = LiveWeights(path, check_seconds=5.0, clock=lambda: now[0])
    seen = []
    live.subscribe(seen.append)
    path.write_text("distance = 0.5\n")
    assert not live.check()  # too soon after the last look
    live.request_reload()
    assert live.check() and live.current.weights.distance == 0.5 and seen[-1].version == live.current.version
    path.write_text("distance = 0.5\nbogus = 1\n")
    now[0] += 10
    assert not live.check() and live.current.weights.distance == 0.5
    now[0] += 10
    assert not live.check()  # the refused stamp is not read again until the file changes


def test_a_weights_reload_and_a_referentials_reload_at_once_both_land(app) -> None:
    """The two reload hooks racing (each in its thread, released together) never lose each other's change."""
    from app.factory import _use_referentials, _use_weights
    from app.services.live_weights import parse_weights

    original_refs = app.extensions["lba.refs"]
    try:
        # Mid-way through a referentials reload (new tables set, métier index being built), a weights reload
        # rebuilds the service from every latest part: it already holds the new tables.
        halfway = replace(original_refs)
        app.extensions["lba.refs"] = halfway
        _use_weights(app, parse_weights("distance = 0.25\n"))
        assert app.extensions["lba.match"].refs is halfway
        for round_ in range(30):
            refs = replace(original_refs)  # same tables, a new object: the service must hold this one
            served = parse_weights(f"distance = {0.2 + round_ / 1000:.3f}\n")
            barrier = threading.Barrier(2)
            errors: list[BaseException] = []

            def run(hook, value):  # type: ignore[no-untyped-def]
                try:
                    barrier.wait(5)
                    hook(app, value)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(_use_referentials, refs)),
                       threading.Thread(target=run, args=(_use_weights, served))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert not errors
            service = app.extensions["lba.match"]
            assert service.refs is refs and service.weights == served.weights, round_
            assert service.weights_version == served.version
            assert service.resolver == app.extensions["lba.resolver"]
    finally:
        _use_referentials(app, original_refs)
        _use_weights(app, app.extensions["lba.weights"].current)
