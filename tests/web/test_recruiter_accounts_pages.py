"""Recruiter account pages through the test client, CSRF on: sign-up, magic link, pending accounts, CSRF refusals."""
from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Blueprint

from app.clock import FixedClock
from app.factory import create_app
from app.search.embedded import EmbeddedEngine
from app.services.recruiter_accounts import SignUp
from app.store import get_store, outbox, recruiter_accounts
from tests.forms import csrf_token, form_token
from tests.services import company_search_server as api
from tests.services.contact_env import company_doc
from tests.store.databases import postgres, store_url  # noqa: F401 - fixtures: every test runs on both databases

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
BASE = "https://lba.test"
CREATE = "/espace-pro/creation/entreprise"


@pytest.fixture
def server():
    with api.CompanySearchServer() as running:
        yield running


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def app(settings, server, store_url: str, tmp_path: Path, clock: FixedClock):  # noqa: F811
    engine = EmbeddedEngine(tmp_path / "index")
    with engine.new_generation("company") as builder:
        builder.add([company_doc(api.VALID, "contact@boulangerie-durand.fr", name="Boulangerie Durand")])
    built = create_app(replace(settings, database_url=store_url, public_base_url=BASE, secret_key="test-key",
                               company_search_url=server.url, embedding_model="none",
                               ratelimit_path=str(tmp_path / "ratelimit.sqlite"), anonymous_rate=100000),
                       engine=engine, clock=clock)
    built.extensions["lba.accounts"].companies.session.adapters["http://"].max_retries.backoff_factor = 0.01
    return built


@pytest.fixture
def client(app):
    return app.test_client()


def last_link(app) -> str:  # type: ignore[no-untyped-def]
    with get_store(app.extensions["lba.settings"].database_url).connect() as conn:
        body = conn.execute(sa.select(outbox.c.text_body).where(outbox.c.kind == "recruiter.login")
                            .order_by(outbox.c.id.desc())).scalars().first()
    return re.search(rf"{re.escape(BASE)}(/espace-pro/connexion/lien\?token=\S+)", body).group(1)


def follow(client, link: str):  # type: ignore[no-untyped-def]
    """Open a magic link and press its one button, as a person does."""
    page = client.get(link)
    assert page.status_code == 200, page.text
    return client.post("/espace-pro/connexion/lien", data={"token": link.split("token=")[1],
                                                           "csrf_token": csrf_token(page.text)})


def sign_in_as(app, client, email: str):  # type: ignore[no-untyped-def]
    sent = client.post("/espace-pro/connexion", data={"email": email,
                                                      "csrf_token": form_token(client, "/espace-pro/connexion")})
    assert sent.status_code == 302 and sent.headers["Location"] == "/espace-pro/connexion/envoye"
    return follow(client, last_link(app))


def account_row(app, email: str) -> dict:  # type: ignore[no-untyped-def]
    with get_store(app.extensions["lba.settings"].database_url).connect() as conn:
        return dict(conn.execute(sa.select(recruiter_accounts).where(recruiter_accounts.c.email == email))
                    .mappings().one())


def test_sign_up_by_siret_then_sign_in_by_magic_link_and_sign_out(app, client, clock) -> None:
    token = form_token(client, CREATE)
    bad = client.post(CREATE, data={"step": "siret", "siret": "412 345 670 00018", "csrf_token": token})
    assert bad.status_code == 400 and "Le numéro siret est invalide." in bad.text
    assert 'value="41234567000018"' in bad.text or 'value="412 345 670 00018"' in bad.text  # what was typed stays
    closed = client.post(CREATE, data={"step": "siret", "siret": api.CLOSED, "csrf_token": token})
    assert closed.status_code == 400 and "établissement est fermé" in html.unescape(closed.text)
    school = client.post(CREATE, data={"step": "siret", "siret": api.EDUCATION, "csrf_token": token})
    assert school.status_code == 400 and "doit créer un compte CFA" in html.unescape(school.text)
    found = client.post(CREATE, data={"step": "siret", "siret": "412 345 670 00019", "csrf_token": token})
    assert found.status_code == 200
    text = html.unescape(found.text)
    assert "BOULANGERIE DURAND" in text and "12 RUE DE LA REPUBLIQUE 69002 LYON" in text
    assert "Boulangerie et boulangerie-pâtisserie" in text and "Opco EP" in text
    person = {"step": "person", "siret": api.VALID, "first_name": "Paul", "last_name": "Durand",
              "email": "paul@example-conseil.fr", "phone": "12", "csrf_token": csrf_token(found.text)}
    wrong = client.post(CREATE, data=person)
    assert wrong.status_code == 400 and "Numéro de téléphone" in html.unescape(wrong.text)
    assert 'value="Paul"' in wrong.text and 'value="paul@example-conseil.fr"' in wrong.text
    assert "BOULANGERIE DURAND" in wrong.text  # the company stays shown
    created = client.post(CREATE, data={**person, "phone": "04 78 00 00 00"})
    assert created.status_code == 302 and created.headers["Location"] == "/espace-pro/creation/entreprise/envoye"
    assert "un lien vous a été envoyé" in html.unescape(client.get(created.headers["Location"]).text)
    link = last_link(app)
    clock.set(NOW + timedelta(minutes=3))
    landing = client.get(link)
    assert landing.status_code == 200 and "Me connecter" in landing.text
    assert account_row(app, "paul@example-conseil.fr")["email_confirmed_at"] is None  # GET changes nothing
    signed = follow(client, link)
    assert signed.status_code == 302 and signed.headers["Location"] == "/espace-pro/tableau-de-bord"
    row = account_row(app, "paul@example-conseil.fr")
    assert row["email_confirmed_at"] is not None and row["status"] == "pending"
    page = client.get("/espace-pro/deconnexion")
    assert "paul@example-conseil.fr" in page.text
    out = client.post("/espace-pro/deconnexion", data={"csrf_token": csrf_token(page.text)})
    assert out.status_code == 302
    assert "Vous n'êtes pas connecté" in html.unescape(client.get("/espace-pro/deconnexion").text)
    reused = client.post("/espace-pro/connexion/lien", data={"token": link.split("token=")[1],
                                                            "csrf_token": form_token(client, "/espace-pro/connexion")})
    assert reused.status_code == 410 and "déjà servi" in html.unescape(reused.text)


