"""Applications ("Je candidate"): the target, the caps, storage with the outgoing e-mails in one transaction.

The recruiter's address comes from the target's private contact block (offers and companies in the
engine, deposited offers in the store); it is written to the outbox only and never returned or logged.
The input's checks live in app/services/application_checks.py, the recruiters' replies in
app/services/application_replies.py.
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from app.config import Settings
from app.errors import ApiError
from app.referentials import get_referentials
from app.search.contract import EngineUnavailable, SearchEngine
from app.services.application_checks import CV_TYPES, check_cv, is_disposable, refused
from app.services.application_replies import RecruiterReplies
from app.services.deposited_offers import index_deposited_offer, utc
from app.services.mailer import MailTemplates
from app.services.outbox import enqueue
from app.services.tokens import Tokens
from app.store import applications, company_opt_outs, deposited_offers, idempotency_keys, write_tx
from app.store.applications import CLOSE_OFFER_AFTER, CLOSED_BY_APPLICATIONS

log = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
MAX_PER_APPLICANT_PER_DAY = 100
MAX_PER_TARGET = 3
MAX_PER_CALLER_PER_COMPANY_PER_DAY = 20
CLOSE_AFTER = CLOSE_OFFER_AFTER  # an offer that reaches it is closed and leaves search


@dataclass(frozen=True)
class ApplicationInput:
    """A validated application, whichever API version it came through."""

    first_name: str
    last_name: str
    email: str
    phone: str
    cv_name: str
    cv_content: bytes
    target_kind: str  # offer | company
    target_id: str
    message: str = ""
    caller: str = ""
    answers: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A digest of the request's meaning (not of its bytes: multipart boundaries vary between retries)."""
        fields = {k: v for k, v in asdict(self).items() if k != "cv_content"}
        fields["cv_sha256"] = hashlib.sha256(self.cv_content).hexdigest()
        return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Target:
    """Whom an application goes to."""

    kind: str
    id: str
    siret: str
    title: str
    company_name: str
    email: str
    deposited_id: int | None = None


