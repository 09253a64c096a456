"""Tables that existed before the migration history: API keys, job runs and locks, opt-outs, deposited offers."""
from __future__ import annotations

import sqlalchemy as sa

from app.store.base import metadata

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    # SHA-256 of the key: keys are 32 random bytes, so a fast hash is enough and lookups stay O(1).
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(12), nullable=False),
    sa.Column("rate_per_second", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

# ----- scheduled jobs (indexers/pipeline.py) ----------------------------------------------------
job_runs = sa.Table(
    "job_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("job", sa.String(40), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("duration_s", sa.Float),
    # running | success | failed | refused_threshold | skipped_locked
    sa.Column("outcome", sa.String(30), nullable=False),
    sa.Column("read_count", sa.Integer, nullable=False, default=0),
    sa.Column("indexed_count", sa.Integer, nullable=False, default=0),
    sa.Column("rejected_count", sa.Integer, nullable=False, default=0),
    # {reason: count}; JSON so a new rejection reason never needs a migration.
    sa.Column("rejected", sa.JSON, nullable=False, default=dict),
    # Warnings, fetch counters (requests, retries, splits), previous count and ratio of a refusal.
    sa.Column("details", sa.JSON, nullable=False, default=dict),
    sa.Column("generation", sa.String(80)),
    sa.Column("error", sa.Text),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    # The threshold check reads the last successful run of a job: this index keeps it one seek.
    sa.Index("ix_job_runs_job_outcome_started", "job", "outcome", "started_at"),
)

# One row per running job: inserting it is the lock, across processes and machines sharing the store.
job_locks = sa.Table(
    "job_locks", metadata,
    sa.Column("job", sa.String(40), primary_key=True),
    sa.Column("owner", sa.String(80), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
)

# Companies that asked not to appear among predicted recruiters: never indexed, whatever the file says.
company_opt_outs = sa.Table(
    "company_opt_outs", metadata,
    sa.Column("siret", sa.String(14), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# ----- offers deposited by recruiters (the fields of mappings.offer.Offer, plus lifecycle) ----------
deposited_offers = sa.Table(
    "deposited_offers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("romes", sa.JSON, nullable=False),  # ["D1102", ...]
    sa.Column("appellation", sa.String(300), nullable=False, default=""),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("contract_types", sa.JSON, nullable=False),  # ["apprentissage", "professionnalisation"]
    sa.Column("diploma_level", sa.Integer),
    sa.Column("start_date", sa.String(10)),
    sa.Column("duration_months", sa.Integer),
    sa.Column("positions", sa.Integer, nullable=False, default=1),
    sa.Column("latitude", sa.Float, nullable=False),
    sa.Column("longitude", sa.Float, nullable=False),
    sa.Column("address", sa.String(300), nullable=False, default=""),
    sa.Column("city", sa.String(200), nullable=False, default=""),
    sa.Column("postcode", sa.String(10), nullable=False, default=""),
    sa.Column("insee", sa.String(5), nullable=False, default=""),
    sa.Column("department", sa.String(3), nullable=False, default=""),
    sa.Column("company_name", sa.String(300), nullable=False, default=""),
    sa.Column("company_siret", sa.String(14), nullable=False, default=""),
    sa.Column("company_naf", sa.String(5), nullable=False, default=""),
    sa.Column("company_naf_label", sa.String(300), nullable=False, default=""),
    sa.Column("company_size", sa.String(50), nullable=False, default=""),
    sa.Column("company_opco", sa.String(100), nullable=False, default=""),
    sa.Column("apply_url", sa.String(500), nullable=False, default=""),
    sa.Column("apply_phone", sa.String(30), nullable=False, default=""),
    sa.Column("apply_email", sa.String(320), nullable=False, default=""),
    sa.Column("application_count", sa.Integer, nullable=False, default=0),
    # mappings.offer.STATUSES, plus "pending" (account not yet validated: never indexed)
    sa.Column("status", sa.String(20), nullable=False, default="active"),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Every write sets it: the incremental job and the post-rebuild replay select on it.
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, index=True),
    # ----- revision 0004: who publishes, the deposit form's fields, the lifecycle's marks -----
    # The recruiter account (deposit form) or the partner API key (v3 write API) behind the offer.
    sa.Column("account_id", sa.Integer),
    sa.Column("cfa_partner_company_id", sa.Integer),  # set when a CFA publishes for a partner company
    sa.Column("partner_id", sa.Integer),  # api_keys.id
    sa.Column("partner_job_id", sa.String(200)),  # the partner's own id: offers are upserted on it
    sa.Column("partner_payload", sa.JSON),  # the v3 body as accepted, for GET /api/v3/jobs/{id}
    sa.Column("appellation_code", sa.String(10), nullable=False, default=""),  # OGR code (France Travail feed)
    sa.Column("start_asap", sa.Boolean, nullable=False, default=False),
    sa.Column("rhythm", sa.String(100), nullable=False, default=""),
    sa.Column("questions", sa.JSON, nullable=False, default=list),  # up to 3 questions to applicants
    sa.Column("disability_friendly", sa.Boolean, nullable=False, default=False),
    sa.Column("ft_support", sa.Boolean, nullable=False, default=False),  # asks France Travail for support
    sa.Column("multicast", sa.Boolean, nullable=False, default=True),  # exported to partner platforms
    # Why it left search: the cancel motive, "filled", "expired", the 80-application rule.
    sa.Column("status_reason", sa.Text, nullable=False, default=""),
    sa.Column("prolongation_count", sa.Integer, nullable=False, default=0),
    # Reminder marks, set in the transaction that queues the e-mail: each is sent once per expiry date.
    sa.Column("reminded_7_at", sa.DateTime(timezone=True)),
    sa.Column("reminded_1_at", sa.DateTime(timezone=True)),
    sa.Column("expiry_notified_at", sa.DateTime(timezone=True)),
    sa.Index("ix_deposited_offers_account", "account_id", "status"),
    sa.Index("ix_deposited_offers_status_expires", "status", "expires_at"),
    sa.Index("ux_deposited_offers_partner_job", "partner_id", "partner_job_id", unique=True),
)
