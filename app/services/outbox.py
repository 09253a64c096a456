"""The mail outbox: messages written in the caller's transaction, delivered by `lba worker` at most once each.

State machine of a row (column `state`):

    pending ──claim──▶ sending ──checkpoint──▶ committing ──250──▶ sent
       ▲                  │                        │
       └──retry (backoff)─┘ SMTP refused/failed    └── worker gone (lease expired) ──▶ unconfirmed
                          └── last try ──▶ failed (+ the row's `on_failure` message queued)

* claim: one UPDATE takes due `pending` rows, and `sending` rows whose lease expired (their worker
  died before the server could hold the message), sets a lease and a per-worker owner. PostgreSQL
  selects them `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait for or share a row;
  SQLite serialises writers, and the same statement (whose FOR UPDATE it ignores) is atomic there.
* checkpoint: the whole message has gone to the server except the final "."; `committing` is
  committed only if this worker still owns the lease (a worker too slow to keep its lease stops
  there and sends no dot, so the server discards its copy). Until the dot a crash delivers nothing
  (RFC 5321: the server takes responsibility at the 250 after the dot), so re-sending is safe.
* sent: recorded right after the server's 250, with the attachment (a CV) deleted in the same UPDATE.

Guarantee: no message is ever sent twice by us, every message whose worker dies before the
checkpoint is re-sent, and the only uncertain window is between the checkpoint and reading the
server's 250 (one round trip). A row found in that window after its lease expired is set to
`unconfirmed` — never re-sent, shown by `lba outbox status` for an operator to check in the mail
server's log by its Message-ID, which is fixed per row so such a check (or a receiver's
de-duplication) can always tell copies apart. SMTP cannot do better without server cooperation.
"""
from __future__ import annotations

import logging
import os
import smtplib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app.services.mailer import Rendered, SmtpSender, build_message
from app.store import outbox, write_tx

log = logging.getLogger(__name__)

#: Domain of the Message-ID headers the outbox writes.
MESSAGE_ID_DOMAIN = "labonnealternance.local"
TERMINAL = ("sent", "failed", "unconfirmed")


@dataclass(frozen=True)
class OutboxPolicy:
    """How many tries, how long between them, how long a worker owns a claimed message."""

    max_attempts: int = 6
    backoff_s: float = 60.0
    lease_s: float = 120.0

    def delay_after(self, attempts: int) -> timedelta:
        """Exponential backoff: backoff_s, then twice as long after every failed try."""
        return timedelta(seconds=self.backoff_s * (2 ** max(attempts - 1, 0)))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def enqueue(conn: Connection, *, kind: str, to: str, rendered: Rendered, ref: tuple[str, str] = ("", ""),
            reply_to: str = "", attachment: tuple[str, str, bytes] | None = None,
            on_failure: Mapping[str, str] | None = None, max_attempts: int | None = None,
            now: datetime | None = None) -> str:
    """Queue one message inside the caller's transaction; returns its Message-ID.

    `attachment` is (file name, MIME type, bytes); `on_failure` is a message (to, subject, text,
    html) queued if this one fails for good, e.g. telling an applicant their application was not sent.
    """
    moment = now or _now()
    message_id = f"<{uuid.uuid4().hex}@{MESSAGE_ID_DOMAIN}>"
    name, mime, content = attachment if attachment else (None, None, None)
    conn.execute(sa.insert(outbox).values(
        message_id=message_id, kind=kind, ref_type=ref[0], ref_id=ref[1], to_address=to, reply_to=reply_to,
        subject=rendered.subject, text_body=rendered.text, html_body=rendered.html, attachment_name=name,
        attachment_type=mime, attachment=content, state="pending", attempts=0,
        max_attempts=max_attempts or OutboxPolicy.max_attempts, next_attempt_at=moment, on_failure=
        dict(on_failure) if on_failure else None, created_at=moment))
    return message_id


