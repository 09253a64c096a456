"""An app on a temporary embedded index filled with realistic documents."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from app.config import Settings
from app.factory import create_app
from app.search.contract import KINDS
from app.search.embedded import EmbeddedEngine
from app.store import upgraded_store
from tests.factories import make_documents

CODES = ["D1102", "D1108", "M1805", "K2204"]


@pytest.fixture(scope="module")
def documents(refs):
    return make_documents(refs, 900, seed=12, codes=CODES, today=date.today())


@pytest.fixture(scope="module")
def engine(tmp_path_factory, documents):
    engine = EmbeddedEngine(tmp_path_factory.mktemp("index"))
    for kind in KINDS:
        with engine.new_generation(kind) as builder:
            builder.add(d for d in documents if d["kind"] == kind)
    return engine


@pytest.fixture(scope="module")
def api_settings(settings: Settings, tmp_path_factory) -> Settings:
    """Settings with a private store and rate-limit file, and a rate no functional test reaches."""
    folder = tmp_path_factory.mktemp("store")
    built = replace(settings, database_url=f"sqlite:///{folder / 'lba.sqlite'}",
                    ratelimit_path=str(folder / "ratelimit.sqlite"), anonymous_rate=100000)
    upgraded_store(built.database_url)  # the app refuses a store that is behind the migrations
    return built


@pytest.fixture(scope="module")
def app(api_settings: Settings, engine):
    app = create_app(api_settings, engine=engine)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()