class ApplicationService(RecruiterReplies):
    """Submit applications and record recruiters' replies (app/services/application_replies.py)."""

    def __init__(self, store: Engine, engine: SearchEngine, settings: Settings, tokens: Tokens | None = None,
                 templates: MailTemplates | None = None, refs: Any = None) -> None:
        self.store = store
        self.engine = engine
        self.settings = settings
        self.tokens = tokens or Tokens.from_settings(settings)
        self.templates = templates or MailTemplates()
        self.refs = refs

    # -- targets
    def resolve(self, kind: str, target_id: str) -> Target:
        """The target of an application, or 404/409/410 when it cannot take one."""
        not_found = refused(404, "target_not_found", "Offre ou entreprise introuvable.")
        if kind == "offer" and target_id.startswith("deposited-") and target_id.removeprefix("deposited-").isdigit():
            return self._deposited(int(target_id.removeprefix("deposited-")))
        try:
            doc = self.engine.get_many(kind, [target_id]).get(target_id)
        except EngineUnavailable:
            raise refused(503, "engine_unavailable", "Le service est momentanément indisponible.") from None
        if doc is None:
            raise not_found
        organisation = doc.get("organisation") or {}
        email = (doc.get("private") or {}).get("email") or ""
        if kind == "offer":
            status = doc.get("status") or "active"
            expires = doc.get("expires_at")
            if status != "active" or (expires and expires < datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")):
                raise self._closed(status if status != "active" else "expired")
        if not email:
            raise refused(409, "no_contact_email", "Ce recruteur ne reçoit pas de candidatures par e-mail.")
        siret = organisation.get("siret") or (target_id if kind == "company" else "")
        return Target(kind=kind, id=target_id, siret=siret, title=doc.get("title") or "",
                      company_name=organisation.get("name") or doc.get("title") or "", email=email)

    def _deposited(self, offer_id: int) -> Target:
        with self.store.connect() as conn:
            row = conn.execute(sa.select(deposited_offers).where(deposited_offers.c.id == offer_id)).mappings().first()
        if row is None:
            raise refused(404, "target_not_found", "Offre ou entreprise introuvable.")
        expires = utc(row["expires_at"])
        if row["status"] != "active" or (expires and expires < datetime.now(timezone.utc)):
            raise self._closed(row["status"] if row["status"] != "active" else "expired")
        if not row["apply_email"]:
            raise refused(409, "no_contact_email", "Ce recruteur ne reçoit pas de candidatures par e-mail.")
        return Target(kind="offer", id=f"deposited-{offer_id}", siret=row["company_siret"], title=row["title"],
                      company_name=row["company_name"], email=row["apply_email"], deposited_id=offer_id)

    @staticmethod
    def _closed(status: str) -> ApiError:
        messages = {"expired": "Cette offre a expiré.", "filled": "Cette offre est pourvue.",
                    "cancelled": "Cette offre a été annulée."}
        return refused(410, f"offer_{status}", messages.get(status, "Cette offre n'est plus disponible."))

    # -- submission
    def submit(self, data: ApplicationInput, idempotency_key: str | None, scope: str) -> tuple[int, dict[str, Any]]:
        """Store the application and its e-mails in one transaction; returns (status, body).

        With an Idempotency-Key, a retry of the same request answers the first answer and stores
        nothing; the same key with another request is a 409.
        """
        fingerprint = data.fingerprint()
        if idempotency_key:
            replay = self._replay(scope, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        if is_disposable(data.email):
            raise refused(400, "disposable_email", "Les adresses e-mail jetables ne sont pas acceptées.")
        cv_type = check_cv(data.cv_name, data.cv_content)
        target = self.resolve(data.target_kind, data.target_id)
        if target.siret and self._opted_out(target.siret):
            raise refused(404, "target_not_found", "Offre ou entreprise introuvable.")
        try:
            with write_tx(self.store) as conn:
                self._lock(conn, data.email.lower(), target.siret or target.id)
                if idempotency_key:  # a concurrent twin may have committed since the first look
                    replay = self._replay(scope, idempotency_key, fingerprint, conn)
                    if replay is not None:
                        return replay
                count = self._check_caps(conn, data, target)
                application_id = uuid.uuid4().hex
                self._insert(conn, application_id, data, target, cv_type)
                self._queue_mails(conn, application_id, data, target, cv_type)
                body = {"id": application_id, "status": "stored"}
                if idempotency_key:
                    conn.execute(sa.insert(idempotency_keys).values(
                        scope=scope, key=idempotency_key, body_sha256=fingerprint, status=202, response=body,
                        created_at=datetime.now(timezone.utc)))
                closes = target.kind == "offer" and count + 1 >= CLOSE_AFTER
                if closes and target.deposited_id is not None:
                    conn.execute(sa.update(deposited_offers).where(deposited_offers.c.id == target.deposited_id)
                                 .values(status="cancelled", status_reason=CLOSED_BY_APPLICATIONS,
                                         application_count=count + 1, updated_at=datetime.now(timezone.utc)))
                elif target.deposited_id is not None:
                    conn.execute(sa.update(deposited_offers).where(deposited_offers.c.id == target.deposited_id)
                                 .values(application_count=count + 1))
        except IntegrityError:
            if idempotency_key:
                replay = self._replay(scope, idempotency_key, fingerprint)
                if replay is not None:
                    return replay
            raise
        if closes:
            self._close_offer(target)
        log.info("application %s stored for %s %s", application_id, target.kind, target.id)
        return 202, body

    def _replay(self, scope: str, key: str, fingerprint: str,
                conn: Connection | None = None) -> tuple[int, dict[str, Any]] | None:
        query = sa.select(idempotency_keys).where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
        if conn is None:
            with self.store.connect() as own:
                row = own.execute(query).mappings().first()
        else:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        if row["body_sha256"] != fingerprint:
            raise refused(409, "idempotency_key_reused",
                          "Cette clé d'idempotence a déjà servi pour une autre candidature.")
        return row["status"], row["response"]

    def _opted_out(self, siret: str) -> bool:
        with self.store.connect() as conn:
            return conn.execute(sa.select(company_opt_outs.c.siret)
                                .where(company_opt_outs.c.siret == siret)).first() is not None

    @staticmethod
    def _lock(conn: Connection, *keys: str) -> None:
        # PostgreSQL runs concurrent requests side by side: per-applicant and per-company advisory locks
        # make the caps exact. SQLite's IMMEDIATE transaction already serialises every writer.
        if conn.dialect.name != "postgresql":
            return
        for key in sorted(set(keys)):  # one order everywhere: no deadlock between two requests
            number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:n)"), {"n": number})

    def _check_caps(self, conn: Connection, data: ApplicationInput, target: Target) -> int:
        """Raise a 429 naming the first cap reached; returns how many applications the target already has."""
        email = data.email.lower()
        today = datetime.now(PARIS).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)

        def count(*conditions: Any) -> int:
            return conn.execute(sa.select(sa.func.count()).select_from(applications).where(*conditions)).scalar_one()

        if count(applications.c.applicant_email == email, applications.c.created_at >= today) \
                >= MAX_PER_APPLICANT_PER_DAY:
            raise refused(429, "max_applications_per_day",
                          f"Vous avez atteint le maximum de {MAX_PER_APPLICANT_PER_DAY} candidatures par jour.",
                          {"rule": "applicant_per_day", "limit": MAX_PER_APPLICANT_PER_DAY})
        if count(applications.c.applicant_email == email, applications.c.target_kind == target.kind,
                 applications.c.target_id == target.id) >= MAX_PER_TARGET:
            raise refused(429, "max_applications_per_target",
                          f"Vous avez déjà envoyé {MAX_PER_TARGET} candidatures à ce recruteur pour cette offre.",
                          {"rule": "applicant_per_target", "limit": MAX_PER_TARGET})
        if data.caller and target.siret and count(applications.c.caller == data.caller,
                                                  applications.c.target_siret == target.siret,
                                                  applications.c.created_at >= today) \
                >= MAX_PER_CALLER_PER_COMPANY_PER_DAY:
            raise refused(429, "max_applications_per_company",
                          f"Ce service partenaire a atteint le maximum de {MAX_PER_CALLER_PER_COMPANY_PER_DAY} "
                          f"candidatures par jour vers cette entreprise.",
                          {"rule": "caller_per_company_per_day", "limit": MAX_PER_CALLER_PER_COMPANY_PER_DAY})
        received = count(applications.c.target_kind == target.kind, applications.c.target_id == target.id)
        if target.kind == "offer" and received >= CLOSE_AFTER:
            raise refused(410, "offer_closed", "Cette offre a reçu le nombre maximum de candidatures.")
        return received

    def _insert(self, conn: Connection, application_id: str, data: ApplicationInput, target: Target,
                cv_type: str) -> None:
        conn.execute(sa.insert(applications).values(
            id=application_id, created_at=datetime.now(timezone.utc), applicant_first_name=data.first_name,
            applicant_last_name=data.last_name, applicant_email=data.email.lower(), applicant_phone=data.phone,
            message=data.message, answers=data.answers, extra=data.extra, target_kind=target.kind,
            target_id=target.id, target_siret=target.siret, target_title=target.title,
            company_name=target.company_name, caller=data.caller, cv_name=data.cv_name, cv_type=cv_type,
            cv_size=len(data.cv_content), cv_sha256=hashlib.sha256(data.cv_content).hexdigest()))

    def _queue_mails(self, conn: Connection, application_id: str, data: ApplicationInput, target: Target,
                     cv_type: str) -> None:
        context = {"first_name": data.first_name, "last_name": data.last_name, "applicant_email": data.email,
                   "applicant_phone": data.phone, "message": data.message, "answers": data.answers,
                   "cv_name": data.cv_name, "target_kind": target.kind, "target_title": target.title,
                   "company_name": target.company_name, "link_days": self.settings.link_max_age_days,
                   "interview_url": self.reply_url(application_id, "interview"),
                   "refusal_url": self.reply_url(application_id, "refusal"),
                   "reminder_date": (datetime.now(PARIS) + timedelta(days=10)).strftime("%d/%m/%Y")}
        ref = ("application", application_id)
        failed = self.templates.render("application_failed", context)
        enqueue(conn, kind="application.recruiter", to=target.email, ref=ref, reply_to=data.email,
                rendered=self.templates.render("application_recruiter", context),
                attachment=(data.cv_name, CV_TYPES[cv_type], data.cv_content),
                max_attempts=self.settings.outbox_max_attempts,
                on_failure={"to": data.email, "subject": failed.subject, "text": failed.text, "html": failed.html})
        enqueue(conn, kind="application.applicant", to=data.email, ref=ref,
                rendered=self.templates.render("application_applicant", context),
                max_attempts=self.settings.outbox_max_attempts)

    def _close_offer(self, target: Target) -> None:
        """Take an offer that reached CLOSE_AFTER applications out of search (through the deposit path if ours)."""
        try:
            if target.deposited_id is not None:
                with self.store.connect() as conn:
                    row = conn.execute(sa.select(deposited_offers)
                                       .where(deposited_offers.c.id == target.deposited_id)).mappings().first()
                if row is not None:
                    index_deposited_offer(self.engine, dict(row), self.refs if self.refs is not None
                                          else get_referentials(self.settings.data_dir))
            else:
                self.engine.delete("offer", [target.id])
        except EngineUnavailable:
            log.warning("offer %s closed in the store; the engine was unavailable to remove it", target.id)
        log.info("offer %s closed after %d applications", target.id, CLOSE_AFTER)
