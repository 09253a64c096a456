"""In Chromium: the spontaneous application (with a PDF CV) and the callback request, errors beside their
fields, nothing typed lost, then the confirmation and the e-mails arriving at a real local SMTP server."""
from __future__ import annotations

from urllib.parse import quote, urlsplit

from tests.web.browser import assert_accessible, screenshot
from tests.web.conftest import CITY_WORDS, INSEE, PDF, ROME, ROME_WORDS, deliver_outbox


def _applications_at(web_app, rank: int) -> int:
    """Site applications to companies counted at `rank` (pending counts written first)."""
    import sqlalchemy as sa

    from app.store import usage_counters as table

    web_app.extensions["lba.usage"].flush()
    with web_app.extensions["lba.store"].connect() as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(table.c.count), 0)).where(
            table.c.event == "application", table.c.surface == "site", table.c.kind == "company",
            table.c.position == rank)).scalar_one())


def test_spontaneous_application(page, width, demo_targets, web_app, smtp_sink):
    siret = demo_targets["company"]
    page.goto(f"/recherche?metier={ROME_WORDS}&romes={ROME}&lieu={CITY_WORDS}&insee={INSEE}&radius=60&kinds=companies")
    link = page.locator(f".lba-result a[href^='/entreprises/{siret}?rang=']")
    while not link.count():  # the company may be on a later page
        page.click(".fr-pagination__link--next")
        page.wait_for_selector("#titre-resultats")
    rank = int(link.get_attribute("href").split("?rang=")[1])
    applications_before = _applications_at(web_app, rank)
    link.click()
    page.wait_for_selector("h1")
    screenshot(page, "detail-company")
    assert_accessible(page, "company detail")
    page.get_by_role("link", name="Envoyer une candidature spontanée").click()
    page.wait_for_selector("#form-candidature")
    assert_accessible(page, "application form")

    page.fill("#first_name", "Inès")
    page.fill("#last_name", "Martin")
    page.fill("#email", "ines.martin@")  # a mistake
    page.fill("#phone", "06 12 34 56 78")
    page.fill("#message", "Bonjour, je cherche un contrat d'apprentissage en nettoyage industriel.")
    page.set_input_files("#cv", files=[{"name": "cv-ines.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("button[type=submit]")
    page.wait_for_selector("#erreurs")
    # The error sits under its field, the field says it is invalid, and nothing typed is lost (the CV included).
    assert "Adresse e-mail invalide" in page.inner_text("#email-messages")
    assert page.get_attribute("#email", "aria-invalid") == "true"
    assert page.inner_text("#first_name-messages").strip() == ""
    assert page.input_value("#first_name") == "Inès" and page.input_value("#email") == "ines.martin@"
    assert "nettoyage industriel" in page.input_value("#message")
    assert "cv-ines.pdf" in page.inner_text("#cv-conserve")
    assert page.evaluate("document.activeElement.id") == "erreurs"  # the summary takes the focus
    screenshot(page, "apply-errors")
    assert_accessible(page, "application form with errors")

    page.fill("#email", f"ines.martin.{width}@example.org")  # one applicant per width: caps hold
    page.click("button[type=submit]")  # no new file: the kept CV goes with it
    page.wait_for_selector("text=Votre candidature a été envoyée")
    assert urlsplit(page.url).path == f"/postuler/envoyee/company/{siret}"
    # Counted at the rank of the result it came from (the usage counters: no personal data).
    assert _applications_at(web_app, rank) == applications_before + 1
    screenshot(page, "apply-done")
    assert_accessible(page, "application sent")
    # The worker delivers it: the company gets the PDF typed in the browser, the applicant a confirmation.
    deliver_outbox(web_app, smtp_sink)
    mine = [m for m in smtp_sink.messages if f"ines.martin.{width}@example.org" in m.rcpt_tos
            or f"ines.martin.{width}@example.org" in m.body()]
    to_company = [m for m in mine if f"ines.martin.{width}@example.org" not in m.rcpt_tos]
    to_applicant = [m for m in mine if m.rcpt_tos == [f"ines.martin.{width}@example.org"]]
    assert len(to_company) == 1 and len(to_applicant) == 1, [m.rcpt_tos for m in smtp_sink.messages]
    assert ("cv-ines.pdf", PDF) in to_company[0].attachments()


def test_callback_request(page, width, demo_targets, web_app, smtp_sink):
    formation = demo_targets["formation"]
    page.goto(f"/formations/{quote(formation)}")
    screenshot(page, "detail-formation")
    assert_accessible(page, "formation detail")
    page.get_by_role("link", name="Être rappelé par le centre de formation").click()
    page.wait_for_selector("#form-rappel")
    page.fill("#first_name", "Lucas")
    page.click("button[type=submit]")  # almost everything missing
    page.wait_for_selector("#erreurs")
    for field in ("applicant_type", "last_name", "email", "phone", "reasons"):
        assert page.inner_text(f"#{field}-messages").strip(), field
    assert page.input_value("#first_name") == "Lucas"
    assert_accessible(page, "callback form with errors")

    page.click("label[for=applicant_type-etudiant]")
    page.fill("#last_name", "Bernard")
    page.fill("#email", f"lucas.bernard.{width}@example.org")  # the 4-day rule is per e-mail
    page.fill("#phone", "0612345678")
    page.click("label[for=reasons-frais]")
    page.click("label[for=reasons-lieu]")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Votre demande a été envoyée")
    screenshot(page, "callback-done")
    assert_accessible(page, "callback sent")
    deliver_outbox(web_app, smtp_sink)
    to_lucas = [m for m in smtp_sink.messages if m.rcpt_tos == [f"lucas.bernard.{width}@example.org"]]
    to_cfa = [m for m in smtp_sink.messages if "Lucas" in m.body() and m not in to_lucas]
    assert len(to_lucas) == 1 and len(to_cfa) == 1, [m.rcpt_tos for m in smtp_sink.messages]
