"""Callback requests to CFAs ("RDV Apprentissage") and company opt-out requests.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('callback_requests',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('formation_id', sa.String(length=200), nullable=False),
        sa.Column('formation_title', sa.String(length=300), nullable=False),
        sa.Column('cfa_name', sa.String(length=300), nullable=False),
        sa.Column('cfa_email', sa.String(length=320), nullable=False),
        sa.Column('referrer', sa.String(length=30), nullable=False),
        sa.Column('applicant_type', sa.String(length=10), nullable=False),
        sa.Column('first_name', sa.String(length=50), nullable=False),
        sa.Column('last_name', sa.String(length=50), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('phone', sa.String(length=30), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('answer_kind', sa.String(length=30), nullable=True),
        sa.Column('answer_message', sa.Text(), nullable=True),
        sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_callback_requests_email_formation', 'callback_requests',
                    ['email', 'formation_id', 'created_at'])
    op.create_index('ix_callback_requests_unread', 'callback_requests', ['read_at', 'created_at'])
    op.create_table('company_opt_out_requests',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('sirets', sa.JSON(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_company_opt_out_requests_created', 'company_opt_out_requests', ['created_at'])


def downgrade() -> None:
    op.drop_table('company_opt_out_requests')
    op.drop_table('callback_requests')
