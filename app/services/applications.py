"""Applications ("Je candidate"): rules, storage with the outgoing e-mails in one transaction, recruiter replies.

The recruiter's address comes from the target's private contact block (offers and companies in the
engine, deposited offers in the store); it is written to the outbox only and never returned or logged.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import io
import json
import logging
import uuid
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from app.config import Settings
from app.errors import ApiError
from app.referentials import get_referentials
from app.search.contract import EngineUnavailable, SearchEngine
from app.services.deposited_offers import index_deposited_offer, utc
from app.services.mailer import MailTemplates
from app.services.outbox import enqueue
from app.services.tokens import TokenExpired, TokenInvalid, Tokens, TokenUsed
from app.store import applications, company_opt_outs, deposited_offers, idempotency_keys, write_tx
from app.store.applications import CLOSE_OFFER_AFTER, CLOSED_BY_APPLICATIONS

log = logging.getLogger(__name__)

DISPOSABLE_DOMAINS = Path(__file__).resolve().parent.parent / "data" / "disposable_email_domains.txt"
PARIS = ZoneInfo("Europe/Paris")
MAX_CV_BYTES = 3 * 1024 * 1024
MAX_PER_APPLICANT_PER_DAY = 100
MAX_PER_TARGET = 3
MAX_PER_CALLER_PER_COMPANY_PER_DAY = 20
CLOSE_AFTER = CLOSE_OFFER_AFTER  # an offer that reaches it is closed and leaves search
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
CV_TYPES = {"pdf": "application/pdf",
            "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


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


def refused(status: int, code: str, message: str, details: Any = None) -> ApiError:
    return ApiError(status, code, message, details)


# ----- checks of the input -----------------------------------------------------------------------------
def decode_base64(text: str) -> bytes:
    """Bytes of base64 `text`, or of a data URL ("data:application/pdf;base64,...")."""
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if ";base64" not in header:
            raise refused(400, "invalid_cv", "Le CV doit être encodé en base64.")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise refused(400, "invalid_cv", "Le contenu du CV n'est pas du base64 valide.") from None


def sniff(content: bytes) -> str | None:
    """"pdf" or "docx" from the file's bytes (its magic number and, for DOCX, its ZIP parts), else None."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return "docx"
    return None


def check_cv(name: str, content: bytes) -> str:
    """The CV's type when its name, size and bytes agree; a 400/413 naming the problem otherwise."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in CV_TYPES:
        raise refused(400, "unsupported_cv_type", "Le CV doit être un fichier PDF ou DOCX.")
    if len(content) > MAX_CV_BYTES:
        raise refused(413, "cv_too_large", "Le CV dépasse la taille maximale de 3 Mo.")
    detected = sniff(content)
    if detected != extension:
        raise refused(400, "unsupported_cv_type",
                      "Le contenu du fichier ne correspond pas à un " + extension.upper() + " : seuls les PDF et "
                      "DOCX sont acceptés.")
    return detected


@functools.lru_cache(maxsize=1)
def disposable_domains(path: str = str(DISPOSABLE_DOMAINS)) -> frozenset[str]:
    """The refused domains of the data file."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def is_disposable(email: str) -> bool:
    """Whether `email` is at a disposable domain or one of its subdomains."""
    domain = email.rsplit("@", 1)[-1].lower().strip(".")
    parts = domain.split(".")
    return any(".".join(parts[i:]) in disposable_domains() for i in range(len(parts) - 1))


# ----- the service -------------------------------------------------------------------------------------
class ApplicationService:
    """Submit applications and record recruiters' replies."""

    def __init__(self, store: Engine, engine: SearchEngine, settings: Settings, tokens: Tokens | None = None,
                 templates: MailTemplates | None = None, refs: Any = None) -> None:
        self.store = store
        self.engine = engine
        self.settings = settings
        self.tokens = tokens or Tokens(settings.secret_key, settings.link_max_age_days * 86400)
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

    def reply_url(self, application_id: str, intention: str) -> str:
        token = self.tokens.issue(REPLY_PURPOSE, {"id": application_id, "intention": intention})
        return f"{self.settings.public_base_url}/candidature/reponse?token={token}"

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

    # -- recruiter replies
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
