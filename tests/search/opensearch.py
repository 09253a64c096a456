"""The real OpenSearch node of the test session: reused when one answers, else started and stopped here."""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from app.search.elastic import ConnectionConfig, ElasticEngine
from scripts import opensearch_node
from tests.real_components import require, skip_if_opted_out

#: A node a developer started with `make opensearch-start` (or any URL in LBA_OPENSEARCH_URL) is reused.
DEFAULT_URL = f"http://127.0.0.1:{opensearch_node.DEFAULT_HTTP_PORT}"


def session_node() -> Iterator[str]:
    """Yield the URL of a running node for the whole session; start one when none answers.

    Without Java or Maven, or when the node cannot start, the tests FAIL (tests/real_components.py),
    unless the caller opted out with LBA_SKIP_OPENSEARCH=1 (listed in the pytest summary).
    """
    skip_if_opted_out("opensearch")
    url = os.environ.get("LBA_OPENSEARCH_URL", "")
    if url or opensearch_node.answers(DEFAULT_URL):
        yield url or DEFAULT_URL
        return
    home = Path(tempfile.mkdtemp(prefix="lba-opensearch-"))
    try:
        node = opensearch_node.start(home, http_port=opensearch_node.free_port(), parent_pid=os.getpid())
    except opensearch_node.NodeError as exc:
        shutil.rmtree(home, ignore_errors=True)
        require("opensearch", f"the OpenSearch test node could not start: {exc}")
    try:
        yield node.url
    finally:
        node.stop()
        shutil.rmtree(home, ignore_errors=True)


def new_engine(url: str, flavor: str = "opensearch") -> ElasticEngine:
    """An engine on a prefix of its own, so tests never see each other's indices."""
    return ElasticEngine(ConnectionConfig(flavor, url), prefix=f"t{uuid.uuid4().hex[:12]}", backoff_s=0.02)


def drop_prefix(url: str, prefix: str) -> None:
    """Delete every index a test engine created."""
    cleaner = ElasticEngine(ConnectionConfig("opensearch", url), prefix=prefix)
    try:
        cleaner._call("DELETE", f"/{prefix}-*", params={"ignore_unavailable": "true", "allow_no_indices": "true"})
    finally:
        cleaner.close()
