"""Guidance pages: /conseils and one page per module, written by the team in French."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from app.services.guidance import MODULES, pay_table

bp = Blueprint("guidance", __name__, template_folder="templates")


@bp.get("/conseils")
def index():
    """Every guidance module."""
    return render_template("conseils/index.html", modules=list(MODULES.values()))


@bp.get("/conseils/<slug>")
def module(slug: str):
    """One guidance module; the contract page shows the pay table from its data file."""
    found = MODULES.get(slug)
    if found is None:
        abort(404)
    return render_template(f"conseils/{slug}.html", module=found, modules=list(MODULES.values()),
                           pay=pay_table() if slug == "contrat-d-apprentissage" else None)
