"""The online signal on the site and the API: searches, impressions, the click beacon, applications at their rank."""
from __future__ import annotations

import re
from io import BytesIO

import sqlalchemy as sa

from app.store import usage_counters
from tests.forms import form_token
from tests.web.conftest import INSEE, PDF, ROME

SEARCH = f"/recherche?metier=agent+de+nettoyage&romes={ROME}&lieu=Paris&insee={INSEE}&radius=60"


def counts(web_app) -> dict[tuple[str, str, str, int], int]:
    """Every counter (summed over days), after writing what the app holds in memory."""
    web_app.extensions["lba.usage"].flush()
    with web_app.extensions["lba.store"].connect() as conn:
        rows = conn.execute(sa.select(usage_counters.c.event, usage_counters.c.surface, usage_counters.c.kind,
                                      usage_counters.c.position, sa.func.sum(usage_counters.c.count))
                            .group_by(usage_counters.c.event, usage_counters.c.surface, usage_counters.c.kind,
                                      usage_counters.c.position)).all()
    return {(e, s, k, p): int(n) for e, s, k, p, n in rows}


def delta(before: dict, after: dict) -> dict:
    return {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}


def test_a_site_search_counts_one_search_and_an_impression_per_rank(client, web_app):
    before = counts(web_app)
    html = client.get(SEARCH).get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+)" data-lba-click="(\w+)" data-lba-position="(\d+)" data-lba-surface="site">',
                       html)
    assert len(links) == 20 and [int(p) for _, _, p in links] == list(range(1, 21))
    assert all(href.endswith(f"?rang={p}") for href, _, p in links)
    change = delta(before, counts(web_app))
    assert change.pop(("search", "site", "", 0)) == 1
    assert change == {("impression", "site", kind, int(p)): 1 for _, kind, p in links}
    page2 = client.get(SEARCH + "&page=2").get_data(as_text=True)
    assert 'data-lba-position="21"' in page2
    change = delta(before, counts(web_app))
    assert change[("search", "site", "", 0)] == 1  # page 2 of the same search is not a new search


def test_the_click_beacon_counts_and_refuses_with_the_one_error_shape(client, web_app):
    before = counts(web_app)
    # No CSRF token, text/plain as navigator.sendBeacon sends a string: the JSON endpoint accepts it.
    ok = client.post("/api/v1/usage/clicks", data='{"kind": "offer", "position": 3, "surface": "site"}',
                     content_type="text/plain;charset=UTF-8")
    assert ok.status_code == 204
    widget = client.post("/api/v1/usage/clicks", json={"kind": "company", "position": 1, "surface": "widget"})
    assert widget.status_code == 204
    bad = client.post("/api/v1/usage/clicks", json={"kind": "person", "position": 0})
    assert bad.status_code == 400
    body = bad.get_json()
    assert body["error"]["code"] == "invalid_parameters" and set(body["error"]["details"]) == {"kind", "position"}
    assert client.post("/api/v1/usage/clicks", data="not json", content_type="text/plain").status_code == 400
    assert delta(before, counts(web_app)) == {("click", "site", "offer", 3): 1, ("click", "widget", "company", 1): 1}


def test_the_result_page_sends_the_beacon_script_under_its_csp(client):
    response = client.get(SEARCH)
    assert "connect-src 'self'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    served = client.get("/assets/js/site.js")
    script = served.get_data(as_text=True)
    served.close()
    assert 'sendBeacon("/api/v1/usage/clicks"' in script


def test_an_application_from_a_result_is_counted_at_its_rank(client, web_app, demo_targets):
    before = counts(web_app)
    detail = client.get(f"/entreprises/{demo_targets['company']}?rang=7").get_data(as_text=True)
    url = f"/postuler/entreprises/{demo_targets['company']}?rang=7"
    assert f'href="{url}"' in detail
    fields = {"first_name": "Inès", "last_name": "Martin", "email": "ines.rang@example.org", "phone": "0612345678",
              "message": "Bonjour", "csrf_token": form_token(client, url), "cv": (BytesIO(PDF), "cv.pdf")}
    sent = client.post(url, data=fields, content_type="multipart/form-data")
    assert sent.status_code == 302, sent.get_data(as_text=True)[:500]
    assert delta(before, counts(web_app)) == {("application", "site", "company", 7): 1}


def test_api_searches_are_counted_without_impressions(client, web_app):
    before = counts(web_app)
    assert client.get(f"/api/v1/match?romes={ROME}&insee={INSEE}&radius=30").status_code == 200
    assert client.get(f"/api/v1/offers?romes={ROME}&insee={INSEE}").status_code == 200
    assert client.get("/api/v1/match?romes=ZZZZZ").status_code == 400
    assert delta(before, counts(web_app)) == {("search", "api", "", 0): 2}
