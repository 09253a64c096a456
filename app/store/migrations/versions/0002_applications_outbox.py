"""Applications, idempotency keys, the mail outbox and used signed links.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('applications',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('applicant_first_name', sa.String(length=50), nullable=False),
        sa.Column('applicant_last_name', sa.String(length=50), nullable=False),
        sa.Column('applicant_email', sa.String(length=320), nullable=False),
        sa.Column('applicant_phone', sa.String(length=30), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('extra', sa.JSON(), nullable=False),
        sa.Column('target_kind', sa.String(length=10), nullable=False),
        sa.Column('target_id', sa.String(length=120), nullable=False),
        sa.Column('target_siret', sa.String(length=14), nullable=False),
        sa.Column('target_title', sa.String(length=300), nullable=False),
        sa.Column('company_name', sa.String(length=300), nullable=False),
        sa.Column('caller', sa.String(length=100), nullable=False),
        sa.Column('cv_name', sa.String(length=255), nullable=False),
        sa.Column('cv_type', sa.String(length=10), nullable=False),
        sa.Column('cv_size', sa.Integer(), nullable=False),
        sa.Column('cv_sha256', sa.String(length=64), nullable=False),
        sa.Column('intention', sa.String(length=20), nullable=True),
        sa.Column('intention_reason', sa.String(length=60), nullable=True),
        sa.Column('intention_message', sa.Text(), nullable=True),
        sa.Column('intention_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_applications_caller_siret_created', 'applications', ['caller', 'target_siret', 'created_at'])
    op.create_index('ix_applications_email_created', 'applications', ['applicant_email', 'created_at'])
    op.create_index('ix_applications_email_target', 'applications', ['applicant_email', 'target_kind', 'target_id'])
    op.create_index('ix_applications_target', 'applications', ['target_kind', 'target_id'])
    op.create_table('idempotency_keys',
        sa.Column('scope', sa.String(length=120), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('body_sha256', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'key')
    )
    op.create_table('outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=60), nullable=False),
        sa.Column('ref_type', sa.String(length=40), nullable=False),
        sa.Column('ref_id', sa.String(length=64), nullable=False),
        sa.Column('to_address', sa.String(length=320), nullable=False),
        sa.Column('reply_to', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('text_body', sa.Text(), nullable=False),
        sa.Column('html_body', sa.Text(), nullable=False),
        sa.Column('attachment_name', sa.String(length=255), nullable=True),
        sa.Column('attachment_type', sa.String(length=120), nullable=True),
        sa.Column('attachment', sa.LargeBinary(), nullable=True),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_owner', sa.String(length=80), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('on_failure', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id')
    )
    op.create_index('ix_outbox_ref', 'outbox', ['ref_type', 'ref_id'])
    op.create_index('ix_outbox_state_next', 'outbox', ['state', 'next_attempt_at'])
    op.create_table('used_tokens',
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=60), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('token_sha256')
    )


def downgrade() -> None:
    op.drop_table('used_tokens')
    op.drop_table('outbox')
    op.drop_table('idempotency_keys')
    op.drop_table('applications')
