"""In Chromium: statistics (with the index runs' breakdown), two guidance pages and a job-in-a-city page pass axe,
with screenshots."""
from __future__ import annotations

import pytest

from tests.web.browser import assert_accessible, screenshot


@pytest.mark.parametrize("path,name", [("/statistiques", "statistics"),
                                       ("/conseils/contrat-d-apprentissage", "guidance-contract"),
                                       ("/conseils/preparer-un-entretien", "guidance-interview"),
                                       ("/metier/agent-de-nettoyage-industriel/paris", "seo-job-city")])
def test_public_page_is_accessible(page, index_runs, path: str, name: str):
    response = page.goto(path)
    assert response.status == 200
    assert_accessible(page, name)
    screenshot(page, name)
    if name == "statistics":
        # Each chart is an image with a name, and its figures are in a table beside it: the three monthly ones and
        # the documents per region of the index runs.
        assert page.locator("svg.lba-chart[role=img]").count() == 4
        assert page.locator("#recherches-tableau tbody tr").count() == 12
        assert page.locator("#candidatures-tableau tbody tr").count() == 12
        assert page.locator("#regions-tableau tbody tr").count() >= 13
        assert page.locator("#par-source tbody tr").count() == 3


def test_ranking_lab_page_is_accessible(page, web_app):
    """An administrator signs in by magic link, compares the served weights with the worse file: axe passes."""
    import re

    import sqlalchemy as sa

    from app.store import outbox
    from tests.web.conftest import INSEE, ROME

    web_app.extensions["lba.accounts"].grant_admin("navigateur@lba.test")
    page.goto("/espace-pro/connexion")
    page.fill("#email", "navigateur@lba.test")
    # Each step waits for the page it leads to: a bare wait_for_load_state() returns at once on the page
    # already loaded, and the next step would then race the navigation (the outbox read before the mail
    # is written, a goto cancelling the sign-in's answer).
    with page.expect_navigation(url="**/espace-pro/connexion/envoye"):
        page.click("#form-connexion button[type=submit]")
    with web_app.extensions["lba.store"].connect() as conn:
        body = conn.execute(sa.select(outbox.c.text_body).where(outbox.c.kind == "recruiter.login")
                            .order_by(outbox.c.id.desc())).scalars().first()
    page.goto(re.search(r"https?://[^/\s]+(/espace-pro/connexion/lien\?token=\S+)", body).group(1))
    with page.expect_navigation(url="**/espace-pro/comptes-en-attente"):
        page.click("#connexion-confirmer")
    page.goto("/espace-pro/admin/classement")
    page.fill("#romes", ROME)
    page.fill("#insee", INSEE)
    page.select_option("#weights", "ranking/examples/worse.toml")
    with page.expect_navigation() as navigation:
        page.click("#classement-comparer")
    answer = navigation.value
    # The page's own words when the comparison is refused (a form error, an expired CSRF token...).
    assert answer is not None and answer.status == 200, (answer and answer.status, page.inner_text("main"))
    page.wait_for_selector("#comparaison")
    assert page.locator("#seconds-poids tbody tr").count() == 20
    assert page.locator("#seconds-poids .lba-move--up, #seconds-poids .lba-move--down").count() > 0
    assert_accessible(page, "ranking-lab")
    screenshot(page, "ranking-lab")
