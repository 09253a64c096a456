"""Recruiters' replies to applications: the signed links of the recruiter's e-mail, their page, the answer recorded."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.config import Settings
from app.services.application_checks import refused
from app.services.mailer import MailTemplates
from app.services.outbox import enqueue
from app.services.tokens import TokenExpired, TokenInvalid, Tokens, TokenUsed
from app.store import applications, write_tx

log = logging.getLogger(__name__)

REPLY_PURPOSE = "application.reply"
INTENTIONS = ("interview", "refusal")
#: The fixed refusal reasons a recruiter picks from (la-bonne-alternance.md §3).
REFUSAL_REASONS = {
    "competences": "Compétences insuffisantes pour le poste",
    "personnalisation": "Manque de personnalisation de la candidature",
    "formation": "Avis négatif sur l'école ou la formation",
    "contrat": "Type de contrat inadapté",
    "metier": "Notre entreprise ne recrute pas sur le métier recherché",
}


class RecruiterReplies:
    """The reply half of ApplicationService (app/services/applications.py), which sets these attributes."""

    store: Engine
    settings: Settings
    tokens: Tokens
    templates: MailTemplates

    def reply_url(self, application_id: str, intention: str) -> str:
        """The signed link by which the recruiter gives `intention` to the application."""
        token = self.tokens.issue(REPLY_PURPOSE, {"id": application_id, "intention": intention})
        return f"{self.settings.public_base_url}/candidature/reponse?token={token}"

    def reply_context(self, token: str) -> dict[str, Any]:
        """What the reply page shows for a link (without using it)."""
        payload = self._read(token)
        row = self._application(payload["id"])
        return {"intention": payload["intention"], "application": row, "reasons": REFUSAL_REASONS,
                "answered": row["intention"] is not None}

    def _read(self, token: str) -> dict[str, Any]:
        try:
            payload = self.tokens.read(REPLY_PURPOSE, token)
        except TokenExpired:
            raise refused(410, "link_expired", "Ce lien a expiré.") from None
        except TokenInvalid:
            raise refused(400, "link_invalid", "Ce lien n'est pas valide.") from None
        if payload.get("intention") not in INTENTIONS or not isinstance(payload.get("id"), str):
            raise refused(400, "link_invalid", "Ce lien n'est pas valide.")
        return payload

    def _application(self, application_id: str) -> dict[str, Any]:
        with self.store.connect() as conn:
            row = conn.execute(sa.select(applications).where(applications.c.id == application_id)).mappings().first()
        if row is None:
            raise refused(404, "application_not_found", "Candidature introuvable.")
        return dict(row)

    def reply(self, token: str, reason: str | None = None, message: str = "") -> dict[str, Any]:
        """Record the recruiter's answer given through a signed link and e-mail the applicant."""
        payload = self._read(token)
        intention = payload["intention"]
        if intention == "refusal" and reason not in REFUSAL_REASONS:
            raise refused(400, "invalid_reason", "Choisissez un motif de refus dans la liste.",
                          {"reasons": list(REFUSAL_REASONS)})
        try:
            with write_tx(self.store) as conn:
                row = conn.execute(sa.select(applications).where(applications.c.id == payload["id"])).mappings().first()
                if row is None:
                    raise refused(404, "application_not_found", "Candidature introuvable.")
                if row["intention"] is not None:
                    raise refused(409, "already_answered", "Vous avez déjà répondu à cette candidature.")
                try:
                    self.tokens.consume(conn, REPLY_PURPOSE, token)
                except TokenUsed:
                    raise refused(409, "link_used", "Ce lien a déjà été utilisé.") from None
                conn.execute(sa.update(applications).where(applications.c.id == row["id"]).values(
                    intention=intention, intention_reason=reason if intention == "refusal" else None,
                    intention_message=message, intention_at=datetime.now(timezone.utc)))
                context = {"first_name": row["applicant_first_name"], "company_name": row["company_name"],
                           "target_title": row["target_title"], "message": message,
                           "reason_label": REFUSAL_REASONS.get(reason or "", "")}
                enqueue(conn, kind=f"application.{intention}", to=row["applicant_email"],
                        ref=("application", row["id"]),
                        rendered=self.templates.render(f"intention_{intention}", context),
                        max_attempts=self.settings.outbox_max_attempts)
        except IntegrityError:
            raise refused(409, "link_used", "Ce lien a déjà été utilisé.") from None
        log.info("application %s answered: %s", payload["id"], intention)
        return {"id": payload["id"], "intention": intention}
