"""The partner widget: the same search in an iframe layout, detail pages inside it, and the tester page."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from app.web.forms import KINDS, RADII
from app.web.views import add_detail_pages, search_page

bp = Blueprint("widget", __name__, url_prefix="/widget")
#: `scope` of the public service's widget → the kinds of results shown.
SCOPES = {"all": tuple(KINDS), "training": ("formations",), "job": ("offers", "companies")}
TESTER_DEFAULTS = {"romes": "K2204", "latitude": "48.8566", "longitude": "2.3522", "radius": "30", "scope": "all",
                   "caller": "test-widget"}


def widget_args() -> MultiDict:
    """The widget's query string as the search form reads it: scope → kinds, a point → "around here"."""
    args = MultiDict(request.args)
    scope = str(args.get("scope")) if args.get("scope") in SCOPES else "all"
    if not args.getlist("kinds"):
        args.setlist("kinds", list(SCOPES[scope]))
    else:
        args.setlist("kinds", [k for k in args.getlist("kinds") if k in SCOPES[scope]] or list(SCOPES[scope]))
    if args.get("latitude") and args.get("longitude") and not args.get("lieu"):
        args["lieu"] = "Autour du lieu indiqué"
    if args.get("radius") and args["radius"] not in {str(r) for r in RADII}:
        args["radius"] = "30"
    return args


@bp.get("")
@bp.get("/")
def search():
    """Results for `romes` around `latitude`/`longitude` within `radius`, limited by `scope`, for `caller`."""
    args = widget_args()
    kinds = SCOPES.get(args.get("scope", "all"), SCOPES["all"])
    if not args.get("caller"):
        text = "Le site qui affiche ce widget doit indiquer son nom dans le paramètre « caller »."
        return render_template("widget/error.html", title="Paramètre manquant", text=text), 400
    if not (args.get("romes") or args.get("metier")):
        return render_template("widget/results.html", errors={}, values=args, page=None, widget=True,
                               allowed_kinds=kinds)
    return search_page("widget/results.html", args, widget=True, allowed_kinds=kinds)


# The detail pages, inside the widget (applying or asking a callback opens the site in a new tab).
add_detail_pages(bp, widget=True)


@bp.get("/test")
def tester():
    """The tester page: choose the parameters, copy the embed code, see the widget live."""
    params = {**TESTER_DEFAULTS, **{k: v for k, v in request.args.items() if k in TESTER_DEFAULTS and v}}
    src = url_for("widget.search", _external=True) + "?" + urlencode(params)
    code = (f'<iframe src="{src}" title="Recherche d\'alternance - La bonne alternance" width="100%" '
            f'height="800" style="border: 0" loading="lazy"></iframe>')
    return render_template("widget/tester.html", params=params, widget_url=src, embed_code=code)
