"""In Chromium: the widget inside an iframe of a partner's page (another origin), its messages to that page,
and the site's other pages refusing to be framed."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.web.browser import assert_accessible, screenshot
from tests.web.conftest import ROME

PARTNER_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Site partenaire</title></head>
<body><h1>Site partenaire</h1>
<iframe id="widget" title="Recherche d'alternance" src="{widget}" width="100%" height="700"></iframe>
<iframe id="site" title="Page du site" src="{site}" width="100%" height="200"></iframe>
<script>
window.messages = [];
window.addEventListener("message", function (e) {{ window.messages.push({{origin: e.origin, data: e.data}}); }});
</script></body></html>"""


@pytest.fixture(scope="module")
def partner(live_server: str) -> Iterator[str]:
    """A partner's page served from another origin (another port), embedding the widget and a site page."""
    widget = (f"{live_server}/widget?romes={ROME}&latitude=48.8566&longitude=2.3522&radius=60&scope=all"
              f"&caller=test-partenaire")
    body = PARTNER_PAGE.format(widget=widget, site=f"{live_server}/").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_widget_in_partner_iframe(page, width, partner, live_server):
    page.goto(partner)
    frame = page.frame_locator("#widget")
    frame.locator("#titre-resultats").wait_for()
    assert frame.locator(".lba-result").count() == 20
    page.wait_for_function("window.messages.length >= 1")
    first = page.evaluate("window.messages[0]")
    assert first["origin"] == live_server
    assert first["data"]["type"] == "lba:navigation" and first["data"]["url"].startswith("/widget?")
    assert first["data"]["height"] > 0
    # The site's own pages may only be framed by the site: the browser blocked the second iframe.
    blocked = [e for e in page.console_errors if "frame-ancestors 'self'" in e and f"{live_server}/" in e]
    assert blocked, page.console_errors
    page.console_errors.remove(blocked[0])
    screenshot(page, "widget")
    widget_frame = next(f for f in page.frames if f.url.startswith(f"{live_server}/widget"))
    assert_accessible(page, "widget", frame=widget_frame)

    # Navigation inside the widget is announced to the partner's page.
    frame.locator(".lba-result a").first.click()
    page.wait_for_function("window.messages.some(m => m.data.url.startsWith('/widget/'))")
    second = page.evaluate("window.messages.find(m => m.data.url.startsWith('/widget/'))")
    assert second["data"]["url"].split("/")[2] in ("formations", "offres", "entreprises"), second
    assert "caller=test-partenaire" in second["data"]["url"]


def test_tester_page_shows_embed_code(page, width):
    page.goto("/widget/test?romes=D1102&caller=mon-site")
    code = page.inner_text("#code-integration")
    assert code.startswith("<iframe src=") and "romes=D1102" in code and "caller=mon-site" in code
    preview = page.frame_locator(".lba-widget-preview")
    preview.locator(".lba-widget__brand").wait_for()
    assert_accessible(page, "widget tester")
