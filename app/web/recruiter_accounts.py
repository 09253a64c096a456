"""Recruiter account pages: sign-in by magic link, sign-up by SIRET (company or CFA), pending accounts, sign-out."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError

from app.services.company_search import CompanySearchError
from app.services.recruiter_accounts import DASHBOARD_PATH, AccountError, AccountService, LinkError, NotAllowed, SignUp
from app.services.siret import SiretError
from app.web.account_forms import (
    LoginFormSchema,
    PartnerCompanyFormSchema,
    RefusalFormSchema,
    SignUpFormSchema,
    SiretFormSchema,
)
from app.web.recruiter_session import current_account, sign_in, sign_out

bp = Blueprint("recruiter_accounts", __name__, url_prefix="/espace-pro")
_login, _siret, _sign_up, _refusal = LoginFormSchema(), SiretFormSchema(), SignUpFormSchema(), RefusalFormSchema()
_partner = PartnerCompanyFormSchema()
#: URL slug → account kind and the page's wording.
KINDS = {"entreprise": "une entreprise", "cfa": "un organisme de formation (CFA)"}
PENDING_PATH = "/espace-pro/comptes-en-attente"
NOT_A_CFA = "Seul un compte CFA gère des entreprises partenaires : cette page n'est pas ouverte à votre compte."


def accounts() -> AccountService:
    """The app's account service."""
    return current_app.extensions["lba.accounts"]


def home_of(account: dict[str, Any]) -> str:
    """Where an account lands after signing in: validators on the pending list, recruiters on their dashboard."""
    return PENDING_PATH if account["kind"] in ("admin", "opco") else DASHBOARD_PATH


@bp.route("/connexion", methods=["GET", "POST"])
def sign_in_page():
    """The e-mail address to send a magic link to; the answer is the same whether an account exists or not."""
    if request.method == "GET":
        return render_template("espace_pro/connexion.html", errors={}, values=request.args)
    try:
        data = _login.load_form(request.form)
    except ValidationError as exc:
        return render_template("espace_pro/connexion.html", errors=exc.normalized_messages(),
                               values=request.form), 400
    accounts().request_login(data["email"])
    return redirect(url_for("recruiter_accounts.link_sent"))


@bp.get("/connexion/envoye")
def link_sent():
    """"A link was sent" (without naming the address, so the page reveals no account)."""
    return render_template("espace_pro/lien_envoye.html")


@bp.route("/connexion/lien", methods=["GET", "POST"])
def magic_link():
    """GET shows one button (mail scanners open links: only the POST uses the single-use link); POST signs in."""
    token = request.values.get("token", "")
    try:
        if request.method == "GET":
            account = accounts().check_login_link(token)
            return render_template("espace_pro/lien.html", token=token, account=account)
        account = accounts().confirm_login(token)
    except LinkError as exc:
        status = 403 if exc.code in ("invalid", "inactive") else 410
        return render_template("espace_pro/lien_erreur.html", message=exc.message), status
    sign_in(account)
    return redirect(home_of(account))


@bp.route("/creation/<kind>", methods=["GET", "POST"])
def create(kind: str):
    """Sign-up in two steps: the SIRET (the company's data are shown), then who the account belongs to."""
    if kind not in KINDS:
        abort(404)
    context = {"kind": kind, "kind_label": KINDS[kind]}
    if request.method == "GET":
        return render_template("espace_pro/creation.html", step="siret", company=None, errors={}, values={},
                               **context)
    if request.form.get("step") != "person":
        try:
            company = accounts().company(_siret.load_form(request.form)["siret"], kind)
        except ValidationError as exc:
            errors = exc.normalized_messages()
        except (CompanySearchError, SiretError) as exc:
            errors = {"siret": [exc.message]}
        else:
            return render_template("espace_pro/creation.html", step="person", company=company, errors={},
                                   values={"siret": company.siret}, **context)
        return render_template("espace_pro/creation.html", step="siret", company=None, errors=errors,
                               values=request.form, **context), 400
    try:
        data = _sign_up.load_form(request.form)
        accounts().sign_up(SignUp(kind, data["siret"], data["email"], data["first_name"], data["last_name"],
                                  data["phone"]))
    except ValidationError as exc:
        errors = exc.normalized_messages()
    except (CompanySearchError, SiretError) as exc:
        return render_template("espace_pro/creation.html", step="siret", company=None, errors={"siret": [exc.message]},
                               values=request.form, **context), 400
    except AccountError as exc:
        errors = {exc.field or "form": [exc.message]}
    else:
        return redirect(url_for("recruiter_accounts.created", kind=kind))
    company = _company_or_none(request.form.get("siret", ""), kind)
    return render_template("espace_pro/creation.html", step="person" if company else "siret", company=company,
                           errors=errors, values=request.form, **context), 400


