"""Pages through HTTP: server-side results, shareable URLs, form errors, French error pages, headers, budgets."""
from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from app.web.assets import STATIC, page_files
from tests.forms import form_token
from tests.web.conftest import INSEE, PDF, ROME

SEARCH = f"/recherche?metier=agent+de+nettoyage&romes={ROME}&lieu=Paris&insee={INSEE}&radius=60"
BUDGET_BYTES = 300 * 1024


class Assets(HTMLParser):
    """The stylesheets and scripts a page references."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.files.append(attrs["href"])
        elif tag == "script" and attrs.get("src"):
            self.files.append(attrs["src"])


def referenced(html: str) -> list[str]:
    parser = Assets()
    parser.feed(html)
    return [re.sub(r"^/assets/|\?.*$", "", href) for href in parser.files]


def titles(html: str) -> list[str]:
    return re.findall(r'<h3 class="fr-card__title">\s*<a href="([^"]+)"', html)


def test_results_are_rendered_by_the_server_and_the_url_is_the_search(client):
    first = client.get(SEARCH)
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    links = titles(html)
    assert len(links) == 20
    assert all(re.match(r"^/(formations|offres|entreprises)/", link) for link in links)
    assert html.count('class="fr-card__detail fr-icon-map-pin-2-line lba-distance"') == 20
    # The same URL gives the same page: the whole search lives in the query string.
    assert titles(client.get(SEARCH).get_data(as_text=True)) == links
    assert re.search(r'class="fr-pagination__link" href="/recherche\?[^"]*romes=K2204[^"]*page=2"', html)


def test_results_match_the_match_service(client, web_app):
    """The page shows the match service's ranked order, page after page."""
    answer = web_app.extensions["lba.match"].match({
        "romes": [ROME], "insee": INSEE, "radius": 60.0, "kinds": ["formation", "offer", "company"], "page": 2,
        "page_size": 20, "sort": "relevance"})
    html = client.get(SEARCH + "&page=2").get_data(as_text=True)
    # Each link carries its rank in the whole list (`rang`, for the usage counters): 21..40 on page 2.
    ids = [link.split("/", 2)[2].split("?rang=")[0] for link in titles(html)]
    assert [link.split("?rang=")[1] for link in titles(html)] == [str(n) for n in range(21, 41)]
    assert ids == [quote(item["id"], safe="") if item["kind"] == "formation" else item["id"]
                   for item in answer["items"]]


def test_kind_filter_keeps_counts_of_every_kind(client):
    html = client.get(SEARCH + "&kinds=companies").get_data(as_text=True)
    links = titles(html)
    assert links and all(link.startswith("/entreprises/") for link in links)
    counts = dict(re.findall(r'data-kind="(\w+)">\((\d+)\)', html))
    assert set(counts) == {"formations", "offers", "companies"} and all(int(v) > 0 for v in counts.values())


def test_free_text_job_and_typed_place_work_without_javascript(client):
    response = client.get("/recherche?metier=nettoyage&lieu=Paris&radius=60")
    assert response.status_code == 200
    assert len(titles(response.get_data(as_text=True))) == 20


def test_search_errors_are_shown_beside_their_fields_and_values_kept(client):
    response = client.get("/recherche?metier=&lieu=Zzyzxvillebourg&radius=45")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(r'id="metier-messages"[^>]*>\s*<p class="fr-message fr-message--error">Indiquez un métier', html)
    assert re.search(r'id="radius-messages"[^>]*>\s*<p class="fr-message fr-message--error">Choisissez un rayon', html)
    assert 'aria-invalid="true"' in html


def test_unknown_place_is_an_error_on_the_place_field(client):
    response = client.get(f"/recherche?metier=x&romes={ROME}&lieu=Zzyzxvillebourg")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(r'id="lieu-messages"[^>]*>\s*<p class="fr-message fr-message--error">Aucune commune', html)
    assert 'value="Zzyzxvillebourg"' in html


@pytest.mark.parametrize("path", ["/page-inconnue", "/offres/france_travail-INCONNUE", "/entreprises/123",
                                  "/formations/inconnue"])
