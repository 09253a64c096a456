"""The ranking lab's explain page (internal): a query's results with every score component under two weights."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError

from app.schemas import MatchRequestSchema
from app.services.live_weights import parse_weights, read_weights
from app.services.ranking_lab import QueryFailed, side_by_side, weights_files
from app.services.usage import position_report
from app.web.recruiter_session import current_account
from ranking import WeightsError

bp = Blueprint("ranking_admin", __name__, url_prefix="/espace-pro/admin")
_match = MatchRequestSchema()
QUERY_FIELDS = ("q", "romes", "insee", "latitude", "longitude", "radius", "kinds")
#: Days of usage counters the page's click-through table covers.
USAGE_DAYS = 30
ADMINS_ONLY = ("Cette page est réservée aux administrateurs de La bonne alternance (rôle donné par "
               "`lba recruiters grant-admin`).")


def _admin() -> dict[str, Any] | None:
    """The signed-in administrator; None when nobody is signed in. OPCO validators are not administrators here."""
    account = current_account()
    if account is not None and not (account["is_admin"] and account["status"] == "validated"
                                    and account["kind"] != "opco"):
        return {}
    return account


@bp.route("/classement", methods=["GET", "POST"])
def explain_page():
    """GET: the form, and the comparison when a query is given; POST: the same with pasted TOML weights."""
    admin = _admin()
    if admin is None:
        return redirect(url_for("recruiter_accounts.sign_in_page", next=request.path))
    if not admin:
        return render_template("error.html", title="Accès réservé", status=403, text=ADMINS_ONLY), 403
    values = request.values
    settings = current_app.extensions["lba.settings"]
    files = weights_files(settings.ranking_weights_dirs)
    errors: dict[str, list[str]] = {}
    result = None
    if any(values.get(name) for name in ("q", "romes")):
        second, errors = _second_weights(values, files)
        params = {name: values.get(name) for name in QUERY_FIELDS if values.get(name)}
        try:
            loaded = _match.load_args(params)
        except ValidationError as exc:
            errors.update(exc.normalized_messages())
        if not errors:
            try:
                result = side_by_side(current_app.extensions["lba.match"], loaded, second)
            except QueryFailed as exc:
                errors["form"] = [str(exc).split(": ", 1)[-1]]
    usage = position_report(current_app.extensions["lba.store"],
                            current_app.extensions["lba.clock"].today() - timedelta(days=USAGE_DAYS))
    return render_template("espace_pro/admin_classement.html", admin=admin, values=values,
                           weights_choices=sorted(files),
                           errors=errors, result=result, usage=usage, usage_days=USAGE_DAYS,
                           served=current_app.extensions["lba.match"].weights_version), 400 if errors else 200


def _second_weights(values: Any, files: dict[str, Any]) -> tuple[Any, dict[str, list[str]]]:
    """The second weights: pasted TOML (checked as the live reload checks a file), or one of the listed files."""
    text = (values.get("toml") or "").strip()
    try:
        if text:
            return parse_weights(text, "le TOML collé"), {}
        chosen = values.get("weights", "")
        if chosen not in files:
            return None, {"weights": ["Choisissez un fichier de poids de la liste, ou collez un TOML."]}
        return read_weights(files[chosen]), {}
    except (WeightsError, OSError) as exc:
        return None, {"toml" if text else "weights": [str(exc)]}
