"""Pages reached from e-mailed links: the CFA's answer to a callback request, a company's opt-out confirmation."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from app.api.contact import now, signer, store
from app.extensions import get_engine
from app.services import callbacks, opt_out
from app.services.contact_links import LinkError

bp = Blueprint("contact_pages", __name__)


def _error_page(heading: str, message: str, status: int):
    return render_template("contact_pages/error.html", heading=heading, message=message), status


@bp.route("/rdva/cfa/<request_id>", methods=["GET", "POST"])
def cfa_answer(request_id: str):
    """The CFA reads the request (read time recorded) and answers once."""
    token = request.values.get("token", "")
    error = done = None
    try:
        if request.method == "POST":
            view = callbacks.answer_callback(store(), signer(), request_id, token, request.form.get("kind", ""),
                                             request.form.get("message", ""), now())
            done = ("Votre message a été envoyé au candidat." if view["answer_kind"] == "personalised_answer"
                    else "Votre réponse est enregistrée.")
        else:
            view = callbacks.open_for_cfa(store(), signer(), request_id, token, now())
    except LinkError as exc:
        return _error_page("Lien inutilisable", exc.message, 403 if exc.code == "invalid_link" else 410)
    except callbacks.FormationNotFound as exc:
        return _error_page("Demande introuvable", exc.message, 404)
    except callbacks.CallbackError as exc:
        # Already answered, or an empty personal message: show the request again with the reason.
        view, error = callbacks.open_for_cfa(store(), signer(), request_id, token, now()), exc.message
        status = exc.status
        return render_template("contact_pages/cfa_answer.html", token=token, error=error, done=None, **view), status
    return render_template("contact_pages/cfa_answer.html", token=token, error=error, done=done, **view)


@bp.route("/entreprises/desinscription/<request_id>", methods=["GET", "POST"])
def opt_out_confirmation(request_id: str):
    """GET shows what will be removed (mail scanners follow links: GET changes nothing); POST confirms."""
    token = request.values.get("token", "")
    try:
        if request.method == "POST":
            result = opt_out.confirm_opt_out(store(), get_engine(), signer(), request_id, token, now())
            return render_template("contact_pages/opt_out_confirm.html", token=token, done=True,
                                   sirets=result["sirets"], error=None)
        pending = opt_out.pending_request(store(), signer(), request_id, token, now())
    except LinkError as exc:
        return _error_page("Lien inutilisable", exc.message, 403 if exc.code == "invalid_link" else 410)
    except opt_out.AlreadyConfirmed as exc:
        return _error_page("Désinscription déjà enregistrée", exc.message, 409)
    if pending["confirmed"]:
        return _error_page("Désinscription déjà enregistrée",
                           "Ce lien a déjà été utilisé : la désinscription est enregistrée.", 409)
    return render_template("contact_pages/opt_out_confirm.html", token=token, done=False, sirets=pending["sirets"],
                           error=None)
