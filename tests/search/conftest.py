"""Engine fixtures: every contract test runs once per engine implementation."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.search.embedded import EmbeddedEngine

ENGINES = ["embedded"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[EmbeddedEngine]:
    built = EmbeddedEngine(tmp_path / "index")
    yield built
    built.close()