def test_a_signed_in_session_survives_an_asset_answer_that_began_before_the_last_page(app, client) -> None:
    """The session cookie is set only when the session changes, and the CSRF secret is made at sign-in.

    A browser loads fonts and stylesheets beside each page; when Flask re-sent a permanent session on every
    answer, an asset answer that began before a page added the CSRF secret and ended after it put the older
    cookie back, and the next form was refused (a flaky browser test on a slow machine showed it).
    """
    client.post(CREATE, data={"step": "person", "siret": api.VALID, "first_name": "Paul", "last_name": "Durand",
                              "email": "lent@example-conseil.fr", "phone": "04 78 00 00 00",
                              "csrf_token": form_token(client, CREATE)})
    signed = follow(client, last_link(app))
    assert signed.status_code == 302
    with client.session_transaction() as session:
        assert "csrf_token" in session and "account_id" in session  # made by the sign-in answer itself
    stale = client.get_cookie("lba_session").value
    with client.get("/assets/css/site.css") as asset:  # a file answer: closed, or pytest warns
        assert asset.status_code == 200 and "Set-Cookie" not in asset.headers  # nothing to put back, cacheable
    page = client.get("/espace-pro/deconnexion")
    assert "Set-Cookie" not in page.headers  # a page with a form, but the secret was already there
    assert client.get_cookie("lba_session").value == stale
    out = client.post("/espace-pro/deconnexion", data={"csrf_token": csrf_token(page.text)})
    assert out.status_code == 302


def test_magic_link_pages_for_tampered_and_expired_links(app, client, clock) -> None:
    sign_up = {"step": "person", "siret": api.VALID, "first_name": "Paul", "last_name": "Durand",
               "email": "paul@boulangerie-durand.fr", "phone": "0478000000",
               "csrf_token": form_token(client, CREATE)}
    assert client.post(CREATE, data=sign_up).status_code == 302
    link = last_link(app)
    tampered = client.get(link[:-3] + ("xyz" if not link.endswith("xyz") else "abc"))
    assert tampered.status_code == 403 and "n'est pas valide" in html.unescape(tampered.text)
    clock.set(NOW + timedelta(minutes=45))
    expired = client.get(link)
    assert expired.status_code == 410 and "a expiré" in html.unescape(expired.text)
    clock.set(NOW + timedelta(minutes=10))
    assert follow(client, link).status_code == 302
    # The company's contact domain (recruiters index) validated the account at its first sign-in.
    assert account_row(app, "paul@boulangerie-durand.fr")["status"] == "validated"


def test_cfa_sign_up_accepts_an_education_siret(app, client) -> None:
    token = form_token(client, "/espace-pro/creation/cfa")
    found = client.post("/espace-pro/creation/cfa", data={"step": "siret", "siret": api.EDUCATION,
                                                          "csrf_token": token})
    assert found.status_code == 200 and "CFA DES METIERS DU BOIS" in found.text
    assert client.get("/espace-pro/creation/autre").status_code == 404


