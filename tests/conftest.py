"""Shared fixtures: reference data from LBA_DATA_DIR and engines in temporary directories."""
from __future__ import annotations

import pytest

from app.config import Settings
from app.referentials import Referentials, get_referentials
# The store's real databases (one PostgreSQL cluster per session, SQLite files): `store_url` runs a test on both.
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def refs(settings: Settings) -> Referentials:
    return get_referentials(settings.data_dir)