def worker_id() -> str:
    """A lease owner name unique to this process and start."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def recover_expired(engine: Engine, now: datetime | None = None) -> int:
    """Mark `committing` rows whose worker is gone as `unconfirmed` (never re-sent); returns how many."""
    moment = now or _now()
    with write_tx(engine) as conn:
        result = conn.execute(sa.update(outbox).where(outbox.c.state == "committing", outbox.c.lease_until < moment)
                              .values(state="unconfirmed", attachment=None, lease_owner=None,
                                      last_error="worker stopped while the server was accepting the message"))
        return result.rowcount or 0


def claim(engine: Engine, owner: str, limit: int, policy: OutboxPolicy, now: datetime | None = None) -> list[dict]:
    """Lease up to `limit` due messages to `owner` and return them (with attachments)."""
    moment = now or _now()
    due = sa.or_(sa.and_(outbox.c.state == "pending", outbox.c.next_attempt_at <= moment),
                 sa.and_(outbox.c.state == "sending", outbox.c.lease_until < moment))
    picked = (sa.select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit)
              .with_for_update(skip_locked=True))
    with write_tx(engine) as conn:
        conn.execute(sa.update(outbox).where(outbox.c.id.in_(picked.scalar_subquery()))
                     .values(state="sending", lease_owner=owner, lease_until=moment + timedelta(seconds=policy.lease_s),
                             attempts=outbox.c.attempts + 1)
                     .execution_options(synchronize_session=False))
        rows = conn.execute(sa.select(outbox).where(outbox.c.lease_owner == owner, outbox.c.state == "sending")
                            .order_by(outbox.c.id)).mappings().all()
    return [dict(row) for row in rows]


class LeaseLost(RuntimeError):
    """Another worker took over the message (our lease expired): this worker must not finish sending it."""


def _checkpoint(engine: Engine, row_id: int, owner: str) -> None:
    with write_tx(engine) as conn:
        done = conn.execute(sa.update(outbox).where(outbox.c.id == row_id, outbox.c.lease_owner == owner,
                                                    outbox.c.state == "sending")
                            .values(state="committing")).rowcount
    if not done:
        raise LeaseLost(f"outbox {row_id}: lease lost before the final dot")


def _record_sent(engine: Engine, row_id: int, owner: str) -> None:
    with write_tx(engine) as conn:
        conn.execute(sa.update(outbox).where(outbox.c.id == row_id, outbox.c.lease_owner == owner)
                     .values(state="sent", sent_at=_now(), attachment=None, lease_owner=None, lease_until=None,
                             last_error=None))


def _record_failure(engine: Engine, row: Mapping[str, Any], owner: str, error: str, permanent: bool,
                    policy: OutboxPolicy, uncertain: bool) -> str:
    """Back to pending with backoff, or failed (queueing its on_failure message), or unconfirmed."""
    moment = _now()
    with write_tx(engine) as conn:
        mine = sa.and_(outbox.c.id == row["id"], outbox.c.lease_owner == owner)
        if uncertain:
            conn.execute(sa.update(outbox).where(mine).values(state="unconfirmed", attachment=None, lease_owner=None,
                                                              lease_until=None, last_error=error))
            return "unconfirmed"
        if permanent or row["attempts"] >= row["max_attempts"]:
            done = conn.execute(sa.update(outbox).where(mine).values(
                state="failed", attachment=None, lease_owner=None, lease_until=None, last_error=error)).rowcount
            notice = row.get("on_failure")
            if done and notice:
                enqueue(conn, kind=f"{row['kind']}.failed", to=notice["to"], ref=(row["ref_type"], row["ref_id"]),
                        rendered=Rendered(notice["subject"], notice["text"], notice.get("html", "")))
            return "failed"
        conn.execute(sa.update(outbox).where(mine).values(
            state="pending", lease_owner=None, lease_until=None, last_error=error,
            next_attempt_at=moment + policy.delay_after(row["attempts"])))
        return "pending"


def deliver(engine: Engine, sender: SmtpSender, mail_from: str, owner: str, policy: OutboxPolicy,
            limit: int = 20) -> dict[str, int]:
    """One pass: recover dead workers' rows, claim up to `limit` messages, send each; counts per outcome."""
    counts = {"sent": 0, "pending": 0, "failed": 0, "unconfirmed": recover_expired(engine), "lease_lost": 0}
    for row in claim(engine, owner, limit, policy):
        reached_dot = False

        def checkpoint(row_id: int = row["id"]) -> None:
            nonlocal reached_dot
            _checkpoint(engine, row_id, owner)
            reached_dot = True

        try:
            sender.send(build_message(row, mail_from), before_commit=checkpoint)
        except LeaseLost:
            sender.close()  # drop the session without the dot: the server discards the message
            counts["lease_lost"] += 1
            continue
        except smtplib.SMTPResponseException as exc:
            # An explicit refusal, even after the dot, means the server did not take the message.
            outcome = _record_failure(engine, row, owner, f"{exc.smtp_code} {exc.smtp_error!r}",
                                      permanent=exc.smtp_code >= 500, policy=policy, uncertain=False)
            counts[outcome] += 1
            log.warning("outbox %s (%s): attempt %d refused with %s → %s", row["id"], row["kind"],
                        row["attempts"], exc.smtp_code, outcome)
            continue
        except (smtplib.SMTPException, OSError) as exc:
            outcome = _record_failure(engine, row, owner, f"{type(exc).__name__}: {exc}", permanent=False,
                                      policy=policy, uncertain=reached_dot)
            counts[outcome] += 1
            log.warning("outbox %s (%s): attempt %d failed (%s) → %s", row["id"], row["kind"], row["attempts"],
                        type(exc).__name__, outcome)
            continue
        _record_sent(engine, row["id"], owner)
        counts["sent"] += 1
        # The recipient's address is personal data: the log names the row and its kind only.
        log.info("outbox %s (%s) sent, %s", row["id"], row["kind"], row["message_id"])
    return counts


def run_worker(engine: Engine, sender_factory: Callable[[], SmtpSender], mail_from: str, policy: OutboxPolicy,
               poll_s: float = 2.0, stop: threading.Event | None = None, batch: int = 20) -> None:
    """Deliver until `stop` is set: a pass, then a pause of `poll_s` when nothing was due."""
    owner = worker_id()
    stop = stop or threading.Event()
    log.info("outbox worker %s started", owner)
    with sender_factory() as sender:
        while not stop.is_set():
            try:
                counts = deliver(engine, sender, mail_from, owner, policy, batch)
            except sa.exc.OperationalError as exc:
                log.error("outbox worker: store unavailable (%s), retrying", exc.__class__.__name__)
                counts = {}
            if not any(counts.get(key) for key in ("sent", "pending", "failed")):
                sender.close()  # an idle worker holds no SMTP session open
                stop.wait(poll_s)
    log.info("outbox worker %s stopped", owner)


def status_counts(engine: Engine) -> dict[str, int]:
    """Messages per state."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.state, sa.func.count()).group_by(outbox.c.state)).all()
    return {state: count for state, count in rows}


def policy_of(settings: Any) -> OutboxPolicy:
    """The outbox policy of the service's settings."""
    return OutboxPolicy(max_attempts=settings.outbox_max_attempts, backoff_s=settings.outbox_backoff_s,
                        lease_s=settings.outbox_lease_s)


def wait_idle(engine: Engine, timeout_s: float) -> bool:
    """Whether every message reached a final state within `timeout_s` (benchmarks and tests)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        counts = status_counts(engine)
        if not any(counts.get(state) for state in ("pending", "sending", "committing")):
            return True
        time.sleep(0.2)
    return False
