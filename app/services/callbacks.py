"""Callback requests ("RDV Apprentissage"): a young person or a parent asks a CFA to call back about a formation."""
from __future__ import annotations

import logging
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app.search.contract import SearchEngine
from app.services import contact_mail
from app.services.contact_links import LinkSigner
from app.services.working_days import PARIS, add_working_days
from app.store import write_tx
from app.store.contact import callback_requests

log = logging.getLogger(__name__)

#: The fixed list of reasons of the public service's form (la-bonne-alternance.md §4), with the
#: French label the CFA reads.
REASONS: dict[str, str] = {
    "modalite": "Modalités d'inscription",
    "contenu": "Contenu de la formation",
    "porte": "Journées portes ouvertes",
    "frais": "Frais d'inscription",
    "place": "Places disponibles",
    "horaire": "Horaires et rythme de la formation",
    "plus": "En savoir plus sur l'alternance",
    "accompagnement": "Accompagnement dans la recherche d'une entreprise",
    "lieu": "Lieu de la formation",
    "suivi": "Suivi de ma candidature",
    "autre": "Autre question",
    "debouche": "Débouchés de la formation",
}
APPLICANT_TYPES: dict[str, str] = {"etudiant": "un jeune", "parent": "un parent"}
REFERRERS: dict[str, str] = {"lba": "La bonne alternance", "parcoursup": "Parcoursup", "onisep": "ONISEP",
                             "jeune_1_solution": "1jeune1solution", "affelnet": "Affelnet"}
ANSWER_KINDS = ("personalised_answer", "other_channel")
#: The public service refuses a second request of one address for one formation within 4 days.
PENDING_DAYS = 4
#: A CFA that has not opened the request after 3 working days gets one reminder.
REMINDER_WORKING_DAYS = 3
#: The CFA's answer link works this long after it was sent (the reminder sends a fresh one).
ANSWER_LINK_MAX_AGE = timedelta(days=30)
ANSWER_PURPOSE = "callback-answer"


class CallbackError(Exception):
    """A request the service refuses, with an HTTP status, a stable code and a French message."""

    status = 400
    code = "callback_refused"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class FormationNotFound(CallbackError):
    status, code = 404, "formation_not_found"


class CallbackUnavailable(CallbackError):
    status, code = 422, "callback_unavailable"


class RequestPending(CallbackError):
    status, code = 409, "callback_pending"


class AlreadyAnswered(CallbackError):
    status, code = 409, "already_answered"


@dataclass(frozen=True)
class CallbackInput:
    """What the applicant's form sends (already validated by the schema)."""

    formation_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    applicant_type: str
    reasons: list[str] = field(default_factory=list)
    message: str = ""
    referrer: str = "lba"


def eligible_formation(engine: SearchEngine, formation_id: str) -> dict[str, Any]:
    """The formation document when it takes callback requests; FormationNotFound / CallbackUnavailable otherwise."""
    doc = engine.get_many("formation", [formation_id]).get(formation_id)
    if doc is None:
        raise FormationNotFound("Formation introuvable.", {"formation_id": formation_id})
    if not (doc.get("callback_eligible") and (doc.get("private") or {}).get("email")):
        raise CallbackUnavailable("Ce centre de formation ne reçoit pas de demandes de contact pour cette formation.",
                                  {"formation_id": formation_id})
    return doc


def _serialise_writers(conn: Connection, email: str, formation_id: str) -> None:
    """Make two simultaneous requests of one address for one formation run one after the other.

    PostgreSQL: a transaction-scoped advisory lock on the pair. SQLite: the transaction is opened
    with BEGIN IMMEDIATE (`write_tx`), which already serialises writers.
    """
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"{email}\x00{formation_id}".encode())
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _pending_since(conn: Connection, email: str, formation_id: str, now: datetime,
                   exclude: str | None = None) -> datetime | None:
    query = (sa.select(callback_requests.c.created_at)
             .where(callback_requests.c.email == email, callback_requests.c.formation_id == formation_id,
                    callback_requests.c.created_at > now - timedelta(days=PENDING_DAYS))
             .order_by(callback_requests.c.created_at).limit(1))
    if exclude is not None:
        query = query.where(callback_requests.c.id != exclude)
    return conn.execute(query).scalar()


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes for timezone-aware columns: they were stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def create_callback(store: Engine, engine: SearchEngine, signer: LinkSigner, request: CallbackInput,
                    now: datetime, base_url: str) -> dict[str, Any]:
    """Store the request and its two e-mails (to the CFA, to the applicant) in one transaction.

    Raises FormationNotFound, CallbackUnavailable, or RequestPending (the same address asked the
    same formation less than PENDING_DAYS ago; the message names the pending request's date).
    """
    doc = eligible_formation(engine, request.formation_id)
    email = request.email.strip().lower()
    organisation = doc.get("organisation") or {}
    row = {
        "id": secrets.token_hex(16), "formation_id": request.formation_id,
        "formation_title": doc.get("title", ""), "cfa_name": organisation.get("name", ""),
        "cfa_email": doc["private"]["email"], "referrer": request.referrer,
        "applicant_type": request.applicant_type, "first_name": request.first_name.strip(),
        "last_name": request.last_name.strip(), "email": email, "phone": request.phone.strip(),
        "reasons": list(dict.fromkeys(request.reasons)), "message": request.message.strip(), "created_at": now,
    }
    with write_tx(store) as conn:
        _serialise_writers(conn, email, request.formation_id)
        conn.execute(sa.insert(callback_requests).values(**row))
        pending = _pending_since(conn, email, request.formation_id, now, exclude=row["id"])
        if pending is not None:
            day = _aware(pending).astimezone(PARIS).strftime("%d/%m/%Y")
            # Raising rolls the insert back.
            raise RequestPending(f"Une demande de prise de RDV en date du {day} est actuellement en cours de "
                                 f"traitement.", {"pending_since": _aware(pending).date().isoformat()})
        _enqueue_request_mails(conn, row, doc, signer, base_url)
    log.info("callback request %s stored for formation %s", row["id"], request.formation_id)
    return {"id": row["id"], "formation_id": row["formation_id"], "created_at": now.isoformat(timespec="seconds")}


