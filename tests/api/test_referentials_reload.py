"""A referentials refresh reaches a running app without a restart: new version loaded, swapped whole."""
from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from app.factory import create_app
from app.referentials import load_referentials

NEW_CODE = "A1199"
NEW_ROW = "A1199,Testeur / Testeuse de matériel agricole,A1101,0,,A,A11,999991,99991,,,,,\n"


def _copy_data(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("samples"))
    return target


def _publish(root: Path, version: Path) -> None:
    """Swap `root/current` to `version` atomically, as indexers/referentials.py does."""
    link = root / "current.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(version.name)
    os.replace(link, root / "current")


@pytest.fixture()
def data_root(settings, tmp_path) -> Path:
    first = _copy_data(Path(settings.data_dir), tmp_path / "v1")
    _publish(tmp_path, first)
    return tmp_path


def _new_version(root: Path) -> Path:
    second = _copy_data(root / "v1", root / "v2")
    with open(second / "rome" / "rome_codes.csv", "a", encoding="utf-8") as out:
        out.write(NEW_ROW)
    return second


def test_a_running_app_picks_up_a_new_referentials_version(api_settings, engine, data_root, monkeypatch):
    monkeypatch.setattr("app.referentials.live.CHECK_SECONDS", 0.0)
    # Lexical only: a new ROME version re-embeds the fiche documents (minutes of CPU), not what is tested here.
    app = create_app(replace(api_settings, data_dir=str(data_root / "current"), embedding_backend="none"),
                     engine=engine)
    client = app.test_client()
    unknown = client.get(f"/api/v1/match?romes={NEW_CODE}")
    assert unknown.status_code == 400 and NEW_CODE in str(unknown.get_json()["error"]["details"])
    before = app.extensions["lba.refs"]
    _publish(data_root, _new_version(data_root))
    client.get("/healthz")  # any request looks at the version (here: every time) and starts the reload
    app.extensions["lba.referentials"].wait(60)
    assert app.extensions["lba.refs"] is not before and NEW_CODE in app.extensions["lba.refs"].rome
    assert app.extensions["lba.match"].refs is app.extensions["lba.refs"]
    assert client.get(f"/api/v1/match?romes={NEW_CODE}").status_code == 200
    assert client.get("/api/v1/communes?q=lyon").status_code == 200


def test_the_metier_index_follows_a_new_referentials_version(api_settings, engine, data_root, monkeypatch):
    monkeypatch.setattr("app.referentials.live.CHECK_SECONDS", 0.0)
    # Lexical only: the point is which ROME version the index was built from, not the embeddings.
    app = create_app(replace(api_settings, data_dir=str(data_root / "current"), embedding_backend="none"),
                     engine=engine)
    client = app.test_client()

    def codes() -> set[str]:
        answer = client.get("/api/v1/metiers/resolve?q=testeur de materiel agricole").get_json()
        return {line["code"] for line in answer["romes"]}

    assert NEW_CODE not in codes()
    _publish(data_root, _new_version(data_root))
    client.get("/healthz")
    app.extensions["lba.referentials"].wait(60)
    assert NEW_CODE in codes()  # no restart: the résolveur now knows the new job
    assert app.extensions["lba.match"].resolver == app.extensions["lba.resolver"]


def test_a_broken_version_is_not_swapped_in(data_root, caplog):
    from app.referentials.live import LiveReferentials
    live = LiveReferentials(data_root / "current", load_referentials, check_seconds=0.0)
    kept = live.current
    broken = _copy_data(data_root / "v1", data_root / "v3")
    (broken / "rome" / "rome_codes.csv").write_text("code_rome\nnot a code\n", encoding="utf-8")
    _publish(data_root, broken)
    assert live.check() is True
    live.wait(60)
    assert live.current is kept and "reload failed" in caplog.text
    assert live.check() is False  # the same broken version is not retried on every request


def test_subscribers_see_the_new_version_before_it_is_served(data_root):
    from app.referentials.live import LiveReferentials
    calls = []
    live = LiveReferentials(data_root / "current", load_referentials, check_seconds=0.0)
    live.subscribe(lambda refs: calls.append((NEW_CODE in refs.rome, live.current is refs)))
    assert live.check() is False  # nothing changed
    _publish(data_root, _new_version(data_root))
    assert live.check() is True
    live.wait(60)
    assert calls == [(True, False)] and NEW_CODE in live.current.rome


def test_version_is_cheap_and_changes_with_a_file_replaced_in_place(data_root):
    from app.referentials.live import data_version
    before = data_version(data_root / "current")
    assert before == data_version(data_root / "current")
    target = data_root / "v1" / "opco" / "opcos.csv"
    target.write_text(target.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert data_version(data_root / "current") != before


def test_checks_are_spaced(data_root):
    from app.referentials.live import LiveReferentials
    now = [0.0]
    live = LiveReferentials(data_root / "current", load_referentials, check_seconds=5.0, clock=lambda: now[0])
    _publish(data_root, _new_version(data_root))
    now[0] = 1.0
    assert live.check() is False  # too soon: no stat at all
    now[0] = 6.0
    assert live.check() is True
    live.wait(60)
    assert NEW_CODE in live.current.rome
