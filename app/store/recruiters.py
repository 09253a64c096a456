"""Tables of the recruiter side: accounts, the company-search cache, CFAs' partner companies, delegations."""
from __future__ import annotations

import sqlalchemy as sa

from app.store.base import metadata

#: Account kinds: a company publishing for itself, a CFA publishing for its partner companies, and the
#: validators created by `lba recruiters grant-admin` without a company: an OPCO's (column `opco` = the
#: OPCO whose pending accounts they see) and the service's administrators.
ACCOUNT_KINDS = ("entreprise", "cfa", "opco", "admin")
#: pending (waits for an administrator or the company's OPCO) → validated | refused; disabled by an admin.
ACCOUNT_STATUSES = ("pending", "validated", "refused", "disabled")

recruiter_accounts = sa.Table(
    "recruiter_accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # ACCOUNT_KINDS
    # Lower-cased: one account per address; the magic link is sent there.
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("first_name", sa.String(100), nullable=False, default=""),
    sa.Column("last_name", sa.String(100), nullable=False, default=""),
    sa.Column("phone", sa.String(30), nullable=False, default=""),
    # The establishment behind the account (the company itself, or the CFA), from the company-search API.
    sa.Column("siret", sa.String(14), nullable=False, index=True),
    sa.Column("company_name", sa.String(300), nullable=False, default=""),
    sa.Column("address", sa.String(300), nullable=False, default=""),
    sa.Column("postcode", sa.String(10), nullable=False, default=""),
    sa.Column("city", sa.String(200), nullable=False, default=""),
    sa.Column("insee", sa.String(5), nullable=False, default=""),
    sa.Column("latitude", sa.Float),
    sa.Column("longitude", sa.Float),
    sa.Column("naf", sa.String(6), nullable=False, default=""),
    sa.Column("naf_label", sa.String(300), nullable=False, default=""),
    sa.Column("size", sa.String(50), nullable=False, default=""),
    sa.Column("opco", sa.String(100), nullable=False, default=""),
    sa.Column("status", sa.String(20), nullable=False, default="pending"),  # ACCOUNT_STATUSES
    sa.Column("status_reason", sa.Text, nullable=False, default=""),
    # Granted by `lba recruiters grant-admin`, never by a form.
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("email_confirmed_at", sa.DateTime(timezone=True)),
    sa.Column("validated_at", sa.DateTime(timezone=True)),
    sa.Column("validated_by", sa.String(320), nullable=False, default=""),
    # Bumped to end every open session of the account (sign-out everywhere, refusal, disabling).
    sa.Column("session_version", sa.Integer, nullable=False, default=1),
    sa.Column("last_login_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_recruiter_accounts_status", "status", "created_at"),
)

# The company-search API's answers, shared by every process: one lookup per SIRET per cache period.
company_lookups = sa.Table(
    "company_lookups", metadata,
    sa.Column("siret", sa.String(14), primary_key=True),
    # found | unknown | non_diffusible (the API's own verdicts; timeouts and errors are never cached)
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("payload", sa.JSON),  # the normalised company record when found
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
)

# Companies a CFA account publishes for; the SIRET is checked like a company account's.
cfa_partner_companies = sa.Table(
    "cfa_partner_companies", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("cfa_account_id", sa.Integer, sa.ForeignKey("recruiter_accounts.id"), nullable=False),
    sa.Column("siret", sa.String(14), nullable=False),
    sa.Column("company_name", sa.String(300), nullable=False, default=""),
    sa.Column("address", sa.String(300), nullable=False, default=""),
    sa.Column("postcode", sa.String(10), nullable=False, default=""),
    sa.Column("city", sa.String(200), nullable=False, default=""),
    sa.Column("insee", sa.String(5), nullable=False, default=""),
    sa.Column("latitude", sa.Float),
    sa.Column("longitude", sa.Float),
    sa.Column("naf", sa.String(6), nullable=False, default=""),
    sa.Column("naf_label", sa.String(300), nullable=False, default=""),
    sa.Column("size", sa.String(50), nullable=False, default=""),
    sa.Column("opco", sa.String(100), nullable=False, default=""),
    sa.Column("email", sa.String(320), nullable=False, default=""),
    sa.Column("phone", sa.String(30), nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ux_cfa_partner_companies_cfa_siret", "cfa_account_id", "siret", unique=True),
)

# CFAs a recruiter picked for an offer; each is e-mailed once, when the account is validated.
offer_delegations = sa.Table(
    "offer_delegations", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("offer_id", sa.Integer, sa.ForeignKey("deposited_offers.id"), nullable=False),
    sa.Column("cfa_siret", sa.String(14), nullable=False),
    sa.Column("cfa_name", sa.String(300), nullable=False, default=""),
    sa.Column("cfa_email", sa.String(320), nullable=False),
    sa.Column("formation_id", sa.String(200), nullable=False, default=""),
    sa.Column("distance_km", sa.Float),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Set in the transaction that queues the CFA's e-mail: never e-mailed twice.
    sa.Column("notified_at", sa.DateTime(timezone=True)),
    sa.Index("ux_offer_delegations_offer_cfa", "offer_id", "cfa_siret", unique=True),
)
