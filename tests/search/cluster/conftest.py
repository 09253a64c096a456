"""The 3-node cluster of the node-loss tests, and a summary line with its timings at the end of the run."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.opensearch_node import Cluster, NodeError
from tests import real_components

#: Filled by the fixture and the tests, printed by pytest_terminal_summary.
TIMINGS: dict[str, Any] = {}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Three nodes from the Maven artifacts of the test node; without Java or Maven the test fails.

    LBA_SKIP_OPENSEARCH=1 is the only way to skip it (the reason is printed in the summary);
    LBA_KEEP_CLUSTER_LOGS=1 keeps the members' folders (console.log) for a post-mortem.
    """
    real_components.skip_if_opted_out("opensearch")  # the one rule: listed in the summary when skipped
    root = Path(tempfile.mkdtemp(prefix="lba-cluster-"))
    built = Cluster(root, size=3, parent_pid=os.getpid())
    started = time.monotonic()
    try:
        built.start()
    except NodeError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"the 3-node OpenSearch cluster could not start (set LBA_SKIP_OPENSEARCH=1 to skip): {exc}",
                    pytrace=False)
    TIMINGS["start_to_green_s"] = round(time.monotonic() - started, 1)
    TIMINGS["heap_per_node"] = built.heap
    try:
        yield built
    finally:
        built.stop()
        if os.environ.get("LBA_KEEP_CLUSTER_LOGS") == "1":
            print(f"cluster folders kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.write_sep("-", "3-node OpenSearch cluster")
        terminalreporter.write_line(" ".join(f"{key}={value}" for key, value in TIMINGS.items()))
