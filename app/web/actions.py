"""The one adapter between the site's forms and the action services (applications, callbacks, opt-outs).

The pages only know the three functions below. Each calls the store-backed service of its action
(app/services/applications.py, callbacks.py, opt-outs), which stores the request and its outgoing
e-mails in one transaction; when a service is not installed the page says the action is unavailable
and keeps what was typed.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from flask import current_app

from app.web.forms import UploadedCv


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
    """Send an application to an offer (`kind` "offer") or a spontaneous one to a company ("company")."""
    service = _service("app.services.applications")
    submit = getattr(service, "submit_application", None)
    if submit is None:
        raise ActionUnavailable("app.services.applications.submit_application")
    try:
        result = submit(current_app.extensions["lba.store"], kind=kind, target_id=target["id"],
                        first_name=data["first_name"], last_name=data["last_name"], email=data["email"],
                        phone=data["phone"], message=data.get("message", ""), cv_name=cv.filename,
                        cv_content=cv.content, caller=caller)
    except getattr(service, "ApplicationRefused", ActionRefused) as exc:
        raise ActionRefused(_errors(exc)) from None
    return Receipt(str(_get(result, "id")), (target.get("organisation") or {}).get("name", ""), data["email"])


def request_callback(formation: dict[str, Any], data: dict[str, Any], caller: str | None = None) -> Receipt:
    """Ask the training centre of `formation` to call the applicant back."""
    service = _service("app.services.callbacks")
    submit = getattr(service, "request_callback", None)
    if submit is None:
        raise ActionUnavailable("app.services.callbacks.request_callback")
    try:
        result = submit(current_app.extensions["lba.store"], formation_id=formation["id"],
                        first_name=data["first_name"], last_name=data["last_name"], email=data["email"],
                        phone=data["phone"], applicant_type=data["applicant_type"], reasons=data["reasons"],
                        message=data.get("message", ""), referrer="lba", caller=caller)
    except getattr(service, "CallbackRefused", ActionRefused) as exc:
        raise ActionRefused(_errors(exc)) from None
    return Receipt(str(_get(result, "id")), (formation.get("organisation") or {}).get("name", ""), data["email"])


def opt_out_company(data: dict[str, Any]) -> Receipt:
    """Ask that a company stop receiving spontaneous applications (confirmed by an e-mail link)."""
    service = _service("app.services.optout")
    submit = getattr(service, "request_opt_out", None)
    if submit is None:
        raise ActionUnavailable("app.services.optout.request_opt_out")
    try:
        result = submit(current_app.extensions["lba.store"], siret=data["siret"], email=data["email"],
                        reason=data["reason"], comment=data.get("comment", ""))
    except getattr(service, "OptOutRefused", ActionRefused) as exc:
        raise ActionRefused(_errors(exc)) from None
    return Receipt(str(_get(result, "id")), data["siret"], data["email"])


def _get(result: Any, name: str) -> Any:
    return result.get(name) if isinstance(result, dict) else getattr(result, name, result)


def _errors(exc: Exception) -> dict[str, list[str]]:
    """A refusal's messages per field, whatever shape the service gives them."""
    errors = getattr(exc, "errors", None) or getattr(exc, "details", None)
    if isinstance(errors, dict):
        return {k: v if isinstance(v, list) else [str(v)] for k, v in errors.items()}
    return {"form": [getattr(exc, "message", None) or str(exc)]}
