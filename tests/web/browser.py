"""Helpers of the browser tests: axe-core from npm, screenshots, console checks."""
from __future__ import annotations

from pathlib import Path

from scripts.build_assets import NODE_MODULES
from tests.web.conftest import SCREENSHOTS

AXE = NODE_MODULES / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def run_axe(page) -> list[dict]:
    """axe-core's serious and critical violations on the current page or frame (WCAG 2.1 A/AA and best practices)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, so the page's CSP (no inline script) does not block it.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in BLOCKING]


def assert_accessible(page, name: str, frame=None) -> None:
    """No serious or critical axe violation, and no console error (a CSP violation is one)."""
    violations = run_axe(frame or page)
    assert not violations, f"{name}: axe violations {violations}"
    assert not page.console_errors, f"{name}: console errors {page.console_errors}"


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot as var/screenshots/<name>-<width>px.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    path = SCREENSHOTS / f"{name}-{width}px.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