def answer_url(signer: LinkSigner, base_url: str, request_id: str, now: datetime) -> str:
    """The signed link of the CFA's answer page for one request."""
    return f"{base_url.rstrip('/')}/rdva/cfa/{request_id}?token={signer.sign(ANSWER_PURPOSE, request_id, now)}"


def _mail_context(row: dict[str, Any]) -> dict[str, Any]:
    return {"request": row, "reasons": [REASONS[r] for r in row["reasons"] if r in REASONS],
            "applicant_type": APPLICANT_TYPES.get(row["applicant_type"], ""),
            "referrer": REFERRERS.get(row["referrer"], "La bonne alternance"),
            "created": _aware(row["created_at"]).astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")}


def _enqueue_request_mails(conn: Connection, row: dict[str, Any], doc: dict[str, Any], signer: LinkSigner,
                           base_url: str) -> None:
    context = {**_mail_context(row), "answer_url": answer_url(signer, base_url, row["id"], row["created_at"]),
               "place": doc.get("place") or {}}
    contact_mail.enqueue(conn, to=row["cfa_email"], template="callback_to_cfa",
                         context=context, kind="callback.cfa", ref=("callback", row["id"]), now=row["created_at"])
    contact_mail.enqueue(conn, to=row["email"], template="callback_to_applicant",
                         context=context, kind="callback.applicant", ref=("callback", row["id"]), now=row["created_at"])


def _row(conn: Connection, request_id: str) -> dict[str, Any] | None:
    found = conn.execute(sa.select(callback_requests).where(callback_requests.c.id == request_id)).mappings().first()
    return dict(found) if found else None


def open_for_cfa(store: Engine, signer: LinkSigner, request_id: str, token: str, now: datetime) -> dict[str, Any]:
    """The request the CFA's link points to; the first opening records the read time.

    Raises contact_links.LinkError (tampered, expired, other purpose or other request) or
    FormationNotFound when the request no longer exists (anonymised rows read as gone).
    """
    signer.verify(ANSWER_PURPOSE, token, request_id, ANSWER_LINK_MAX_AGE, now)
    with write_tx(store) as conn:
        conn.execute(sa.update(callback_requests)
                     .where(callback_requests.c.id == request_id, callback_requests.c.read_at.is_(None))
                     .values(read_at=now))
        row = _row(conn, request_id)
    if row is None or row["anonymised_at"] is not None:
        raise FormationNotFound("Cette demande n'existe plus.", {"id": request_id})
    return _view(row)


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, **_mail_context(row),
            "answered": (_aware(row["answered_at"]).astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")
                         if row["answered_at"] else None)}


