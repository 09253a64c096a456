"""An app on a temporary embedded index filled with realistic documents."""
from __future__ import annotations

from datetime import date

import pytest

from app.config import Settings
from app.factory import create_app
from app.search.contract import KINDS
from app.search.embedded import EmbeddedEngine
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
def app(settings: Settings, engine):
    app = create_app(settings, engine=engine)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()
