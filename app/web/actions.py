"""The one adapter between the site's forms and the action services (applications, callbacks, opt-outs).

The pages only know the three functions below. Each calls the store-backed service of its action,
which stores the request and its outgoing e-mails in one transaction: callbacks and opt-outs go to
h-callbacks' app/services/callbacks.py and opt_out.py (their interface as of its first commit);
applications to the app's ApplicationService (app/services/applications.py, the one behind the API).
When a service cannot be reached the page says the action is unavailable and keeps what was typed.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from flask import current_app

from app.errors import ApiError
from app.extensions import get_engine
from app.services.applications import ApplicationInput
from app.web.forms import OPT_OUT_REASONS, UploadedCv

#: Which form field a refusal of the applications service belongs beside (others go to the form's summary).
APPLICATION_ERROR_FIELDS = {"disposable_email": "email", "invalid_cv": "cv", "unsupported_cv_type": "cv",
                            "cv_too_large": "cv"}


class ActionUnavailable(RuntimeError):
    """The service behind this action is not part of this installation or cannot be reached."""


class ActionRefused(ValueError):
    """The service refused the request; `errors` maps form fields (or "form") to French messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Receipt:
    """What a confirmation page shows: the reference and to whom it went."""

    reference: str
    recipient: str
    email: str


def _service(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ActionUnavailable(module) from None


def send_application(kind: str, target: dict[str, Any], data: dict[str, Any], cv: UploadedCv,
                     caller: str | None = None) -> Receipt:
    """Send an application to an offer (`kind` "offer") or a spontaneous one to a company ("company").

    The same service as `POST /api/v1/applications`: the same rules, caps and one-transaction outbox.
    """
    service = current_app.extensions.get("lba.applications")
    if service is None:
        raise ActionUnavailable("lba.applications")
    application = ApplicationInput(
        first_name=data["first_name"], last_name=data["last_name"], email=data["email"], phone=data["phone"],
        cv_name=cv.filename, cv_content=cv.content, target_kind=kind, target_id=str(target["id"]),
        message=data.get("message") or "", caller=caller or "")
    try:
        _, answer = service.submit(application, None, "web")
    except ApiError as exc:
        if exc.status == 503:
            raise ActionUnavailable(exc.code) from None
        raise ActionRefused({APPLICATION_ERROR_FIELDS.get(exc.code, "form"): [exc.message]}) from None
    return Receipt(str(answer["id"]), (target.get("organisation") or {}).get("name", ""), data["email"])


def _contact() -> tuple[Any, Any]:
    """h-callbacks' services and their app helpers (clock, link signer, store, public base URL)."""
    return _service("app.services.callbacks"), _service("app.api.contact")


def request_callback(formation: dict[str, Any], data: dict[str, Any], caller: str | None = None) -> Receipt:
    """Ask the training centre of `formation` to call the applicant back (stored with its two e-mails)."""
    callbacks, contact = _contact()
    request = callbacks.CallbackInput(
        formation_id=formation["id"], first_name=data["first_name"], last_name=data["last_name"],
        email=data["email"], phone=data["phone"], applicant_type=data["applicant_type"],
        reasons=list(data["reasons"]), message=data.get("message", ""), referrer="lba")
    try:
        result = callbacks.create_callback(contact.store(), get_engine(), contact.signer(), request, contact.now(),
                                           contact.base_url())
    except callbacks.CallbackError as exc:
        raise ActionRefused(_errors(exc)) from None
    return Receipt(str(_get(result, "id")), (formation.get("organisation") or {}).get("name", ""), data["email"])


def opt_out_company(data: dict[str, Any]) -> Receipt:
    """Ask that a company stop receiving spontaneous applications (confirmed by a signed e-mail link)."""
    opt_out = _service("app.services.opt_out")
    contact = _service("app.api.contact")
    reason = OPT_OUT_REASONS.get(data["reason"], data["reason"])
    if data.get("comment"):
        reason = f"{reason} : {data['comment']}"
    try:
        result = opt_out.request_opt_out(contact.store(), get_engine(), contact.signer(), data["email"],
                                         [data["siret"]], reason[:1000], contact.now(), contact.base_url())
    except opt_out.OptOutError as exc:
        raise ActionRefused({"siret": [exc.message]}) from None
    return Receipt(str(_get(result, "id")), data["siret"], data["email"])


def _get(result: Any, name: str) -> Any:
    return result.get(name) if isinstance(result, dict) else getattr(result, name, result)


def _errors(exc: Exception) -> dict[str, list[str]]:
    """A refusal's messages per field, whatever shape the service gives them."""
    errors = getattr(exc, "errors", None) or getattr(exc, "details", None)
    if isinstance(errors, dict):
        return {k: v if isinstance(v, list) else [str(v)] for k, v in errors.items()}
    return {"form": [getattr(exc, "message", None) or str(exc)]}