def answer_callback(store: Engine, signer: LinkSigner, request_id: str, token: str, kind: str, message: str,
                    now: datetime) -> dict[str, Any]:
    """Record the CFA's answer once; a personalised answer is e-mailed to the applicant.

    Raises LinkError, FormationNotFound, AlreadyAnswered, or CallbackError for an empty personal message.
    """
    signer.verify(ANSWER_PURPOSE, token, request_id, ANSWER_LINK_MAX_AGE, now)
    if kind not in ANSWER_KINDS:
        raise CallbackError("Choisissez une réponse.", {"kind": list(ANSWER_KINDS)})
    message = message.strip()
    if kind == "personalised_answer" and not message:
        raise CallbackError("Écrivez le message à envoyer au candidat.", {"message": "obligatoire"})
    with write_tx(store) as conn:
        done = conn.execute(sa.update(callback_requests)
                            .where(callback_requests.c.id == request_id, callback_requests.c.answered_at.is_(None),
                                   callback_requests.c.anonymised_at.is_(None))
                            .values(answered_at=now, answer_kind=kind,
                                    answer_message=message if kind == "personalised_answer" else None,
                                    read_at=sa.func.coalesce(callback_requests.c.read_at, now))).rowcount
        row = _row(conn, request_id)
        if row is None or row["anonymised_at"] is not None:
            raise FormationNotFound("Cette demande n'existe plus.", {"id": request_id})
        if not done:
            raise AlreadyAnswered(f"Vous avez déjà répondu à cette demande le {_view(row)['answered']}.",
                                  {"id": request_id})
        if kind == "personalised_answer":
            contact_mail.enqueue(conn, to=row["email"], template="callback_answer_to_applicant",
                                 context=_mail_context(row), kind="callback.answer", ref=("callback", request_id),
                                 now=now)
    log.info("callback request %s answered (%s)", request_id, kind)
    return _view(row)


def reminder_due(created_at: datetime) -> datetime:
    """When an unread request gets its reminder: REMINDER_WORKING_DAYS working days after it was sent."""
    return add_working_days(_aware(created_at), REMINDER_WORKING_DAYS)


def send_reminders(store: Engine, signer: LinkSigner, now: datetime, base_url: str) -> int:
    """E-mail each CFA whose request is still unread after 3 working days, once; returns how many.

    Claiming the row (`reminded_at` set where it was empty) and queueing the e-mail share one
    transaction, so two schedulers running at once never remind twice.
    """
    # Three working days are at least three calendar days: only older rows can be due.
    query = (sa.select(callback_requests)
             .where(callback_requests.c.read_at.is_(None), callback_requests.c.answered_at.is_(None),
                    callback_requests.c.reminded_at.is_(None), callback_requests.c.anonymised_at.is_(None),
                    callback_requests.c.created_at <= now - timedelta(days=REMINDER_WORKING_DAYS)))
    with store.connect() as conn:
        candidates = [dict(r) for r in conn.execute(query).mappings()]
    sent = 0
    for row in candidates:
        if reminder_due(row["created_at"]) > now:
            continue
        with write_tx(store) as conn:
            claimed = conn.execute(sa.update(callback_requests)
                                   .where(callback_requests.c.id == row["id"],
                                          callback_requests.c.reminded_at.is_(None),
                                          callback_requests.c.read_at.is_(None))
                                   .values(reminded_at=now)).rowcount
            if not claimed:
                continue
            context = {**_mail_context(row), "answer_url": answer_url(signer, base_url, row["id"], now)}
            contact_mail.enqueue(conn, to=row["cfa_email"], template="callback_reminder_to_cfa",
                                 context=context, kind="callback.reminder", ref=("callback", row["id"]), now=now)
        sent += 1
    log.info("callback reminders: %d sent", sent)
    return sent


def appointment_context(engine: SearchEngine, formation_id: str, base_url: str,
                        referrer: str = "lba") -> dict[str, Any]:
    """The public service's appointment context of a formation: its CFA, place and the form's link.

    Raises FormationNotFound / CallbackUnavailable when requests cannot be made for it.
    """
    from urllib.parse import urlencode

    doc = eligible_formation(engine, formation_id)
    organisation = doc.get("organisation") or {}
    place = doc.get("place") or {}
    query = urlencode({"referrer": referrer, "cleMinistereEducatif": formation_id})
    return {
        "etablissement_formateur_entreprise_raison_sociale": organisation.get("name") or None,
        "intitule_long": doc.get("title", ""),
        "lieu_formation_adresse": place.get("address", ""),
        "code_postal": place.get("postcode", ""),
        "etablissement_formateur_siret": organisation.get("siret") or None,
        "cfd": doc.get("cfd", ""),
        "localite": place.get("city", ""),
        "cle_ministere_educatif": formation_id,
        "form_url": f"{base_url.rstrip('/')}/rdva?{query}",
    }


def callback_form(engine: SearchEngine, formation_id: str) -> dict[str, Any]:
    """What the applicant's form needs: availability, the formation's public summary and the fixed choices."""
    choices = {"reasons": [{"code": c, "label": label} for c, label in REASONS.items()],
               "applicant_types": [{"code": "etudiant", "label": "Je suis un jeune"},
                                   {"code": "parent", "label": "Je suis un parent"}]}
    try:
        doc = eligible_formation(engine, formation_id)
    except CallbackError as exc:
        return {"formation_id": formation_id, "available": False, "message": exc.message, "formation": None,
                **choices}
    place = doc.get("place") or {}
    summary = {"title": doc.get("title", ""), "organisation": (doc.get("organisation") or {}).get("name", ""),
               "address": place.get("address", ""), "postcode": place.get("postcode", ""),
               "city": place.get("city", "")}
    return {"formation_id": formation_id, "available": True, "message": None, "formation": summary, **choices}
