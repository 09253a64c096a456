"""Pages for search engines: /metier/<job>/<city>, the sitemap index and files, robots.txt."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, url_for

from app.extensions import get_refs, get_settings
from app.services.guidance import MODULES
from app.services.public_urls import detail_page
from app.services.seo_pages import SeoCatalogue, course, job_posting, meta_description

bp = Blueprint("seo", __name__, template_folder="templates")
EXTENSION = "lba.seo"


def catalogue() -> SeoCatalogue:
    """The app's catalogue of pages, rebuilt when the referentials are reloaded."""
    refs = get_refs()
    cached = current_app.extensions.get(EXTENSION)
    if cached is None or cached[0] is not refs:
        cached = current_app.extensions[EXTENSION] = (refs, SeoCatalogue(refs))
    return cached[1]


def absolute(path: str) -> str:
    """The public URL of a path of the site."""
    return get_settings().public_base_url.rstrip("/") + path


@bp.get("/metier/<family>/<city>")
def job_in_city(family: str, city: str):
    """One job family's formations, offers and companies around one city, with structured data."""
    page = catalogue().page(current_app.extensions["lba.match"], family, city)
    if page is None:
        abort(404)
    base = get_settings().public_base_url
    structured = [job_posting(item, detail_page(base, "offer", item["id"])) if item["kind"] == "offer"
                  else course(item, detail_page(base, "formation", item["id"]))
                  for item in page.answer["items"] if item["kind"] in ("offer", "formation")]
    return render_template("seo_page.html", page=page, structured=structured, description=meta_description(page),
                           canonical=absolute(url_for("seo.job_in_city", family=family, city=city)))


def _xml(body: str) -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, mimetype="application/xml")


@bp.get("/sitemap.xml")
def sitemap_index():
    """The sitemap index: one file per URLS_PER_FILE pages."""
    files = "".join(f"<sitemap><loc>{absolute(url_for('seo.sitemap_file', number=n))}</loc></sitemap>"
                    for n in range(1, catalogue().file_count() + 1))
    return _xml(f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{files}</sitemapindex>')


@bp.get("/sitemaps/metiers-<int:number>.xml")
def sitemap_file(number: int):
    """One sitemap file of (job, city) pages; the first also lists the home, statistics and guidance pages."""
    paths = catalogue().file_paths(number)
    if not paths:
        abort(404)
    if number == 1:
        paths = [url_for("pages.home"), url_for("statistics.statistics"), url_for("guidance.index"),
                 *(url_for("guidance.module", slug=slug) for slug in MODULES), *paths]
    urls = "".join(f"<url><loc>{absolute(path)}</loc></url>" for path in paths)
    return _xml(f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')


@bp.get("/robots.txt")
def robots():
    """Crawlers may read the public pages, not the forms, the recruiters' space or the API."""
    lines = ["User-agent: *", "Allow: /", "Disallow: /api/", "Disallow: /postuler/", "Disallow: /espace-pro/",
             "Disallow: /widget/", "Disallow: /desinscription", "Disallow: /recherche",
             f"Sitemap: {absolute(url_for('seo.sitemap_index'))}", ""]
    return Response("\n".join(lines), mimetype="text/plain")
