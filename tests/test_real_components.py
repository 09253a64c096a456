"""Real components never skip in silence: they fail unless the caller opted out by name, and the summary says so."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import opensearch_node
from tests import real_components
from tests.search import opensearch

ROOT = Path(__file__).resolve().parent.parent


def test_a_missing_component_fails_and_names_its_opt_out(monkeypatch):
    monkeypatch.delenv("LBA_SKIP_POSTGRES", raising=False)
    with pytest.raises(pytest.fail.Exception, match="LBA_SKIP_POSTGRES=1"):
        real_components.require("postgres", "pg_ctl not found")


def test_an_explicit_opt_out_skips_and_is_counted(monkeypatch):
    monkeypatch.setenv("LBA_SKIP_SMTP", "1")
    with pytest.raises(pytest.skip.Exception, match="LBA_SKIP_SMTP=1"):
        real_components.require("smtp", "no SMTP server")
    assert any(line.startswith("smtp: LBA_SKIP_SMTP=1") for line in real_components.summary_lines())
    with pytest.raises(ValueError):
        real_components.require("mysql", "not a component")


def test_without_the_opensearch_node_the_tests_fail_even_outside_ci(monkeypatch):
    for name in ("LBA_OPENSEARCH_URL", "CI", "LBA_SKIP_OPENSEARCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(opensearch_node, "answers", lambda url: False)

    def cannot_start(*args, **kwargs):
        raise opensearch_node.NodeError("java not found")

    monkeypatch.setattr(opensearch_node, "start", cannot_start)
    with pytest.raises(pytest.fail.Exception, match="LBA_SKIP_OPENSEARCH=1"):
        next(opensearch.session_node())
    monkeypatch.setenv("LBA_SKIP_OPENSEARCH", "1")
    with pytest.raises(pytest.skip.Exception):
        next(opensearch.session_node())


def test_the_pytest_summary_lists_the_components_opted_out():
    env = {**os.environ, "LBA_SKIP_REDIS": "1", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/services/test_ratelimit.py", "-k", "redis"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert "real components opted out (LBA_SKIP_*)" in run.stdout, run.stdout[-2000:]
    assert "redis: LBA_SKIP_REDIS=1" in run.stdout and "skipped" in run.stdout
