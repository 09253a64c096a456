"""Shared fixtures: reference data from LBA_DATA_DIR and engines in temporary directories."""
from __future__ import annotations

import pytest

from app.config import Settings
from app.referentials import Referentials, get_referentials


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def refs(settings: Settings) -> Referentials:
    return get_referentials(settings.data_dir)
