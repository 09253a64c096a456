"""Store tables of the contact flows: callback requests to CFAs ("RDV Apprentissage") and company opt-out requests."""
from __future__ import annotations

import sqlalchemy as sa

from app.store.base import metadata

# One row per request a young person (or a parent) sends to a CFA about one formation.
callback_requests = sa.Table(
    "callback_requests", metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # random hex: also the public id
    sa.Column("formation_id", sa.String(200), nullable=False),
    # Copied from the formation document at request time: the answer page and the reminder must
    # not depend on the formation still being in the index.
    sa.Column("formation_title", sa.String(300), nullable=False, default=""),
    sa.Column("cfa_name", sa.String(300), nullable=False, default=""),
    sa.Column("cfa_email", sa.String(320), nullable=False),
    sa.Column("referrer", sa.String(30), nullable=False, default="lba"),
    sa.Column("applicant_type", sa.String(10), nullable=False),  # etudiant | parent
    sa.Column("first_name", sa.String(50), nullable=False),
    sa.Column("last_name", sa.String(50), nullable=False),
    # Lower-cased: the 4-day rule compares addresses whatever their case.
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("phone", sa.String(30), nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("read_at", sa.DateTime(timezone=True)),  # the CFA opened the answer page
    sa.Column("answered_at", sa.DateTime(timezone=True)),
    sa.Column("answer_kind", sa.String(30)),  # personalised_answer | other_channel
    sa.Column("answer_message", sa.Text),
    sa.Column("reminded_at", sa.DateTime(timezone=True)),
    sa.Column("anonymised_at", sa.DateTime(timezone=True)),
    # The 4-day rule looks up (email, formation) over recent rows: one seek.
    sa.Index("ix_callback_requests_email_formation", "email", "formation_id", "created_at"),
    # The reminder job scans unread requests by age.
    sa.Index("ix_callback_requests_unread", "read_at", "created_at"),
)

# A company's request to leave the predicted recruiters, waiting for the e-mailed confirmation.
# Confirmed SIRETs go to `company_opt_outs` (app.store), the one list indexers and the predictor read.
company_opt_out_requests = sa.Table(
    "company_opt_out_requests", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("sirets", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("confirmed_at", sa.DateTime(timezone=True)),
    sa.Column("anonymised_at", sa.DateTime(timezone=True)),
    sa.Index("ix_company_opt_out_requests_created", "created_at"),
)
