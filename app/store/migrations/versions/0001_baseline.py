"""Baseline: the tables the store held before the migration history (keys, job runs and locks, opt-outs, deposited offers).

Revision ID: 0001
Revises: 
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=12), nullable=False),
        sa.Column('rate_per_second', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key_hash')
    )
    op.create_table('job_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job', sa.String(length=40), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('duration_s', sa.Float(), nullable=True),
        sa.Column('outcome', sa.String(length=30), nullable=False),
        sa.Column('read_count', sa.Integer(), nullable=False),
        sa.Column('indexed_count', sa.Integer(), nullable=False),
        sa.Column('rejected_count', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.JSON(), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('generation', sa.String(length=80), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('host', sa.String(length=255), nullable=True),
        sa.Column('pid', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_job_runs_job_outcome_started', 'job_runs', ['job', 'outcome', 'started_at'])
    op.create_table('job_locks',
        sa.Column('job', sa.String(length=40), nullable=False),
        sa.Column('owner', sa.String(length=80), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('job')
    )
    op.create_table('company_opt_outs',
        sa.Column('siret', sa.String(length=14), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('siret')
    )
    op.create_table('deposited_offers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('romes', sa.JSON(), nullable=False),
        sa.Column('appellation', sa.String(length=300), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('contract_types', sa.JSON(), nullable=False),
        sa.Column('diploma_level', sa.Integer(), nullable=True),
        sa.Column('start_date', sa.String(length=10), nullable=True),
        sa.Column('duration_months', sa.Integer(), nullable=True),
        sa.Column('positions', sa.Integer(), nullable=False),
        sa.Column('latitude', sa.Float(), nullable=False),
        sa.Column('longitude', sa.Float(), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=False),
        sa.Column('city', sa.String(length=200), nullable=False),
        sa.Column('postcode', sa.String(length=10), nullable=False),
        sa.Column('insee', sa.String(length=5), nullable=False),
        sa.Column('department', sa.String(length=3), nullable=False),
        sa.Column('company_name', sa.String(length=300), nullable=False),
        sa.Column('company_siret', sa.String(length=14), nullable=False),
        sa.Column('company_naf', sa.String(length=5), nullable=False),
        sa.Column('company_naf_label', sa.String(length=300), nullable=False),
        sa.Column('company_size', sa.String(length=50), nullable=False),
        sa.Column('company_opco', sa.String(length=100), nullable=False),
        sa.Column('apply_url', sa.String(length=500), nullable=False),
        sa.Column('apply_phone', sa.String(length=30), nullable=False),
        sa.Column('apply_email', sa.String(length=320), nullable=False),
        sa.Column('application_count', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_deposited_offers_updated_at', 'deposited_offers', ['updated_at'])


def downgrade() -> None:
    op.drop_table('deposited_offers')
    op.drop_table('company_opt_outs')
    op.drop_table('job_locks')
    op.drop_table('job_runs')
    op.drop_table('api_keys')
