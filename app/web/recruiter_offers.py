"""Recruiters' pages: the dashboard, the offer form, the CFA-picking page and the e-mailed one-click links."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, get_flashed_messages, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from app.clock import get_clock
from app.errors import ApiError
from app.schemas_recruiter import CANCEL_REASONS, CONTRACT_TYPES, DIPLOMA_LEVELS, MAX_QUESTIONS, OfferSchema
from app.services.delegations import Delegations
from app.services.recruiter_offers import RecruiterOffers
from app.web.recruiter_session import current_account

bp = Blueprint("recruiter_offers", __name__, url_prefix="/espace-pro", template_folder="templates")
CONTRACT_LABELS = {"apprentissage": "Apprentissage", "professionnalisation": "Professionnalisation"}
ACTION_LABELS = {"extend": "Prolonger de deux mois", "filled": "Marquer comme pourvue", "cancel": "Annuler l'offre"}
#: Where a visitor without a session is sent: the accounts side's sign-in page, when it is registered.
SIGN_IN_ENDPOINT = "recruiter_accounts.sign_in_page"


def _offers() -> RecruiterOffers:
    return current_app.extensions["lba.recruiter_offers"]


def _delegations() -> Delegations:
    return current_app.extensions["lba.delegations"]


def _signed_in() -> dict[str, Any] | None:
    return current_account()


def _sign_in_page():
    """Redirect to the sign-in page (or say so, with a 401, while no sign-in page is registered)."""
    try:
        return redirect(url_for(SIGN_IN_ENDPOINT, next=request.full_path.rstrip("?")))
    except BuildError:
        return render_template("recruiter/sign_in_required.html"), 401


def form_body(form: MultiDict) -> dict[str, Any]:
    """The offer form's fields as the API's JSON body (what the schema validates)."""
    body: dict[str, Any] = {name: form.get(name, "") for name in (
        "appellation", "appellation_code", "rome", "title", "diploma_level", "rhythm", "description")}
    body["contract_types"] = form.getlist("contract_types")
    body["start_asap"] = form.get("start_asap") == "1"
    body["start_date"] = form.get("start_date") or None
    body["duration_months"] = form.get("duration_months", "")
    body["positions"] = form.get("positions") or 1
    body["questions"] = [q for q in (form.get(f"question_{i}", "") for i in range(1, MAX_QUESTIONS + 1)) if q.strip()]
    body["disability_friendly"] = form.get("disability_friendly") == "1"
    body["cfa_partner_company_id"] = form.get("cfa_partner_company_id") or None
    return body


def resolve_typed_appellation(body: dict[str, Any]) -> None:
    """Without the script, take the ROME and appellation codes of a label typed exactly as the list has it."""
    if body.get("rome") or not body.get("appellation", "").strip():
        return
    from app.metiers import get_metier_resolver

    typed = body["appellation"].strip().casefold()
    for suggestion in get_metier_resolver().suggest(body["appellation"], 5):
        if suggestion.label.casefold() == typed:
            body["rome"], body["appellation_code"] = suggestion.rome, suggestion.appellation_code
            return


def field_errors(messages: dict[str, Any]) -> dict[str, list[str]]:
    """Errors per form field, flat: list items' messages joined, the ROME code's shown on the job field."""
    errors: dict[str, list[str]] = {}
    for name, value in messages.items():
        flat: list[str] = []
        if isinstance(value, dict):
            for key, nested in sorted(value.items(), key=lambda kv: str(kv[0])):
                items = nested if isinstance(nested, list) else [nested]
                flat.extend(f"Question {int(key) + 1} : {m}" if str(key).isdigit() else str(m) for m in items)
        else:
            flat.extend(str(m) for m in (value if isinstance(value, list) else [value]))
        target = "appellation" if name in ("rome", "appellation_code") else name
        for message in flat:
            if message not in errors.setdefault(target, []):
                errors[target].append(message)
    return errors


def _partners(account: dict[str, Any]) -> list[tuple[str, str]]:
    if account["kind"] != "cfa":
        return []
    rows = current_app.extensions["lba.accounts"].partner_companies(account)
    return [(str(row["id"]), f"{row['company_name']} ({row['city']})") for row in rows]


def _form_page(account: dict[str, Any], values: Any, errors: dict[str, list[str]], status: int = 200):
    return render_template("recruiter/offer_form.html", account=account, values=values, errors=errors,
                           contracts=[(c, CONTRACT_LABELS[c]) for c in CONTRACT_TYPES],
                           levels=[(k, label) for k, (label, _) in DIPLOMA_LEVELS.items()],
                           partners=_partners(account), max_questions=MAX_QUESTIONS,
                           today=get_clock().today().isoformat()), status


@bp.get("/tableau-de-bord")
def dashboard():
    """The account's offers: status, why they left search, applications, one-click actions."""
    account = _signed_in()
    if account is None:
        return _sign_in_page()
    return render_template("recruiter/dashboard.html", account=account, offers=_offers().list_offers(account),
                           reasons=list(CANCEL_REASONS.items()), notices=get_flashed_messages())


