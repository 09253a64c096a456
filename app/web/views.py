"""The site's pages: search, results, details, application and callback forms, opt-out, legal pages."""
from __future__ import annotations

import re
from datetime import date
from functools import partial
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError

from app.extensions import get_engine, get_refs, get_settings
from app.services.details import Gone, NotFound, get_item
from app.web import actions, uploads
from app.web.forms import (
    ApplicationFormSchema,
    CallbackFormSchema,
    OptOutFormSchema,
    SearchFormSchema,
    UploadedCv,
    check_cv,
)
from app.web.results import PAGE_SIZE, SearchRefused, run_search
from app.web.templating import register_template_helpers, result_rank

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")
register_template_helpers(bp)
_search = SearchFormSchema()
_application = ApplicationFormSchema()
_callback = CallbackFormSchema()
_opt_out = OptOutFormSchema()
#: The detail pages: kind (their endpoint and template name) → URL rule, the same on the site and under /widget.
DETAIL_RULES = {"formation": "/formations/<path:doc_id>", "offer": "/offres/<path:doc_id>",
                "company": "/entreprises/<doc_id>"}


def load_item(kind: str, doc_id: str) -> dict[str, Any]:
    """The public item, a French 404 when absent, the "no longer available" page (410) for a closed offer."""
    if kind == "company" and not re.fullmatch(r"\d{14}", doc_id):
        abort(404)
    try:
        return get_item(get_engine(), kind, doc_id, date.today())
    except NotFound:
        abort(404)
    except Gone as exc:
        abort(410, description=exc.item.get("title", ""))


def detail_page(kind: str, doc_id: str, widget: bool) -> str:
    """The page of one formation (with the callback request when its centre takes them), offer (how to apply) or
    company (the spontaneous application), on the site or inside the widget."""
    return render_template(f"{kind}.html", item=load_item(kind, doc_id), widget=widget)


def add_detail_pages(blueprint: Blueprint, widget: bool) -> None:
    """Route the detail URLs of `blueprint` (the site's or the widget's) to `detail_page`, one endpoint a kind."""
    for kind, rule in DETAIL_RULES.items():
        blueprint.add_url_rule(rule, kind, partial(detail_page, kind, widget=widget), methods=["GET"])


def search_page(template: str, args: Any = None, widget: bool = False, **context: Any):
    """Validate the search in the query string, run it, render results (or the form with its errors)."""
    args = request.args if args is None else args
    context.update(widget=widget, values=args)
    try:
        form = _search.load_form(args)
        page = run_search(current_app.extensions["lba.match"], current_app.extensions["lba.communes"], form)
    except ValidationError as exc:
        return render_template(template, errors=exc.normalized_messages(), page=None, **context), 400
    except SearchRefused as exc:
        return render_template(template, errors=exc.errors, page=None, **context), 400
    first = (page.form["page"] - 1) * PAGE_SIZE + 1
    current_app.extensions["lba.usage"].record_search("widget" if widget else "site", page.answer["items"], first,
                                                      new_search=page.form["page"] == 1)
    return render_template(template, errors={}, page=page, **context)


@bp.get("/")
def home():
    """The search form: job, place (or around me), radius, optional diploma level."""
    return render_template("home.html", errors={}, values=request.args)


@bp.get("/recherche")
def results():
    """One ranked list of formations, offers and companies, with filters, pagination and a map."""
    return search_page("results.html")


add_detail_pages(bp, widget=False)


def _apply(kind: str, doc_id: str):
    item = load_item(kind, doc_id)
    if kind == "offer" and not (item.get("apply") or {}).get("has_email"):
        abort(404)  # offers without an e-mail are applied to on their source's site (link on the detail page)
    if kind == "company" and not (item.get("contact") or {}).get("has_email"):
        abort(404)
    if request.method == "GET":
        return render_template("apply.html", item=item, errors={}, values={}, cv=None)
    errors: dict[str, list[str]] = {}
    try:
        data = _application.load_form(request.form)
    except ValidationError as exc:
        errors.update(exc.normalized_messages())
    cv, token, cv_errors = _submitted_cv()
    if cv_errors:
        errors["cv"] = cv_errors
    if not errors:
        assert cv is not None  # _submitted_cv gives a CV or its errors
        try:
            receipt = actions.send_application(kind, item, data, cv, caller=request.args.get("caller"))
        except actions.ActionRefused as exc:
            errors = exc.errors
        except actions.ActionUnavailable:
            errors = {"form": ["L'envoi des candidatures est momentanément indisponible : réessayez plus tard, ce "
                               "que vous avez saisi est conservé."]}
        else:
            uploads.discard(token or "")
            _count_from_result("application", kind)
            return redirect(url_for("pages.application_sent", kind=kind, doc_id=doc_id, ref=receipt.reference))
    if cv is not None and token is None:
        token = uploads.keep(cv)  # so the corrected form need not choose the file again
    return render_template("apply.html", item=item, errors=errors, values=request.form,
                           cv={"name": cv.filename, "token": token} if cv else None), 400