def test_the_pending_accounts_page_for_validators_only(app, client) -> None:
    service = app.extensions["lba.accounts"]
    service.grant_admin("admin@lba.test")
    waiting = service.sign_up(SignUp("entreprise", api.VALID, "paul@example-conseil.fr", "Paul", "Durand",
                                     "0478000000"))
    other = service.sign_up(SignUp("entreprise", api.SECOND, "marie@example-conseil.fr", "Marie", "Durand",
                                   "0478000001"))
    assert client.get("/espace-pro/comptes-en-attente").status_code == 302  # not signed in
    recruiter = app.test_client()
    assert sign_in_as(app, recruiter, "paul@example-conseil.fr").status_code == 302
    assert recruiter.get("/espace-pro/comptes-en-attente").status_code == 403
    signed = sign_in_as(app, client, "admin@lba.test")
    assert signed.headers["Location"] == "/espace-pro/comptes-en-attente"
    page = client.get("/espace-pro/comptes-en-attente")
    assert page.status_code == 200
    assert "paul@example-conseil.fr" in page.text and "marie@example-conseil.fr" in page.text
    token = csrf_token(page.text)
    no_reason = client.post(f"/espace-pro/comptes-en-attente/{other['id']}/refuser", data={"csrf_token": token})
    assert no_reason.status_code == 400 and "Indiquez le motif du refus" in no_reason.text
    ok = client.post(f"/espace-pro/comptes-en-attente/{waiting['id']}/valider", data={"csrf_token": token})
    assert ok.status_code == 302
    assert "Compte validé" in html.unescape(client.get(ok.headers["Location"]).text)
    refused = client.post(f"/espace-pro/comptes-en-attente/{other['id']}/refuser",
                          data={"csrf_token": token, "reason": "Adresse sans lien avec l'établissement"})
    assert refused.status_code == 302
    assert account_row(app, "paul@example-conseil.fr")["status"] == "validated"
    assert account_row(app, "marie@example-conseil.fr")["status"] == "refused"
    again = client.post(f"/espace-pro/comptes-en-attente/{waiting['id']}/valider", data={"csrf_token": token})
    assert again.status_code == 409 and "déjà été traité" in html.unescape(again.text)
    forged = client.post(f"/espace-pro/comptes-en-attente/{other['id']}/valider")
    assert forged.status_code == 400  # no token: a cross-site form cannot decide for the administrator


def test_a_form_without_or_with_a_wrong_token_gets_a_french_page_that_keeps_what_was_typed(client) -> None:
    typed = {"siret": "41234567000019", "email": "rh@boulangerie-durand.fr", "reason": "autre",
             "comment": "Nous ne prenons plus d'apprentis cette année."}
    for data in (typed, {**typed, "csrf_token": "forged-token"}):
        refused = client.post("/desinscription", data=data)
        text = html.unescape(refused.text)
        assert refused.status_code == 400 and "Formulaire non envoyé" in text
        assert "Nous ne prenons plus d'apprentis cette année." in text and "rh@boulangerie-durand.fr" in text
    # The page's own form sends it again with a fresh token: it reaches the opt-out handler this time.
    again = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', refused.text)
    resent = client.post("/desinscription", data={name: html.unescape(value) for name, value in again})
    assert "Formulaire non envoyé" not in html.unescape(resent.text)
    assert resent.status_code in (302, 400)  # the opt-out's own answer (the company is not in this small index)
    sign_in = client.post("/espace-pro/connexion", data={"email": "paul@example.fr"})
    assert sign_in.status_code == 400 and 'value="paul@example.fr"' in sign_in.text


def test_json_apis_keep_their_credentials_and_the_recruiter_api_needs_the_header(
        settings, server, store_url, tmp_path: Path) -> None:  # noqa: F811
    probe = Blueprint("recruiter_api_probe", __name__, url_prefix="/api/v1/recruiter")
    probe.add_url_rule("/probe", "probe", lambda: {"ok": True}, methods=["POST"])
    app = create_app(replace(settings, database_url=store_url, company_search_url=server.url, embedding_model="none",
                             ratelimit_path=str(tmp_path / "ratelimit.sqlite"), anonymous_rate=100000),
                     engine=EmbeddedEngine(tmp_path / "index"))
    app.register_blueprint(probe)  # a cookie-authenticated API, like the offers engineer's: not exempt
    client = app.test_client()
    refused = client.post("/api/v1/recruiter/probe", json={})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"
    token = form_token(client, "/espace-pro/connexion")
    assert client.post("/api/v1/recruiter/probe", json={}, headers={"X-CSRFToken": token}).get_json() == {"ok": True}
    # Exempt APIs (API key or anonymous) answer with their own validation, never a CSRF refusal.
    anonymous = client.post("/api/v1/callbacks", json={})
    assert anonymous.status_code in (400, 422) and anonymous.get_json()["error"]["code"] != "csrf_failed"


def test_every_field_of_the_account_pages_has_its_label(app, client) -> None:
    app.extensions["lba.accounts"].grant_admin("admin@lba.test")
    app.extensions["lba.accounts"].sign_up(SignUp("entreprise", api.VALID, "paul@example-conseil.fr", "Paul",
                                                  "Durand", "0478000000"))
    token = form_token(client, CREATE)
    pages = [client.get("/espace-pro/connexion").text, client.get(CREATE).text,
             client.post(CREATE, data={"step": "siret", "siret": api.VALID, "csrf_token": token}).text]
    sign_in_as(app, client, "admin@lba.test")
    pages.append(client.get("/espace-pro/comptes-en-attente").text)
    for page in pages:
        assert 'lang="fr"' in page and "fr-header" in page  # the site's base layout
        ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"', page)
        assert ids
        for ident in ids:
            assert f'for="{ident}"' in page, ident
