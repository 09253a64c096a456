"""The one rule for real components in tests: start it, or FAIL, unless the caller opted out by name.

Fixtures that start PostgreSQL, an SMTP server, Redis, Chromium, nginx or OpenSearch call `skip_if_opted_out`
before trying (no time spent on a component the caller does not want) and `require` when the
component cannot start. The terminal summary lists every component opted out (tests/conftest.py).
"""
from __future__ import annotations

import os
from typing import NoReturn

import pytest

#: component -> the variable that opts out of its tests (set to 1).
OPT_OUT = {
    "opensearch": "LBA_SKIP_OPENSEARCH",
    "postgres": "LBA_SKIP_POSTGRES",
    "smtp": "LBA_SKIP_SMTP",
    "browser": "LBA_SKIP_BROWSER",
    "redis": "LBA_SKIP_REDIS",
    "nginx": "LBA_SKIP_NGINX",
}
#: component -> reasons of the tests skipped in this session (for the summary).
_skipped: dict[str, list[str]] = {}


def _variable(component: str) -> str:
    try:
        return OPT_OUT[component]
    except KeyError:
        raise ValueError(f"unknown real component {component!r}; known: {', '.join(OPT_OUT)}") from None


def opted_out(component: str) -> bool:
    """True when the caller set LBA_SKIP_<COMPONENT>=1 (or true/yes)."""
    return os.environ.get(_variable(component), "").strip().lower() in ("1", "true", "yes")


def skip_if_opted_out(component: str) -> None:
    """Skip now, before starting anything, when the caller opted out of `component`."""
    if opted_out(component):
        _skip(component, "opted out before starting")


def require(component: str, reason: str) -> NoReturn:
    """`component` cannot be used (`reason`): fail the test, or skip it when the caller opted out."""
    if opted_out(component):
        _skip(component, reason)
    pytest.fail(f"{component} is required by this test and could not be used: {reason} "
                f"(set {_variable(component)}=1 to skip these tests explicitly)", pytrace=False)


def _skip(component: str, reason: str) -> NoReturn:
    _skipped.setdefault(component, []).append(reason)
    pytest.skip(f"{component} opted out ({_variable(component)}=1): {reason}")


def summary_lines() -> list[str]:
    """One line per opted-out component: its variable and how many tests it skipped."""
    lines = []
    for component, variable in OPT_OUT.items():
        if opted_out(component):
            count = len(_skipped.get(component, []))
            lines.append(f"{component}: {variable}=1, {count} test(s) or fixture(s) skipped")
    return lines
