"""Helpers every page template uses: asset URLs, labels, distances, dates, search and detail URLs."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, request, url_for
from flask.sansio.blueprints import BlueprintSetupState

from app.web.assets import page_files
from app.web.forms import APPLICANT_TYPES, CALLBACK_REASONS, CONTRACTS, DIPLOMAS, KINDS, OPT_OUT_REASONS, RADII, SORTS
from app.web.results import distance_label, query_string

#: What each kind of result is called, and the DSFR badge that tells them apart at a glance.
KIND_LABELS = {"formation": "Formation", "offer": "Offre d'emploi", "company": "Candidature spontanée"}
KIND_BADGES = {"formation": "fr-badge--purple-glycine", "offer": "fr-badge--success", "company": "fr-badge--warning"}
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")


def asset_url(name: str) -> str:
    """URL of a static file with its content hash, so browsers may cache it for a year (computed once)."""
    assets = current_app.extensions["lba.web.assets"]
    url = assets.urls.get(name)
    if url is None:
        url = assets.urls[name] = url_for("pages.static", filename=name, v=assets.version(name) or None)
    return url


def detail_url(item: dict[str, Any], widget: bool = False, caller: str | None = None,
               position: int | None = None) -> str:
    """The page of one result: /formations/<id>, /offres/<id>, /entreprises/<siret> (under /widget in the widget).

    `position`, the result's rank on its results page, rides along as `rang` so an application or callback
    made from the detail page is counted at that rank (app/services/usage.py).
    """
    if widget:  # the endpoints are named after the kinds (app.web.views.DETAIL_RULES)
        return url_for(f"widget.{item['kind']}", doc_id=item["id"], caller=caller or None, rang=position or None)
    return url_for(f"pages.{item['kind']}", doc_id=item["id"], rang=position or None)


def result_rank() -> int | None:
    """The `rang` of this request (the result's rank it came from), when it is a sensible one."""
    value = request.args.get("rang", "")
    return int(value) if value.isdigit() and 0 < int(value) <= 1000 else None


def result_origin(widget: bool = False) -> dict[str, Any]:
    """Query arguments an application or callback link carries: the result's rank, and `depuis=widget`."""
    out: dict[str, Any] = {}
    if result_rank():
        out["rang"] = result_rank()
    if widget:
        out["depuis"] = "widget"
    return out


def french_date(value: Any) -> str:
    """"2026-09-01" → "1er septembre 2026"; empty for anything unreadable."""
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return ""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS[day.month - 1]} {day.year}"


def register_template_helpers(bp: Blueprint) -> None:
    """Make the helpers Jinja globals of the app, so imported macros (the result card) see them too."""

    def install(state: BlueprintSetupState) -> None:
        settings = state.app.extensions["lba.settings"]
        state.app.jinja_env.globals.update({
            "asset_url": asset_url, "page_files": page_files, "detail_url": detail_url, "result_origin": result_origin,
            "query_string": query_string, "KIND_LABELS": KIND_LABELS, "KIND_BADGES": KIND_BADGES,
            "DIPLOMAS": DIPLOMAS, "CONTRACTS": CONTRACTS, "KINDS": KINDS, "RADII": RADII, "SORTS": SORTS,
            "APPLICANT_TYPES": APPLICANT_TYPES, "CALLBACK_REASONS": CALLBACK_REASONS,
            "OPT_OUT_REASONS": OPT_OUT_REASONS,
            "map_tile_url": settings.map_tile_url, "map_attribution": settings.map_attribution,
        })
        state.app.jinja_env.filters.update({"distance": distance_label, "french_date": french_date})

    bp.record(install)