def _count_from_result(event: str, kind: str) -> None:
    """Count an application or callback at the rank of the result it came from (0: not from a result page)."""
    surface = "widget" if request.args.get("depuis") == "widget" else "site"
    current_app.extensions["lba.usage"].record(event, surface, kind, result_rank() or 0)


def _submitted_cv() -> tuple[UploadedCv | None, str | None, list[str]]:
    """This try's CV: a new upload, else the one kept from an earlier try; its token; its errors."""
    upload = request.files.get("cv")
    if upload is None or not upload.filename:
        token = request.form.get("cv_token", "")
        kept = uploads.load(token)
        if kept is not None:
            return kept, token, []
    try:
        return check_cv(upload), None, []
    except ValidationError as exc:
        return None, None, list(exc.messages)


@bp.route("/postuler/offres/<path:doc_id>", methods=["GET", "POST"])
def apply_offer(doc_id: str):
    """The application form of an offer (with the CV)."""
    return _apply("offer", doc_id)


@bp.route("/postuler/entreprises/<doc_id>", methods=["GET", "POST"])
def apply_company(doc_id: str):
    """The spontaneous application form of a company (with the CV)."""
    return _apply("company", doc_id)


@bp.get("/postuler/envoyee/<kind>/<path:doc_id>")
def application_sent(kind: str, doc_id: str):
    """Confirmation of an application."""
    if kind not in ("offer", "company"):
        abort(404)
    return render_template("apply_done.html", item=load_item(kind, doc_id), reference=request.args.get("ref", ""))


@bp.route("/formations/<path:formation_id>/rappel", methods=["GET", "POST"])
def callback(formation_id: str):
    """Ask the training centre to call back (RDV Apprentissage)."""
    item = load_item("formation", formation_id)
    if not item.get("callback_eligible"):
        abort(404)
    if request.method == "GET":
        return render_template("callback.html", item=item, errors={}, values={})
    try:
        data = _callback.load_form(request.form)
        receipt = actions.request_callback(item, data, caller=request.args.get("caller"))
    except ValidationError as exc:
        errors = exc.normalized_messages()
    except actions.ActionRefused as exc:
        errors = exc.errors
    except actions.ActionUnavailable:
        errors = {"form": ["Les demandes de rappel sont momentanément indisponibles : réessayez plus tard, ce "
                           "que vous avez saisi est conservé."]}
    else:
        _count_from_result("callback", "formation")
        return redirect(url_for("pages.callback_sent", formation_id=formation_id, ref=receipt.reference))
    return render_template("callback.html", item=item, errors=errors, values=request.form), 400


@bp.get("/formations/<path:formation_id>/rappel/envoye")
def callback_sent(formation_id: str):
    """Confirmation of a callback request."""
    return render_template("callback_done.html", item=load_item("formation", formation_id),
                           reference=request.args.get("ref", ""))


@bp.route("/desinscription", methods=["GET", "POST"])
def opt_out():
    """A company asks to stop receiving spontaneous applications."""
    if request.method == "GET":
        return render_template("optout.html", errors={}, values=request.args)
    try:
        receipt = actions.opt_out_company(_opt_out.load_form(request.form))
    except ValidationError as exc:
        errors = exc.normalized_messages()
    except actions.ActionRefused as exc:
        errors = exc.errors
    except actions.ActionUnavailable:
        errors = {"form": ["Le désabonnement est momentanément indisponible : réessayez plus tard."]}
    else:
        return redirect(url_for("pages.opt_out_sent", ref=receipt.reference))
    return render_template("optout.html", errors=errors, values=request.form), 400


@bp.get("/desinscription/envoyee")
def opt_out_sent():
    """Confirmation of an opt-out request."""
    return render_template("optout_done.html", reference=request.args.get("ref", ""))


@bp.get("/accessibilite")
def accessibility():
    """The accessibility statement."""
    return render_template("accessibility.html")


@bp.get("/mentions-legales")
def legal():
    """The legal notice."""
    return render_template("legal.html", settings=get_settings(), refs=get_refs())
