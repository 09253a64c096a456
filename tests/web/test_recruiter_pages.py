"""Recruiters' pages through HTTP: sign-in required, the offer form (errors keep what was typed), CFAs, dashboard."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from app.clock import FixedClock
from app.store import deposited_offers, get_store, outbox
from tests.api.recruiter_setup import NOW, add_account, make_app, published_engine, signed_in_client
from tests.forms import csrf_token

FORM = {"appellation": "Boulanger / Boulangère", "appellation_code": "11573", "rome": "D1102",
        "contract_types": "apprentissage", "diploma_level": "3", "start_asap": "1", "duration_months": "24",
        "positions": "2", "rhythm": "3 jours en entreprise, 2 jours au CFA", "question_1": "Êtes-vous mobile ?",
        "description": "Fabrication du pain, des viennoiseries et vente en boutique.", "disability_friendly": "1"}


@pytest.fixture
def app(settings, store_url, tmp_path):
    engine = published_engine("embedded", tmp_path / "index")
    built = make_app(settings, store_url, engine, tmp_path, clock=FixedClock(NOW))
    built.extensions["test.store_url"] = store_url
    yield built
    engine.close()


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return unescape(response.get_data(as_text=True))


def test_pages_need_a_session(app):
    client = app.test_client()
    for path in ["/espace-pro/tableau-de-bord", "/espace-pro/offres/nouvelle", "/espace-pro/offres/1/ecoles"]:
        response = client.get(path)
        if response.status_code == 302:  # the accounts side's sign-in page is registered
            assert "connexion" in response.headers["Location"]
        else:
            assert response.status_code == 401 and "Connectez-vous" in _text(response)
    assert client.post("/espace-pro/offres/1/annuler", data={"reason": "autre"}).status_code in (302, 400, 401)


def test_the_form_keeps_every_typed_value_and_names_each_error_in_french(app):
    client = signed_in_client(app, add_account(app.extensions["test.store_url"]))
    page = client.get("/espace-pro/offres/nouvelle")
    html = _text(page)
    assert page.status_code == 200 and 'data-autocomplete="appellations"' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    bad = {**FORM, "rome": "", "appellation_code": "", "appellation": "Boulangxyz", "duration_months": "48",
           "start_asap": "", "start_date": "2025-01-01", "rhythm": "voir www.fournil.test",
           "description": "Trop court", "question_2": "Écrivez à rh@fournil.test"}
    response = client.post("/espace-pro/offres/nouvelle", data=bad)
    html = _text(response)
    assert response.status_code == 400
    for message in ["Choisissez un métier dans la liste proposée", "La durée du contrat va de 6 à 36 mois.",
                    "La date de début ne peut pas être passée.", "Les adresses web ne sont pas autorisées ici.",
                    "La description doit faire au moins 30 caractères", "Question 2 : Les adresses e-mail"]:
        assert message in html, message
    for value in ['value="Boulangxyz"', 'value="48"', 'value="2025-01-01"', 'value="voir www.fournil.test"',
                  ">Trop court</textarea>", 'value="Écrivez à rh@fournil.test"', 'value="Êtes-vous mobile ?"',
                  'value="2"']:
        assert value in html, value
    assert re.search(r'id="contract_types-apprentissage"[^>]*checked', html)
    assert re.search(r'id="disability_friendly"[^>]*checked', html)
    with get_store(app.extensions["test.store_url"]).connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deposited_offers)).scalar_one() == 0


def test_a_label_typed_without_the_script_is_resolved_on_the_server(app):
    client = signed_in_client(app, add_account(app.extensions["test.store_url"]))
    response = client.post("/espace-pro/offres/nouvelle", data={**FORM, "rome": "", "appellation_code": ""})
    assert response.status_code == 302, _text(response)
    with get_store(app.extensions["test.store_url"]).connect() as conn:
        row = conn.execute(sa.select(deposited_offers)).mappings().one()
    assert row["romes"] == ["D1102"] and row["appellation_code"] == "11573"


def test_publish_pick_cfas_then_manage_from_the_dashboard(app):
    store_url = app.extensions["test.store_url"]
    client = signed_in_client(app, add_account(store_url))
    created = client.post("/espace-pro/offres/nouvelle", data=FORM)
    assert created.status_code == 302 and re.search(r"/espace-pro/offres/\d+/ecoles$", created.headers["Location"])
    picking = client.get(created.headers["Location"])
    html = _text(picking)
    assert "elle est en ligne pour deux mois" in html
    assert "CFA des métiers de bouche" in html and "École du pain" in html and "CFA de Paris" not in html
    assert html.index("CFA des métiers de bouche") < html.index("École du pain")  # nearest first
    shared = client.post(created.headers["Location"], data={"cfa_sirets": ["19690000100011"]})
    assert shared.status_code == 302 and shared.headers["Location"].endswith("/espace-pro/tableau-de-bord")
    dashboard = _text(client.get("/espace-pro/tableau-de-bord"))
    assert "Offre partagée avec 1 école." in dashboard and 'data-status="active"' in dashboard
    assert "2 mai 2026" in dashboard
    offer_id = int(re.search(r'id="offre-(\d+)"', dashboard).group(1))
    assert client.post(f"/espace-pro/offres/{offer_id}/annuler", data={"reason": ""}).status_code == 302
    assert "Choisissez un motif" in _text(client.get("/espace-pro/tableau-de-bord"))
    client.post(f"/espace-pro/offres/{offer_id}/annuler", data={"reason": "recrute_ailleurs"})
    dashboard = _text(client.get("/espace-pro/tableau-de-bord"))
    assert 'data-status="cancelled"' in dashboard and "J'ai recruté par un autre moyen" in dashboard
    with get_store(store_url).connect() as conn:
        mails = conn.execute(sa.select(outbox.c.to_address, outbox.c.subject)).all()
    assert [tuple(m) for m in mails] == [("contact@cfa-bouche.test", "Une entreprise recrute dans votre domaine")]


def test_an_e_mailed_link_shows_one_button_then_acts_once(app):
    store_url = app.extensions["test.store_url"]
    client = signed_in_client(app, add_account(store_url))
    client.post("/espace-pro/offres/nouvelle", data=FORM)
    service = app.extensions["lba.recruiter_offers"]
    service.run_lifecycle(NOW.replace(month=5) - timedelta(days=6))
    with get_store(store_url).connect() as conn:
        text = conn.execute(sa.select(outbox.c.text_body)).scalar_one()
    links = re.findall(r"https://lba\.test(/espace-pro/offres/action\?token=\S+)", text)
    assert len(links) == 3
    anonymous = app.test_client()  # the link alone is enough: no session needed
    cancel = links[2]
    page = anonymous.get(cancel)
    assert page.status_code == 200 and "Annuler l'offre" in _text(page) and 'id="confirmer"' in _text(page)
    assert anonymous.get(cancel).status_code == 200  # a mail scanner's GET used nothing
    token = cancel.split("token=")[1]
    csrf = {"csrf_token": csrf_token(page.get_data(as_text=True))}  # the page's form token, as a browser posts it
    assert anonymous.post("/espace-pro/offres/action", data={"token": token, "reason": "autre"}).status_code == 400
    missing = anonymous.post("/espace-pro/offres/action", data={"token": token, **csrf})
    assert missing.status_code == 400 and "Choisissez un motif" in _text(missing)
    done = anonymous.post("/espace-pro/offres/action", data={"token": token, "reason": "plus_besoin", **csrf})
    assert done.status_code == 200 and "annulée" in _text(done)
    again = anonymous.post("/espace-pro/offres/action", data={"token": token, "reason": "plus_besoin", **csrf})
    assert again.status_code == 409 and "déjà été utilisé" in _text(again)
    assert anonymous.get(cancel).status_code == 409
    tampered = anonymous.get(cancel[:-3] + "xyz")
    assert tampered.status_code == 400 and "invalide" in _text(tampered)
    extend = anonymous.post("/espace-pro/offres/action", data={"token": links[0].split("token=")[1], **csrf})
    assert extend.status_code == 409 and "déjà annulée" in _text(extend)  # the offer is closed: nothing to extend
