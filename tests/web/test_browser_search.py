"""In Chromium: métier and commune autocompletes by keyboard → results → filters → detail, axe on each page."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from tests.store.databases import wait_for
from tests.web.browser import assert_accessible, screenshot
from tests.web.conftest import CITY_WORDS, INSEE, ROME, ROME_WORDS


def choose_suggestion(page, field: str, text: str, expected: str) -> None:
    """Type in a combobox, wait for the suggestions, pick the first one with the keyboard."""
    page.fill(f"#{field}", "")
    page.type(f"#{field}", text, delay=20)
    page.wait_for_selector(f"#{field}-listbox [role=option]")
    assert page.get_attribute(f"#{field}", "aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    assert page.get_attribute(f"#{field}", "aria-activedescendant") == f"{field}-option-0"
    assert expected.lower() in page.inner_text(f"#{field}-option-0").lower()
    page.keyboard.press("Enter")
    assert page.get_attribute(f"#{field}", "aria-expanded") == "false"


def search(page) -> None:
    page.goto("/")
    assert_accessible(page, "home")
    screenshot(page, "home")
    choose_suggestion(page, "metier", ROME_WORDS, "nettoyage")
    assert page.input_value("#romes") == ROME
    choose_suggestion(page, "lieu", CITY_WORDS, "Paris")
    assert page.input_value("#insee") == INSEE
    page.select_option("#radius", "60")
    page.click("button[type=submit]:has-text('Rechercher')")
    page.wait_for_selector("#titre-resultats")


def _clicks(web_app, kind: str, position: int) -> int:
    """Clicks counted so far at this rank (the app's pending counts written first)."""
    import sqlalchemy as sa

    from app.store import usage_counters

    web_app.extensions["lba.usage"].flush()
    table = usage_counters
    with web_app.extensions["lba.store"].connect() as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(table.c.count), 0)).where(
            table.c.event == "click", table.c.surface == "site", table.c.kind == kind,
            table.c.position == position)).scalar_one())


def test_search_filter_and_detail(page, width, web_app):
    search(page)
    query = parse_qs(urlsplit(page.url).query)
    assert query["romes"] == [ROME] and query["insee"] == [INSEE] and query["radius"] == ["60"]
    cards = page.locator(".lba-result")
    assert cards.count() == 20  # first page, rendered by the server
    # Every result says how far it is, and says what it is.
    distances = page.locator(".lba-result .lba-distance strong").all_inner_texts()
    assert len(distances) == 20 and all(re.fullmatch(r"\d+(,\d)?\u00a0k?m", d) for d in distances), distances
    badges = set(page.locator(".lba-result .fr-badge").all_text_contents())
    assert {"Formation", "Offre d'emploi", "Candidature spontanée"} <= {b.strip() for b in badges}
    counts = {k: int(page.inner_text(f".lba-count[data-kind={k}]").strip("()")) for k in ("formations", "offers",
                                                                                           "companies")}
    assert all(counts.values()), counts
    # The map: one numbered marker per result of the page, and a message since tiles cannot load here.
    if width < 800:
        screenshot(page, "results-list")
        page.click(".lba-map-toggle")
        assert page.get_attribute(".lba-map-toggle", "aria-expanded") == "true"
    page.wait_for_selector("#carte-canvas[data-ready=true]")
    assert page.locator("#carte-canvas .lba-map__label").count() == 20
    page.wait_for_function("document.getElementById('carte-statut').textContent.includes('fond de carte')")
    if width < 800:
        page.locator("#carte").scroll_into_view_if_needed()
        screenshot(page, "results-map", full_page=False)
    else:
        screenshot(page, "results-list")
        page.locator("#carte").scroll_into_view_if_needed()
        screenshot(page, "results-map", full_page=False)
    assert_accessible(page, "results")

    # Filter: offers only. The counts of the other kinds stay visible; every card is a real offer.
    page.click("label[for=kinds-formations]")  # DSFR draws the box on the label
    page.click("label[for=kinds-companies]")
    assert not page.is_checked("#kinds-formations") and page.is_checked("#kinds-offers")
    page.click("#appliquer-filtres")
    page.wait_for_selector("#titre-resultats")
    assert parse_qs(urlsplit(page.url).query)["kinds"] == ["offers"]
    badges = page.locator(".lba-result .fr-badge").all_text_contents()
    assert badges and {b.strip() for b in badges} == {"Offre d'emploi"}
    assert page.locator(".lba-result").count() == counts["offers"]
    assert int(page.inner_text(".lba-count[data-kind=companies]").strip("()")) == counts["companies"]

    # Detail of the first offer; site.js's beacon counts the click at rank 1 (under the page's CSP).
    before = _clicks(web_app, "offer", 1)
    page.click(".lba-result >> nth=0 >> a")
    page.wait_for_selector("h1")
    assert urlsplit(page.url).path.startswith("/offres/")
    assert parse_qs(urlsplit(page.url).query)["rang"] == ["1"]
    assert wait_for(lambda: _clicks(web_app, "offer", 1) == before + 1, timeout_s=10)
    screenshot(page, "detail-offer")
    assert_accessible(page, "offer detail")


def test_pagination_and_shared_url(page, width):
    """A results URL opened afresh shows the same search; page 2 continues the ranking."""
    page.goto(f"/recherche?metier={ROME_WORDS}&romes={ROME}&lieu={CITY_WORDS}&insee={INSEE}&radius=60")
    first = page.locator(".lba-result h3").all_inner_texts()
    page.click(".fr-pagination__link--next")
    page.wait_for_selector("#titre-resultats")
    assert parse_qs(urlsplit(page.url).query)["page"] == ["2"]
    second = page.locator(".lba-result h3").all_inner_texts()
    assert second and not set(first) & set(second)
    assert page.get_attribute(".fr-pagination__link[aria-current=page]", "title") == "Page 2"
