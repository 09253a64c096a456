"""Links to the public site's pages, built on the configured LBA_PUBLIC_BASE_URL, never on a request's Host."""
from __future__ import annotations

from urllib.parse import quote

#: Path of each kind's detail page on the public site (the page a candidate applies from), by item kind.
DETAIL_PATHS = {"offer": "/offres/{id}", "company": "/entreprises/{id}", "formation": "/formations/{id}"}


def _join(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}{path}"


def offer_page(base_url: str, offer_id: str) -> str:
    """The offer's page with its application form: `<base>/offres/<id>`."""
    return _join(base_url, DETAIL_PATHS["offer"].format(id=quote(str(offer_id), safe="")))


def company_page(base_url: str, siret: str) -> str:
    """The company's page with its spontaneous-application form: `<base>/entreprises/<siret>`."""
    return _join(base_url, DETAIL_PATHS["company"].format(id=quote(str(siret), safe="")))


def formation_page(base_url: str, formation_id: str) -> str:
    """The formation's page: `<base>/formations/<id>`."""
    return _join(base_url, DETAIL_PATHS["formation"].format(id=quote(str(formation_id), safe="")))


def detail_page(base_url: str, kind: str, item_id: str) -> str:
    """The public page of an item of `kind` (offer, company or formation)."""
    builders = {"offer": offer_page, "company": company_page, "formation": formation_page}
    try:
        return builders[kind](base_url, item_id)
    except KeyError:
        raise ValueError(f"no public page for kind {kind!r}") from None
