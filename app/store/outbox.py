"""Tables of outgoing mail: the outbox the worker delivers, and the signed links already used."""
from __future__ import annotations

import sqlalchemy as sa

from app.store.base import metadata

# One row per e-mail to send; app/services/outbox.py documents the state machine.
outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # The Message-ID header, fixed when the row is written: every attempt sends the same one.
    sa.Column("message_id", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(60), nullable=False),  # e.g. application.recruiter
    # What the message is about (e.g. "application", id): for status pages and the anonymisation job.
    sa.Column("ref_type", sa.String(40), nullable=False, default=""),
    sa.Column("ref_id", sa.String(64), nullable=False, default=""),
    sa.Column("to_address", sa.String(320), nullable=False),
    sa.Column("reply_to", sa.String(320), nullable=False, default=""),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("text_body", sa.Text, nullable=False),
    sa.Column("html_body", sa.Text, nullable=False, default=""),
    sa.Column("attachment_name", sa.String(255)),
    sa.Column("attachment_type", sa.String(120)),
    # Deleted (set NULL) in the transaction that records the message delivered.
    sa.Column("attachment", sa.LargeBinary),
    # pending → sending → committing → sent; failed after the last try; unconfirmed if the worker
    # died while the server was accepting the message (see app/services/outbox.py).
    sa.Column("state", sa.String(12), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("max_attempts", sa.Integer, nullable=False, default=6),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_owner", sa.String(80)),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    # A message (to, subject, text, html) queued in the same transaction when this one fails for good.
    sa.Column("on_failure", sa.JSON),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Index("ix_outbox_state_next", "state", "next_attempt_at"),
    sa.Index("ix_outbox_ref", "ref_type", "ref_id"),
)

# Signed links are single-use: the digest of a link's token is recorded when it is used.
used_tokens = sa.Table(
    "used_tokens", metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("purpose", sa.String(60), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
)
