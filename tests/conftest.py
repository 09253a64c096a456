"""Shared fixtures: reference data from LBA_DATA_DIR and engines in temporary directories."""
from __future__ import annotations

import pytest

from app.config import Settings
from app.referentials import Referentials, get_referentials

# The store's real databases (one PostgreSQL cluster per session, SQLite files): `store_url` runs a test on both.
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    """The environment's settings on a migrated store of the session's own (never the developer's var/)."""
    from dataclasses import replace

    from app.store import upgraded_store

    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'lba.sqlite'}"
    upgraded_store(url)
    return replace(Settings.from_env(), database_url=url)


@pytest.fixture(scope="session")
def refs(settings: Settings) -> Referentials:
    return get_referentials(settings.data_dir)


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest's hook signature
    """Say which real components the caller opted out of: a skipped component is never silent."""
    from tests.real_components import summary_lines

    lines = summary_lines()
    if lines:
        terminalreporter.section("real components opted out (LBA_SKIP_*)", yellow=True)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def redis_url():
    """A real Redis server shared by the session's tests (tests/redis_server.py); FAILS if it cannot start."""
    from tests.redis_server import redis_server

    with redis_server() as server:
        yield server.url


@pytest.fixture(scope="session")
def served_index(tmp_path_factory, refs):
    """A small published embedded index on disk, for tests that serve the app with real gunicorn processes."""
    from datetime import date

    from app.search.contract import KINDS
    from app.search.embedded import EmbeddedEngine
    from tests.factories import make_documents

    folder = tmp_path_factory.mktemp("served-index")
    engine = EmbeddedEngine(folder)
    documents = make_documents(refs, 300, seed=3, codes=["D1102", "M1805"], today=date.today())
    for kind in KINDS:
        with engine.new_generation(kind) as builder:
            builder.add(d for d in documents if d["kind"] == kind)
    return folder
