"""Tables of "Je candidate": applications and the idempotency keys of the requests that created them."""
from __future__ import annotations

import sqlalchemy as sa

from app.store.base import metadata

#: An offer that reaches this many applications is closed and leaves search (the public service's rule);
#: here, beside the table, so the offers rebuild (indexers/) keeps it closed without importing a service.
CLOSE_OFFER_AFTER = 80
#: The status_reason written when that rule closes a deposited offer (its label: app/services/recruiter_offer_view.py).
CLOSED_BY_APPLICATIONS = "max_applications"


def offers_closed_by_applications(store: sa.engine.Engine, threshold: int = CLOSE_OFFER_AFTER) -> set[str]:
    """Engine ids of the offers that received `threshold` applications or more: never indexed again."""
    query = (sa.select(applications.c.target_id)
             .where(applications.c.target_kind == "offer")
             .group_by(applications.c.target_id)
             .having(sa.func.count() >= threshold))
    with store.connect() as conn:
        return {row[0] for row in conn.execute(query)}


applications = sa.Table(
    "applications", metadata,
    # A random public id (uuid4 hex): ids never reveal how many applications the service holds.
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("applicant_first_name", sa.String(50), nullable=False),
    sa.Column("applicant_last_name", sa.String(50), nullable=False),
    # Stored lower-cased: the caps count per applicant and must not be dodged by a capital letter.
    sa.Column("applicant_email", sa.String(320), nullable=False),
    sa.Column("applicant_phone", sa.String(30), nullable=False),
    sa.Column("message", sa.Text, nullable=False, default=""),
    # [{"question", "answer"}] and the optional v2 fields (contract start, duration, formation...).
    sa.Column("answers", sa.JSON, nullable=False, default=list),
    sa.Column("extra", sa.JSON, nullable=False, default=dict),
    sa.Column("target_kind", sa.String(10), nullable=False),  # offer | company
    sa.Column("target_id", sa.String(120), nullable=False),   # engine id of the offer, or the SIRET
    sa.Column("target_siret", sa.String(14), nullable=False, default=""),
    sa.Column("target_title", sa.String(300), nullable=False, default=""),
    sa.Column("company_name", sa.String(300), nullable=False, default=""),
    sa.Column("caller", sa.String(100), nullable=False, default=""),
    sa.Column("cv_name", sa.String(255), nullable=False),
    sa.Column("cv_type", sa.String(10), nullable=False),  # pdf | docx
    sa.Column("cv_size", sa.Integer, nullable=False),
    sa.Column("cv_sha256", sa.String(64), nullable=False),
    # The recruiter's answer through a signed link: interview | refusal, with its reason and message.
    sa.Column("intention", sa.String(20)),
    sa.Column("intention_reason", sa.String(60)),
    sa.Column("intention_message", sa.Text),
    sa.Column("intention_at", sa.DateTime(timezone=True)),
    # Set by the 2-year anonymisation job; personal fields are blanked then.
    sa.Column("anonymised_at", sa.DateTime(timezone=True)),
    # The caps: per applicant per day, per applicant per target, per caller per company per day.
    sa.Index("ix_applications_email_created", "applicant_email", "created_at"),
    sa.Index("ix_applications_email_target", "applicant_email", "target_kind", "target_id"),
    sa.Index("ix_applications_caller_siret_created", "caller", "target_siret", "created_at"),
    sa.Index("ix_applications_target", "target_kind", "target_id"),
)

# A request's Idempotency-Key: the first answer is kept and replayed for a retry with the same body.
idempotency_keys = sa.Table(
    "idempotency_keys", metadata,
    # Keys are scoped to the endpoint and the caller (API key id or "anonymous").
    sa.Column("scope", sa.String(120), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
