"""Anonymisation of applicant data two years after it was given: applications, callback requests and their e-mails."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.store import applications, outbox, write_tx
from app.store.contact import callback_requests, company_opt_out_requests

log = logging.getLogger(__name__)

#: The public service anonymises applicants, applications and appointments after two years.
RETENTION_YEARS = 2
#: What replaces a name or an address: not a valid e-mail, so nothing can ever be sent to it.
REDACTED = "anonymisé"
#: Rows anonymised per transaction: keeps SQLite's write lock short for the web workers.
BATCH = 500


def cutoff(now: datetime, years: int = RETENTION_YEARS) -> datetime:
    """`now` minus `years` calendar years (29 February becomes 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


@dataclass(frozen=True)
class Target:
    """A table of applicant data: which columns to blank, and the outbox references of its e-mails."""

    table: sa.Table
    ref_type: str
    values: dict[str, Any]


TARGETS = (
    Target(applications, "application", {
        "applicant_first_name": REDACTED, "applicant_last_name": REDACTED, "applicant_email": REDACTED,
        "applicant_phone": "", "message": "", "answers": [], "extra": {}, "cv_name": "", "intention_message": None}),
    Target(callback_requests, "callback", {
        "first_name": REDACTED, "last_name": REDACTED, "email": REDACTED, "phone": "", "message": "",
        "answer_message": None}),
    # A company's address, not an applicant's, but personal data all the same (often a named person).
    Target(company_opt_out_requests, "company_opt_out", {"email": REDACTED}),
)


def anonymise(store: Engine, now: datetime, years: int = RETENTION_YEARS) -> dict[str, int]:
    """Blank the personal fields of every row created more than `years` ago, and of its e-mails in the outbox.

    Idempotent (rows already anonymised are skipped); returns the rows anonymised per table.
    Outbox rows still waiting to be sent are left alone: none can be two years old unless the
    worker never ran, and blanking them would lose the message.
    """
    limit = cutoff(now, years)
    counts: dict[str, int] = {}
    for target in TARGETS:
        table = target.table
        done = 0
        while True:
            with write_tx(store) as conn:
                ids = [row[0] for row in conn.execute(
                    sa.select(table.c.id).where(table.c.created_at < limit, table.c.anonymised_at.is_(None))
                    .order_by(table.c.id).limit(BATCH))]
                if not ids:
                    break
                conn.execute(sa.update(table).where(table.c.id.in_(ids))
                             .values(**target.values, anonymised_at=now))
                conn.execute(sa.update(outbox)
                             .where(outbox.c.ref_type == target.ref_type, outbox.c.ref_id.in_(ids),
                                    outbox.c.state.in_(("sent", "failed", "unconfirmed")))
                             .values(to_address=REDACTED, reply_to="", subject=REDACTED, text_body="", html_body="",
                                     attachment=None, attachment_name=None, on_failure=None))
            done += len(ids)
        counts[table.name] = done
    log.info("anonymisation before %s: %s", limit.date().isoformat(), counts)
    return counts