def _company_or_none(siret: str, kind: str) -> Any:
    try:
        return accounts().company(siret, kind)
    except (CompanySearchError, SiretError):
        return None


@bp.get("/creation/<kind>/envoye")
def created(kind: str):
    """The account exists: a magic link is on its way."""
    if kind not in KINDS:
        abort(404)
    return render_template("espace_pro/compte_cree.html")


def _validator() -> dict[str, Any] | Any:
    viewer = current_account()
    if viewer is None:
        return None
    if not accounts().is_validator(viewer):
        abort(403)
    return viewer


@bp.get("/comptes-en-attente")
def pending():
    """Pending accounts an administrator (all) or an OPCO validator (its own companies) may decide."""
    viewer = _validator()
    if viewer is None:
        return redirect(url_for("recruiter_accounts.sign_in_page"))
    return _pending_page(viewer, {}, {}, done=request.args.get("fait", ""))


def _pending_page(viewer: dict[str, Any], errors: dict[int, dict], values: dict[int, Any], done: str = "",
                  status: int = 200):
    rows = accounts().pending_accounts(viewer)
    listed = {row["id"] for row in rows}
    # An account decided meanwhile is no longer listed: its message is shown above the list.
    general = [message for key, found in errors.items() if key not in listed for message in found.get("form", [])]
    return render_template("espace_pro/comptes_en_attente.html", viewer=viewer, rows=rows, errors=errors,
                           values=values, done=done, general=general), status


@bp.post("/comptes-en-attente/<int:account_id>/valider")
def validate(account_id: int):
    """Validate one pending account (one click)."""
    viewer = _validator()
    if viewer is None:
        return redirect(url_for("recruiter_accounts.sign_in_page"))
    try:
        accounts().validate(viewer, account_id)
    except NotAllowed:
        abort(404)
    except AccountError as exc:
        return _pending_page(viewer, {account_id: {"form": [exc.message]}}, {}, status=409)
    return redirect(url_for("recruiter_accounts.pending", fait="valide"))


@bp.post("/comptes-en-attente/<int:account_id>/refuser")
def refuse(account_id: int):
    """Refuse one pending account with a reason (e-mailed to the recruiter)."""
    viewer = _validator()
    if viewer is None:
        return redirect(url_for("recruiter_accounts.sign_in_page"))
    try:
        accounts().refuse(viewer, account_id, _refusal.load_form(request.form)["reason"])
    except ValidationError as exc:
        return _pending_page(viewer, {account_id: exc.normalized_messages()}, {account_id: request.form}, status=400)
    except NotAllowed:
        abort(404)
    except AccountError as exc:
        return _pending_page(viewer, {account_id: {exc.field or "form": [exc.message]}}, {account_id: request.form},
                             status=409 if exc.code == "already_decided" else 400)
    return redirect(url_for("recruiter_accounts.pending", fait="refuse"))


@bp.route("/deconnexion", methods=["GET", "POST"])
def sign_out_page():
    """GET asks to confirm (a link cannot sign anyone out); POST ends the session."""
    if request.method == "GET":
        return render_template("espace_pro/deconnexion.html", account=current_account())
    sign_out()
    return redirect(url_for("recruiter_accounts.sign_in_page", deconnecte=1))


def _partners_page(account: dict[str, Any], errors: dict[str, Any], values: Any, added: str = "", status: int = 200):
    return render_template("espace_pro/entreprises_partenaires.html", account=account, errors=errors, values=values,
                           partners=accounts().partner_companies(account), added=added), status


@bp.route("/entreprises-partenaires", methods=["GET", "POST"])
def partner_companies():
    """A CFA's partner companies, and a SIRET form to add one (checked like a company account's SIRET)."""
    account = current_account()
    if account is None:
        return redirect(url_for("recruiter_accounts.sign_in_page", next=request.path))
    if account["kind"] != "cfa":
        return render_template("error.html", title="Accès réservé aux CFA", status=403, text=NOT_A_CFA), 403
    if request.method == "GET":
        return _partners_page(account, {}, {}, added=request.args.get("ajoutee", ""))
    try:
        data = _partner.load_form(request.form)
        partner = accounts().add_partner_company(account, data["siret"], data["email"], data["phone"])
    except ValidationError as exc:
        return _partners_page(account, exc.normalized_messages(), request.form, status=400)
    except (CompanySearchError, SiretError) as exc:
        return _partners_page(account, {"siret": [exc.message]}, request.form, status=400)
    return redirect(url_for("recruiter_accounts.partner_companies", ajoutee=partner["company_name"]))
