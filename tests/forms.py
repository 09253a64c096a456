"""CSRF in tests: forms are posted with the token of the rendered page, as a browser does."""
from __future__ import annotations

import re

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form of a rendered page (fails loudly when the form has none)."""
    found = _TOKEN.search(html)
    assert found, "the page's form carries no csrf_token field"
    return found.group(1)


def form_token(client, url: str) -> str:  # type: ignore[no-untyped-def]
    """GET `url` with the test client and return its form's CSRF token (bound to the client's session)."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return csrf_token(page.get_data(as_text=True))
