"""A recruiter in headless Chromium: company account by SIRET, magic link from the SMTP sink, offer, dashboard.

The company-search API is a local HTTP server answering recorded payloads in the API's own format
(tests/fixtures/company_search/); e-mails go through the outbox to a real local SMTP server. How
long the clicks took is printed, not asserted (speed goals are measured, never timed in tests).
"""
from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.request
from dataclasses import replace

import pytest
from werkzeug.serving import make_server

from app.factory import create_app
from app.search.embedded import EmbeddedEngine
from app.store import upgraded_store
from tests.api.recruiter_setup import FORMATIONS
from tests.services import company_search_server as company_api
from tests.services.contact_env import company_doc
from tests.web.browser import run_axe, screenshot
from tests.web.conftest import deliver_outbox

EMAIL = "paul@boulangerie-durand.fr"  # the domain the company index knows: the account is validated at once


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def company_search():
    with company_api.CompanySearchServer() as server:
        yield server


@pytest.fixture(scope="module")
def recruiter_server(settings, tmp_path_factory, company_search, vendor_assets):
    """The app on a real port: its own store, an index with the company and nearby CFAs, links to itself."""
    folder = tmp_path_factory.mktemp("recruiter-web")
    engine = EmbeddedEngine(folder / "index")
    for kind, documents in (("offer", []), ("formation", FORMATIONS),
                            ("company", [company_doc(company_api.VALID, "contact@boulangerie-durand.fr",
                                                     name="Boulangerie Durand")])):
        with engine.new_generation(kind) as builder:
            builder.add(documents)
    url = f"sqlite:///{folder / 'lba.sqlite'}"
    upgraded_store(url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(replace(settings, database_url=url, public_base_url=base, secret_key="browser-test-key",
                             company_search_url=company_search.url, embedding_model="none",
                             ratelimit_path=str(folder / "ratelimit.sqlite"), anonymous_rate=100000,
                             session_cookie_secure=False), engine=engine)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, base
    server.shutdown()
    server.server_close()
    thread.join(5)
    engine.close()


def _match(base: str) -> list[str]:
    query = "romes=D1102&latitude=45.760012&longitude=4.835659&radius=10&kinds=offers"
    with urllib.request.urlopen(f"{base}/api/v1/match?{query}", timeout=10) as response:
        return [item["id"] for item in json.load(response)["items"]]


def test_a_company_signs_up_by_magic_link_and_publishes_an_offer(chromium, recruiter_server, smtp_sink):
    app, base = recruiter_server
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR", base_url=base)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and
            (msg.location or {}).get("url", "") != page.url else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    clicks = 0.0  # seconds spent on the recruiter's own steps (page loads included, e-mail delivery excluded)
    try:
        started = time.perf_counter()
        page.goto("/espace-pro/creation/entreprise")
        page.fill("#siret", "412 345 670 00019")
        page.click("#siret-chercher")
        page.wait_for_selector("#entreprise-trouvee")
        assert "BOULANGERIE DURAND" in page.inner_text("#entreprise-trouvee")
        page.fill("#first_name", "Paul")
        page.fill("#last_name", "Durand")
        page.fill("#email", EMAIL)
        page.fill("#phone", "04 78 00 00 00")
        page.click("#compte-creer")
        page.wait_for_load_state()
        clicks += time.perf_counter() - started

        # The magic link, read from the real SMTP server the outbox delivered to.
        deliver_outbox(app, smtp_sink)
        mails = [m for m in smtp_sink.messages if EMAIL in m.rcpt_tos]
        assert mails, [m.rcpt_tos for m in smtp_sink.messages]
        link = re.search(r"https?://\S+/espace-pro/connexion/lien\?token=\S+", mails[-1].body()).group(0)
        assert link.startswith(base)

        started = time.perf_counter()
        page.goto(link)
        page.click("#connexion-confirmer")
        page.wait_for_url("**/espace-pro/tableau-de-bord")
        page.click("text=Déposer une offre")
        page.wait_for_selector("#appellation")
        form_violations = run_axe(page)
        page.type("#appellation", "boulang", delay=30)
        page.click("#appellation-listbox [role=option]:has-text('Boulanger / Boulangère')")
        assert page.input_value("#rome") == "D1102" and page.input_value("#appellation_code") == "11573"
        page.click("label[for=contract_types-apprentissage]")  # DSFR draws the box on the label, as a person clicks
        page.select_option("#diploma_level", "3")
        page.click("label[for=start_asap]")
        page.fill("#duration_months", "24")
        page.fill("#rhythm", "2 semaines en entreprise, 1 semaine au CFA")
        page.fill("#description", "Fabrication du pain au levain, des viennoiseries et vente en boutique.")
        assert page.is_checked("#contract_types-apprentissage") and page.is_checked("#start_asap")
        page.click("#publier")
        page.wait_for_url(re.compile(r".*/espace-pro/offres/\d+/ecoles$"))
        page.click("label[for=cfa-19690000100011]")
        page.click("#partager")
        page.wait_for_url("**/espace-pro/tableau-de-bord")
        clicks += time.perf_counter() - started

        row = page.locator("tr[data-status]").first
        assert row.get_attribute("data-status") == "active", page.content()
        assert "Boulanger / Boulangère" in row.inner_text()
        offer_id = int(row.get_attribute("id").removeprefix("offre-"))
        print(f"\nrecruiter clicks: {clicks:.1f} s from the sign-up form to the published offer "
              f"(e-mail delivery excluded; goal: under 120 s)")
        assert not form_violations and not run_axe(page), (form_violations, run_axe(page))
        path = screenshot(page, "recruiter-dashboard")
        assert path.is_file()
        assert f"deposited-{offer_id}" in _match(base)
        assert not errors, errors  # no CSP violation, no script error
    finally:
        context.close()