@bp.route("/offres/nouvelle", methods=["GET", "POST"])
def new_offer():
    """The offer form; on an error it comes back with every typed value and a message per field."""
    account = _signed_in()
    if account is None:
        return _sign_in_page()
    if request.method == "GET":
        return _form_page(account, {"positions": "1", "diploma_level": "indifferent"}, {})
    body = form_body(request.form)
    resolve_typed_appellation(body)
    try:
        data = OfferSchema(today=get_clock().today()).load(body)
        offer = _offers().create(account, data)
    except ValidationError as exc:
        return _form_page(account, request.form, field_errors(exc.normalized_messages()), 400)
    except ApiError as error:
        if error.status != 400:
            raise
        return _form_page(account, request.form, field_errors(error.details or {}), 400)
    flash(f"Offre « {offer['title']} » enregistrée : "
          + ("elle est en ligne pour deux mois." if offer["status"] == "active"
             else "elle sera en ligne dès la validation de votre compte."))
    return redirect(url_for("recruiter_offers.cfas", offer_id=offer["id"]))


@bp.route("/offres/<int:offer_id>/ecoles", methods=["GET", "POST"])
def cfas(offer_id: int):
    """After creation: the CFAs within 100 km that train for the job; those picked are e-mailed once validated."""
    account = _signed_in()
    if account is None:
        return _sign_in_page()
    if request.method == "POST":
        chosen = request.form.getlist("cfa_sirets")
        try:
            _delegations().choose(account, offer_id, chosen)
        except ApiError as error:
            if error.status != 400:
                raise
            proposals = _delegations().proposals(account, offer_id)
            return render_template("recruiter/cfas.html", proposals=proposals, errors=error.details or {},
                                   notices=[]), 400
        if chosen:
            flash(f"Offre partagée avec {len(chosen)} école{'s' if len(chosen) > 1 else ''}"
                  + (" : elles recevront un e-mail dès la validation de votre compte."
                     if account["status"] != "validated" else "."))
        return redirect(url_for("recruiter_offers.dashboard"))
    return render_template("recruiter/cfas.html", proposals=_delegations().proposals(account, offer_id), errors={},
                           notices=get_flashed_messages())


@bp.post("/offres/<int:offer_id>/<any(prolonger, pourvue, annuler):verb>")
def dashboard_action(offer_id: int, verb: str):
    """One click on the dashboard: extend, mark filled, or cancel with the reason picked beside the button."""
    account = _signed_in()
    if account is None:
        return _sign_in_page()
    action = {"prolonger": "extend", "pourvue": "filled", "annuler": "cancel"}[verb]
    reason = request.form.get("reason", "")
    if action == "cancel" and reason not in CANCEL_REASONS:
        flash("Choisissez un motif pour annuler l'offre.")
        return redirect(url_for("recruiter_offers.dashboard"))
    try:
        offer = _offers().act(account, offer_id, action, reason)
    except ApiError as error:
        if error.status == 404:
            raise
        flash(error.message)
        return redirect(url_for("recruiter_offers.dashboard"))
    flash({"extend": f"Offre « {offer['title']} » prolongée jusqu'au {offer['expires_at'][:10]}.",
           "filled": f"Offre « {offer['title']} » marquée comme pourvue.",
           "cancel": f"Offre « {offer['title']} » annulée."}[action])
    return redirect(url_for("recruiter_offers.dashboard"))


@bp.route("/offres/action", methods=["GET", "POST"])
def link_action():
    """An e-mailed link: GET shows one button and changes nothing (mail scanners open links); POST acts, once."""
    token = request.values.get("token", "")
    try:
        if request.method == "GET":
            context = _offers().link_context(token)
            return render_template("recruiter/link_confirm.html", token=token, label=ACTION_LABELS[context["action"]],
                                   reasons=list(CANCEL_REASONS.items()), **context)
        done = _offers().act_by_link(token, request.form.get("reason", ""))
        return render_template("recruiter/link_done.html", **done)
    except ApiError as error:
        if error.code == "invalid_parameters":  # a cancel without its reason: the same page, the link unused
            context = _offers().link_context(token)
            return render_template("recruiter/link_confirm.html", token=token, label=ACTION_LABELS[context["action"]],
                                   reasons=list(CANCEL_REASONS.items()), reason_error=True, **context), 400
        return render_template("recruiter/link_error.html", message=error.message), error.status
