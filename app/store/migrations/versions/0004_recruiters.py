"""The recruiter side: accounts, the company-search cache, CFA partner companies, offer delegations, and the
deposit form's and partner API's columns on deposited offers.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults fill the rows deposited before this revision; the code always writes the columns.
    op.create_table('company_lookups',
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('siret')
    )
    op.create_table('recruiter_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('company_name', sa.String(length=300), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('postcode', sa.String(length=10), nullable=False),
    sa.Column('city', sa.String(length=200), nullable=False),
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('naf', sa.String(length=6), nullable=False),
    sa.Column('naf_label', sa.String(length=300), nullable=False),
    sa.Column('size', sa.String(length=50), nullable=False),
    sa.Column('opco', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('validated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('validated_by', sa.String(length=320), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_index(op.f('ix_recruiter_accounts_siret'), 'recruiter_accounts', ['siret'], unique=False)
    op.create_index('ix_recruiter_accounts_status', 'recruiter_accounts', ['status', 'created_at'], unique=False)
    op.create_table('cfa_partner_companies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cfa_account_id', sa.Integer(), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('company_name', sa.String(length=300), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('postcode', sa.String(length=10), nullable=False),
    sa.Column('city', sa.String(length=200), nullable=False),
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('naf', sa.String(length=6), nullable=False),
    sa.Column('naf_label', sa.String(length=300), nullable=False),
    sa.Column('size', sa.String(length=50), nullable=False),
    sa.Column('opco', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cfa_account_id'], ['recruiter_accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ux_cfa_partner_companies_cfa_siret', 'cfa_partner_companies', ['cfa_account_id', 'siret'], unique=True)
    op.create_table('offer_delegations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('cfa_siret', sa.String(length=14), nullable=False),
    sa.Column('cfa_name', sa.String(length=300), nullable=False),
    sa.Column('cfa_email', sa.String(length=320), nullable=False),
    sa.Column('formation_id', sa.String(length=200), nullable=False),
    sa.Column('distance_km', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['offer_id'], ['deposited_offers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ux_offer_delegations_offer_cfa', 'offer_delegations', ['offer_id', 'cfa_siret'], unique=True)
    op.add_column('deposited_offers', sa.Column('account_id', sa.Integer(), nullable=True))
    op.add_column('deposited_offers', sa.Column('cfa_partner_company_id', sa.Integer(), nullable=True))
    op.add_column('deposited_offers', sa.Column('partner_id', sa.Integer(), nullable=True))
    op.add_column('deposited_offers', sa.Column('partner_job_id', sa.String(length=200), nullable=True))
    op.add_column('deposited_offers', sa.Column('partner_payload', sa.JSON(), nullable=True))
    op.add_column('deposited_offers', sa.Column('appellation_code', sa.String(length=10), nullable=False, server_default=''))
    op.add_column('deposited_offers', sa.Column('start_asap', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('deposited_offers', sa.Column('rhythm', sa.String(length=100), nullable=False, server_default=''))
    op.add_column('deposited_offers', sa.Column('questions', sa.JSON(), nullable=False, server_default='[]'))
    op.add_column('deposited_offers', sa.Column('disability_friendly', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('deposited_offers', sa.Column('ft_support', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('deposited_offers', sa.Column('multicast', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column('deposited_offers', sa.Column('status_reason', sa.Text(), nullable=False, server_default=''))
    op.add_column('deposited_offers', sa.Column('prolongation_count', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('deposited_offers', sa.Column('reminded_7_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('deposited_offers', sa.Column('reminded_1_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('deposited_offers', sa.Column('expiry_notified_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_deposited_offers_account', 'deposited_offers', ['account_id', 'status'], unique=False)
    op.create_index('ix_deposited_offers_status_expires', 'deposited_offers', ['status', 'expires_at'], unique=False)
    op.create_index('ux_deposited_offers_partner_job', 'deposited_offers', ['partner_id', 'partner_job_id'], unique=True)


def downgrade() -> None:
    for name in ('ux_deposited_offers_partner_job', 'ix_deposited_offers_status_expires', 'ix_deposited_offers_account'):
        op.drop_index(name, table_name='deposited_offers')
    with op.batch_alter_table('deposited_offers') as batch:
        for column in ('expiry_notified_at', 'reminded_1_at', 'reminded_7_at', 'prolongation_count', 'status_reason',
                       'multicast', 'ft_support', 'disability_friendly', 'questions', 'rhythm', 'start_asap',
                       'appellation_code', 'partner_payload', 'partner_job_id', 'partner_id', 'cfa_partner_company_id',
                       'account_id'):
            batch.drop_column(column)
    op.drop_table('offer_delegations')
    op.drop_table('cfa_partner_companies')
    op.drop_table('recruiter_accounts')
    op.drop_table('company_lookups')
