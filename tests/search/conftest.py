"""Engine fixtures: every contract test runs once per engine implementation, the real OpenSearch node included."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.search.contract import SearchEngine
from app.search.embedded import EmbeddedEngine
from tests.search.opensearch import drop_prefix, new_engine, session_node

ENGINES = ["embedded", "opensearch"]


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    """URL of the session's OpenSearch node (started from Maven Central artifacts when none answers)."""
    yield from session_node()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[SearchEngine]:
    if request.param == "embedded":
        built = EmbeddedEngine(tmp_path / "index")
        yield built
        built.close()
        return
    url = request.getfixturevalue("opensearch_url")
    elastic = new_engine(url)
    yield elastic
    elastic.close()
    drop_prefix(url, elastic.prefix)
