"""Pages for search engines: every sitemap URL answers, structured data has its type's required properties."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from app.services.seo_pages import SeoCatalogue, masculine_label, slug
from app.web.seo import EXTENSION
from tests.web.conftest import ROME

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
#: schema.org required properties (Google's structured-data requirements for these two types).
REQUIRED = {"JobPosting": ("title", "description", "datePosted", "hiringOrganization", "jobLocation"),
            "Course": ("name", "description", "provider")}



@pytest.fixture
def reduced(web_app, refs):
    """A catalogue of 30 families (K2204, with results, among them) × 4 cities, 50 URLs per sitemap file."""
    catalogue = SeoCatalogue(refs, city_count=4, family_count=30, urls_per_file=50)
    family = next(code for code in refs.rome.parents if code == ROME)
    catalogue.families.setdefault("agent-de-nettoyage-industriel",
                                  SeoCatalogue(refs).families["agent-de-nettoyage-industriel"])
    assert catalogue.families["agent-de-nettoyage-industriel"].code == family
    saved = web_app.extensions.get(EXTENSION)
    web_app.extensions[EXTENSION] = (web_app.extensions["lba.refs"], catalogue)
    yield catalogue
    web_app.extensions[EXTENSION] = saved


def locs(xml: bytes, tag: str) -> list[str]:
    return [urlsplit(el.text).path for el in ET.fromstring(xml).findall(f"s:{tag}/s:loc", NS)]


def structured_data(html: str) -> list[dict]:
    return [json.loads(block) for block in
            re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)]


def test_every_sitemap_url_answers_200_with_title_description_and_canonical(client, reduced):
    index = client.get("/sitemap.xml")
    assert index.status_code == 200 and index.mimetype == "application/xml"
    files = locs(index.data, "sitemap")
    assert len(files) == 3  # 121 pages → files of 50, 50 and 21
    urls = []
    for path in files:
        answer = client.get(path)
        assert answer.status_code == 200
        urls += locs(answer.data, "url")
        assert len(locs(answer.data, "url")) <= 57  # 50 pages (+ home, statistics and 5 guidance pages in the first)
    assert len(urls) == 7 + 31 * 4 and len(set(urls)) == len(urls)
    for path in urls:
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        if path.startswith("/metier/"):
            assert re.search(rf'<link rel="canonical" href="http[^"]+{re.escape(path)}">', html), path
            assert re.search(r"<title>[^<]+ en alternance à [^<]+</title>", html)
            assert re.search(r'<meta name="description" content="[^"]{40,}">', html)


def test_a_page_with_results_carries_valid_job_postings_and_courses(client, web_app, reduced):
    city = next(name for name, c in reduced.cities.items() if c.insee == "75056")
    html = client.get(f"/metier/agent-de-nettoyage-industriel/{city}").get_data(as_text=True)
    data = structured_data(html)
    types = {d["@type"] for d in data}
    assert types == {"JobPosting", "Course"}
    for entry in data:
        assert entry["@context"] == "https://schema.org"
        for name in REQUIRED[entry["@type"]]:
            assert entry.get(name), (entry["@type"], name)
    for entry in data:
        if entry["@type"] == "JobPosting":
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["datePosted"])
            assert entry["hiringOrganization"]["@type"] == "Organization" and entry["hiringOrganization"]["name"]
            assert entry["jobLocation"]["@type"] == "Place"
            assert entry["jobLocation"]["address"]["addressLocality"]
        else:
            assert entry["provider"]["@type"] == "Organization" and entry["provider"]["name"]
    # The real results of the match service, in its order.
    answer = web_app.extensions["lba.match"].match({
        "romes": [ROME], "insee": "75056", "radius": 30.0, "kinds": ["formation", "offer", "company"],
        "sort": "relevance", "page": 1, "page_size": 12, "widen": False})
    assert [d["name" if d["@type"] == "Course" else "title"] for d in data] == \
        [i["title"] for i in answer["items"] if i["kind"] != "company"]
    # The CSP has no inline scripts: JSON-LD is a data block, never executed, so script-src does not apply.
    assert "script-src 'self'" in client.get(f"/metier/agent-de-nettoyage-industriel/{city}") \
        .headers["Content-Security-Policy"]


def test_a_page_without_results_nearby_says_so_and_links_to_the_nearest_city_with_some(client, web_app, reduced):
    # The small demo data has no cleaning job within 30 km of Reims (13th city), some around Aulnay-sous-Bois.
    wider = SeoCatalogue(web_app.extensions["lba.refs"], city_count=13, family_count=0)
    wider.families = reduced.families
    web_app.extensions[EXTENSION] = (web_app.extensions["lba.refs"], wider)
    match = web_app.extensions["lba.match"]
    empty = wider.page(match, "agent-de-nettoyage-industriel", "reims")
    assert not empty.nearby and empty.answer["total"] == 0
    html = client.get("/metier/agent-de-nettoyage-industriel/reims").get_data(as_text=True)
    assert "Aucune formation, offre ou entreprise pour ce métier à moins de 30 km de Reims" in html
    assert empty.nearest is not None
    target = f"/metier/agent-de-nettoyage-industriel/{empty.nearest[1]}"
    assert f'href="{target}"' in html
    assert client.get(target).status_code == 200
    assert wider.page(match, "agent-de-nettoyage-industriel", empty.nearest[1]).nearby


@pytest.mark.parametrize("path", ["/metier/inconnu/paris", "/metier/agent-de-nettoyage-industriel/atlantide",
                                  "/sitemaps/metiers-99.xml"])
def test_unknown_slugs_get_the_french_404(client, reduced, path):
    answer = client.get(path)
    assert answer.status_code == 404
    assert "Page non trouvée" in answer.get_data(as_text=True)


def test_robots_txt_points_at_the_sitemap(client):
    text = client.get("/robots.txt").get_data(as_text=True)
    assert "User-agent: *" in text and "Disallow: /api/" in text
    assert re.search(r"^Sitemap: http\S+/sitemap\.xml$", text, re.M)


def test_full_catalogue_is_families_times_300_cities_in_files_of_at_most_50000(refs):
    catalogue = SeoCatalogue(refs)
    assert len(catalogue.cities) == 300 and len(catalogue.families) == len(refs.rome.parents)
    assert catalogue.cities["lyon"].insee == "69123" and catalogue.families["boulanger"].code == "D1102"
    total = len(catalogue.families) * 300
    assert catalogue.file_count() == -(-total // 50_000)
    assert len(catalogue.file_paths(1)) == 50_000 and catalogue.file_paths(catalogue.file_count() + 1) == []


def test_every_url_of_the_full_sitemap_is_a_page_and_a_sample_of_them_answers_200_with_valid_data(client, web_app):
    """The served catalogue (every family × 300 cities): each listed URL routes to a known page; 150 drawn
    at random are requested, and their structured data has its types' required properties."""
    import random

    web_app.extensions.pop(EXTENSION, None)
    index = client.get("/sitemap.xml")
    files = locs(index.data, "sitemap")
    urls = [url for path in files for url in locs(client.get(path).data, "url")]
    catalogue = web_app.extensions[EXTENSION][1]
    pages = [url for url in urls if url.startswith("/metier/")]
    assert len(pages) == len(catalogue.families) * 300 == len(set(pages)) and len(files) == catalogue.file_count()
    adapter = web_app.url_map.bind("localhost")
    for url in pages:
        endpoint, args = adapter.match(url)
        assert endpoint == "seo.job_in_city" and args["family"] in catalogue.families \
            and args["city"] in catalogue.cities, url
    kinds = set()
    for url in [*random.Random(17).sample(pages, 150), *(u for u in urls if not u.startswith("/metier/"))]:
        answer = client.get(url)
        assert answer.status_code == 200, url
        for entry in structured_data(answer.get_data(as_text=True)):
            kinds.add(entry["@type"])
            assert all(entry.get(name) for name in REQUIRED[entry["@type"]]), (url, entry)
    assert kinds == {"JobPosting", "Course"}


def test_slugs():
    assert slug("Saint-Étienne") == "saint-etienne"
    assert masculine_label("Agent / Agente de nettoyage industriel") == "Agent de nettoyage industriel"
    assert masculine_label("Chef boulanger / Cheffe boulangère") == "Chef boulanger"


def test_chromium_reports_no_csp_violation_for_the_json_ld(chromium, live_server, reduced):
    """JSON-LD is a data block: Chromium neither runs it nor blocks it under `script-src 'self'`."""
    context = chromium.new_context(base_url=live_server)
    context.add_init_script("window.cspViolations = []; document.addEventListener('securitypolicyviolation', "
                            "e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));")
    page = context.new_page()
    city = next(name for name, c in reduced.cities.items() if c.insee == "75056")
    page.goto(f"/metier/agent-de-nettoyage-industriel/{city}")
    blocks = page.eval_on_selector_all('script[type="application/ld+json"]',
                                       "nodes => nodes.map(n => JSON.parse(n.textContent)['@type'])")
    assert set(blocks) == {"JobPosting", "Course"}
    assert page.evaluate("window.cspViolations") == []
    context.close()
