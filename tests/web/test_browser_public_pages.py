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
        # Each chart is an image with a name, and its figures are in a table beside it: the monthly ones and
        # the documents per region of the index runs.
        assert page.locator("svg.lba-chart[role=img]").count() == 3
        assert page.locator("#candidatures-tableau tbody tr").count() == 12
        assert page.locator("#regions-tableau tbody tr").count() >= 13
        assert page.locator("#par-source tbody tr").count() == 3
