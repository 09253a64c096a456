"""Company opt-out: a company picks its SIRETs, confirms through an e-mailed link, and leaves search at once.

Which companies an address may remove: the SIRETs it names whose known contact e-mail (in the
company document, from the predicted-recruiters file) is that address, or is on the same company
domain (not a public mailbox such as gmail.com). A company without a known e-mail cannot prove
its identity by e-mail; the team removes it by hand (`lba jobs opt-out add`).
Confirmed SIRETs go to `company_opt_outs`, the one list the recruiters import and the hiring
predictor exclude, so they stay out after every rebuild.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.search.contract import EngineUnavailable, SearchEngine
from app.services import contact_mail
from app.services.contact_links import LinkError, LinkSigner
from app.store import company_opt_outs, write_tx
from app.store.contact import company_opt_out_requests

log = logging.getLogger(__name__)

CONFIRM_PURPOSE = "company-opt-out"
#: The confirmation link works for two days: long enough for a colleague to forward it, short
#: enough that an old forwarded message cannot be replayed much later.
CONFIRM_MAX_AGE = timedelta(hours=48)
MAX_SIRETS = 50  # the public service lists at most 50 establishments per address
REASON = "demande de l'entreprise (lien confirmé)"

#: Per-SIRET outcome of the match, with the sentence shown to the company.
STATUSES = {
    "eligible": "Peut être retiré.",
    "already_opted_out": "Déjà retiré de La bonne alternance.",
    "not_listed": "Cet établissement n'apparaît pas parmi les entreprises proposées.",
    "no_contact": "Aucune adresse e-mail connue pour cet établissement : écrivez-nous pour le retirer.",
    "email_mismatch": "Cette adresse e-mail ne correspond pas au contact connu de cet établissement.",
}


class OptOutError(Exception):
    """A refused opt-out request, with a status, a stable code and a French message."""

    status, code = 422, "opt_out_refused"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class AlreadyConfirmed(OptOutError):
    status, code = 409, "already_confirmed"


@lru_cache(maxsize=1)
def webmail_domains() -> frozenset[str]:
    """Public mailbox domains (a data file, one per line)."""
    lines = (Path(__file__).with_name("webmail_domains.txt")).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


def email_matches(given: str, known: str) -> bool:
    """Whether `given` may speak for a company whose contact address is `known` (see the module's rule)."""
    given, known = given.strip().lower(), known.strip().lower()
    if not known or "@" not in given:
        return False
    if given == known:
        return True
    domain = _domain(given)
    return domain == _domain(known) and domain not in webmail_domains()


@dataclass(frozen=True)
class Candidate:
    """One named SIRET and whether the address may remove it; never carries the known e-mail."""

    siret: str
    status: str
    name: str = ""
    address: str = ""
    postcode: str = ""
    city: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON of the candidate, with the French sentence of its status."""
        return {"siret": self.siret, "name": self.name, "address": self.address, "postcode": self.postcode,
                "city": self.city, "status": self.status, "message": STATUSES[self.status]}


def _already_out(store: Engine, sirets: list[str]) -> set[str]:
    with store.connect() as conn:
        rows = conn.execute(sa.select(company_opt_outs.c.siret).where(company_opt_outs.c.siret.in_(sirets)))
        return {row[0] for row in rows}


def match_companies(store: Engine, engine: SearchEngine, email: str, sirets: list[str]) -> list[Candidate]:
    """Each named SIRET with its status: eligible, already out, not listed, no known contact, other address."""
    sirets = list(dict.fromkeys(sirets))[:MAX_SIRETS]
    docs = engine.get_many("company", sirets)
    out = _already_out(store, sirets)
    candidates = []
    for siret in sirets:
        doc = docs.get(siret)
        if siret in out:
            candidates.append(Candidate(siret, "already_opted_out"))
            continue
        if doc is None:
            candidates.append(Candidate(siret, "not_listed"))
            continue
        place = doc.get("place") or {}
        known = (doc.get("private") or {}).get("email", "")
        status = "eligible" if email_matches(email, known) else ("email_mismatch" if known else "no_contact")
        candidates.append(Candidate(siret, status, doc.get("title", ""), place.get("address", ""),
                                    place.get("postcode", ""), place.get("city", "")))
    return candidates


def confirm_url(signer: LinkSigner, base_url: str, request_id: str, now: datetime) -> str:
    """The signed confirmation link of one opt-out request."""
    token = signer.sign(CONFIRM_PURPOSE, request_id, now)
    return f"{base_url.rstrip('/')}/entreprises/desinscription/{request_id}?token={token}"


def request_opt_out(store: Engine, engine: SearchEngine, signer: LinkSigner, email: str, sirets: list[str],
                    reason: str, now: datetime, base_url: str) -> dict[str, Any]:
    """Store a request for the eligible SIRETs among `sirets` and queue the confirmation e-mail.

    Raises OptOutError (with every SIRET's status in `details`) when none is eligible. Nothing is
    removed before the link is followed.
    """
    candidates = match_companies(store, engine, email, sirets)
    chosen = [c for c in candidates if c.status == "eligible"]
    if not chosen:
        raise OptOutError("Aucun des établissements indiqués ne peut être retiré avec cette adresse e-mail.",
                          {"companies": [c.as_dict() for c in candidates]})
    row: dict[str, Any] = {"id": secrets.token_hex(16), "email": email.strip().lower(),
                           "sirets": [c.siret for c in chosen], "reason": reason.strip(), "created_at": now}
    context = {"companies": [c.as_dict() for c in chosen], "valid_hours": int(CONFIRM_MAX_AGE.total_seconds() // 3600),
               "confirm_url": confirm_url(signer, base_url, row["id"], now)}
    with write_tx(store) as conn:
        conn.execute(sa.insert(company_opt_out_requests).values(**row))
        contact_mail.enqueue(conn, to=row["email"], template="opt_out_confirm",
                             context=context, kind="opt_out.confirm", ref=("company_opt_out", row["id"]), now=now)
    log.info("opt-out request %s stored for %d establishment(s)", row["id"], len(chosen))
    return {"id": row["id"], "companies": [c.as_dict() for c in candidates],
            "expires_at": (now + CONFIRM_MAX_AGE).isoformat(timespec="seconds")}


def pending_request(store: Engine, signer: LinkSigner, request_id: str, token: str, now: datetime) -> dict[str, Any]:
    """The request a confirmation link points to (for the page showing what will be removed)."""
    signer.verify(CONFIRM_PURPOSE, token, request_id, CONFIRM_MAX_AGE, now)
    with store.connect() as conn:
        row = conn.execute(sa.select(company_opt_out_requests)
                           .where(company_opt_out_requests.c.id == request_id)).mappings().first()
    if row is None or row["anonymised_at"] is not None:
        raise LinkError("Cette demande n'existe plus.")
    return {"id": row["id"], "sirets": list(row["sirets"]), "confirmed": row["confirmed_at"] is not None}


def confirm_opt_out(store: Engine, engine: SearchEngine, signer: LinkSigner, request_id: str, token: str,
                    now: datetime) -> dict[str, Any]:
    """Follow the link once: record the SIRETs in `company_opt_outs` and delete them from the engine at once.

    Raises LinkError (tampered, expired, other purpose) or AlreadyConfirmed (the link was used).
    """
    signer.verify(CONFIRM_PURPOSE, token, request_id, CONFIRM_MAX_AGE, now)
    names = _names(store, engine, request_id)  # read before the write lock is taken
    with write_tx(store) as conn:
        row = conn.execute(sa.select(company_opt_out_requests)
                           .where(company_opt_out_requests.c.id == request_id)).mappings().first()
        if row is None or row["anonymised_at"] is not None:
            raise LinkError("Cette demande n'existe plus.")
        claimed = conn.execute(sa.update(company_opt_out_requests)
                               .where(company_opt_out_requests.c.id == request_id,
                                      company_opt_out_requests.c.confirmed_at.is_(None))
                               .values(confirmed_at=now)).rowcount
        if not claimed:
            raise AlreadyConfirmed("Ce lien a déjà été utilisé : la désinscription est enregistrée.",
                                   {"id": request_id})
        sirets = list(row["sirets"])
        known = {r[0] for r in conn.execute(sa.select(company_opt_outs.c.siret)
                                            .where(company_opt_outs.c.siret.in_(sirets)))}
        reason = REASON + (f" : {row['reason']}" if row["reason"] else "")
        fresh = [{"siret": s, "reason": reason, "created_at": now} for s in sirets if s not in known]
        if fresh:
            conn.execute(sa.insert(company_opt_outs), fresh)
        companies = [{"siret": s, "name": names.get(s, "")} for s in sirets]
        contact_mail.enqueue(conn, to=row["email"], template="opt_out_done",
                             context={"companies": companies}, kind="opt_out.done",
                             ref=("company_opt_out", request_id), now=now)
    removed = remove_from_search(engine, sirets)
    log.info("opt-out request %s confirmed: %d establishment(s), %d removed from the index",
             request_id, len(sirets), removed)
    return {"id": request_id, "sirets": sirets, "removed_from_search": removed}


def _names(store: Engine, engine: SearchEngine, request_id: str) -> dict[str, str]:
    """Names of the companies of a request, for the confirmation e-mail (empty when the request is unknown)."""
    with store.connect() as conn:
        sirets = conn.execute(sa.select(company_opt_out_requests.c.sirets)
                              .where(company_opt_out_requests.c.id == request_id)).scalar()
    docs = engine.get_many("company", list(sirets or []))
    return {siret: doc.get("title", "") for siret, doc in docs.items()}


def remove_from_search(engine: SearchEngine, sirets: list[str]) -> int:
    """Delete the companies from the published index; an engine that is down is caught up by the next import."""
    try:
        return engine.delete("company", sirets)
    except EngineUnavailable:
        # The row is in company_opt_outs: the next recruiters build leaves them out anyway.
        log.warning("search engine unavailable: %d opted-out companies stay listed until the next import",
                    len(sirets))
        return 0