def test_people_get_a_french_404_page(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page non trouvée" in response.get_data(as_text=True)


def test_the_api_keeps_its_json_errors(client):
    response = client.get("/api/v1/inconnu")
    assert response.status_code == 404 and response.is_json
    assert response.get_json()["error"]["code"] == "not_found"


def test_an_unexpected_error_gives_the_french_500_page(web_settings):
    from app.factory import create_app

    app = create_app(web_settings)

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    @app.get("/api/boom")
    def api_boom():
        raise RuntimeError("boom")

    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "Erreur inattendue" in page.get_data(as_text=True) and "boom" not in page.get_data(as_text=True)
    api = client.get("/api/boom")
    assert api.status_code == 500 and api.get_json()["error"]["code"] == "internal_error"


def test_pages_have_a_strict_policy_and_only_the_widget_may_be_framed(client, web_settings):
    page = client.get("/")
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "unsafe-inline" not in policy and "script-src 'self'" in policy
    assert "img-src 'self' data: http://127.0.0.1:9" in policy  # the configured tile server
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    widget = client.get(f"/widget?romes={ROME}&latitude=48.85&longitude=2.35&caller=t")
    assert widget.status_code == 200
    assert f"frame-ancestors {web_settings.frame_ancestors}" in widget.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in widget.headers
    assert "Content-Security-Policy" not in client.get("/api/v1/communes?q=lyon").headers


def test_frame_ancestors_come_from_the_configuration():
    from app.web.security import content_security_policy, tile_source

    policy = content_security_policy("https://partenaire.example https://*.onisep.fr",
                                     "https://{s}.tile.example/{z}/{x}/{y}.png")
    assert "frame-ancestors https://partenaire.example https://*.onisep.fr" in policy
    assert tile_source("https://{s}.tile.example/{z}/{x}/{y}.png") == "https://*.tile.example"


def test_widget_needs_a_caller_and_follows_its_scope(client):
    assert client.get(f"/widget?romes={ROME}&latitude=48.85&longitude=2.35").status_code == 400
    html = client.get(f"/widget?romes={ROME}&latitude=48.85&longitude=2.35&radius=60&scope=training&caller=t")\
        .get_data(as_text=True)
    links = titles(html)
    assert links and all(link.startswith("/widget/formations/") and "caller=t" in link for link in links)
    assert 'id="kinds-offers"' not in html


@pytest.mark.parametrize("path,with_map", [("/", False), (SEARCH, True)])
def test_css_and_js_sent_stay_under_300_kb_compressed(client, path, with_map):
    html = client.get(path).get_data(as_text=True)
    files = referenced(html)
    css, js = page_files(with_map)
    assert sorted(files) == sorted(css + js)  # the budget below counts exactly what the page loads
    sizes = {name: len(gzip.compress((STATIC / name).read_bytes(), 9)) for name in files}
    assert sum(sizes.values()) <= BUDGET_BYTES, sizes


def test_every_input_has_a_label(client, demo_targets):
    for path in ("/", SEARCH, f"/postuler/entreprises/{demo_targets['company']}",
                 f"/formations/{quote(demo_targets['formation'])}/rappel", "/desinscription", "/widget/test"):
        html = client.get(path).get_data(as_text=True)
        ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"', html)
        assert ids, path
        for ident in ids:
            assert f'for="{ident}"' in html, (path, ident)


def test_application_form_checks_the_cv_and_keeps_it(client, demo_targets, web_settings):
    url = f"/postuler/entreprises/{demo_targets['company']}"
    fields = {"first_name": "Inès", "last_name": "Martin", "email": "ines.martin@example.org",
              "phone": "0612345678", "message": "Bonjour", "csrf_token": form_token(client, url)}
    from io import BytesIO

    fake = client.post(url, data={**fields, "cv": (BytesIO(b"not a pdf"), "cv.pdf")},
                       content_type="multipart/form-data")
    assert fake.status_code == 400
    assert "ne correspond pas à un PDF" in fake.get_data(as_text=True)
    exe = client.post(url, data={**fields, "cv": (BytesIO(b"MZ\x90\x00"), "cv.exe")},
                       content_type="multipart/form-data")
    assert "PDF ou Word" in exe.get_data(as_text=True)
    # A good CV with another error is kept under a token; the next try sends it without a new upload.
    kept = client.post(url, data={**fields, "email": "faux", "cv": (BytesIO(PDF), "cv.pdf")},
                       content_type="multipart/form-data")
    token = re.search(r'name="cv_token" value="([^"]+)"', kept.get_data(as_text=True)).group(1)
    again = client.post(url, data={**fields, "cv_token": token}, content_type="multipart/form-data")
    html = again.get_data(as_text=True)
    assert "Joignez votre CV" not in html
    assert again.status_code == 302  # stored by the applications service, then the confirmation page


def test_legal_pages_and_opt_out_form(client):
    assert "Déclaration d'accessibilité" in client.get("/accessibilite").get_data(as_text=True)
    assert "Mentions légales" in client.get("/mentions-legales").get_data(as_text=True)
    bad = client.post("/desinscription", data={"siret": "123", "email": "x",
                                               "csrf_token": form_token(client, "/desinscription")})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    for message in ("Le SIRET compte 14 chiffres", "Adresse e-mail invalide", "Choisissez une raison"):
        assert message in html
    assert 'value="123"' in html


def _offer_copy(web_app, new_id: str, **changes) -> dict:
    """An offer of the demo index copied under a new id, far from every tested search (Cayenne)."""
    engine = web_app.extensions["lba.engine"]
    answer = web_app.extensions["lba.match"].match({
        "romes": [ROME], "insee": INSEE, "radius": 60.0, "kinds": ["offer"], "page": 1, "page_size": 1,
        "sort": "relevance"})
    doc = dict(engine.get_many("offer", [answer["items"][0]["id"]])[answer["items"][0]["id"]])
    doc.update(id=new_id, place={**doc["place"], "latitude": 4.9224, "longitude": -52.3135}, **changes)
    engine.upsert("offer", [doc])
    return doc


def test_a_closed_offer_gives_a_french_410_page(client, web_app):
    _offer_copy(web_app, "deposited-web-expired", expires_at="2020-01-31", status="active")
    response = client.get("/offres/deposited-web-expired")
    assert response.status_code == 410 and response.mimetype == "text/html"
    assert "Contenu plus disponible" in response.get_data(as_text=True)


def test_an_offer_taking_e_mails_has_an_application_form(client, web_app):
    _offer_copy(web_app, "deposited-web-open", apply={"url": "", "phone": "", "has_email": True},
                private={"email": "rh@example.org"})
    detail = client.get("/offres/deposited-web-open").get_data(as_text=True)
    assert 'href="/postuler/offres/deposited-web-open"' in detail
    form = client.get("/postuler/offres/deposited-web-open")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.get_data(as_text=True)
    # An offer applied to on its source's site has no form here.
    assert client.get(f"/postuler/offres/{_first_france_travail_offer(web_app)}").status_code == 404


def _first_france_travail_offer(web_app) -> str:
    answer = web_app.extensions["lba.match"].match({
        "romes": [ROME], "insee": INSEE, "radius": 60.0, "kinds": ["offer"], "page": 1, "page_size": 20,
        "sort": "relevance"})
    return next(i["id"] for i in answer["items"] if not i["apply"]["has_email"])
