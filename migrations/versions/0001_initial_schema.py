"""initial schema

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


# Full-text tables differ per database and are not models; later migrations must not
# import application code, so the statements are written out here.
_FTS_SQLITE = [
    "CREATE VIRTUAL TABLE crm_contact_fts USING fts5(name, other, "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE VIRTUAL TABLE crm_company_fts USING fts5(name, other, "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE VIRTUAL TABLE kb_fts USING fts5(heading, body, "
    "tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')",
]
_FTS_POSTGRES = [
    statement
    for table in ("crm_contact_fts", "crm_company_fts", "kb_fts")
    for statement in (
        f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, tsv TSVECTOR NOT NULL)",
        f"CREATE INDEX ix_{table}_tsv ON {table} USING GIN (tsv)",
    )
]
_FTS_TABLES = ("crm_contact_fts", "crm_company_fts", "kb_fts")

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('proposal_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('conversation',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('thread_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('started_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('crm_company',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('domain', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('industry', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('employees', sa.Integer(), nullable=True),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('external_id')
    )
    with op.batch_alter_table('crm_company', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_company_domain'), ['domain'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_company_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_company_owner'), ['owner'], unique=False)

    op.create_table('crm_idempotency',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('operation', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('record_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('digest_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scheduled_for', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('catching_up', sa.Boolean(), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('message_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest_name', 'scheduled_for')
    )
    op.create_table('digest_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('cron', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('kb_document',
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mtime_ns', sa.BigInteger(), nullable=False),
    sa.Column('indexed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('path')
    )
    op.create_table('processed_event',
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('processed_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_event_received_at'), ['received_at'], unique=False)

    op.create_table('crm_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('first_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('last_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('lifecycle_stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('lead_source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['crm_company.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('external_id')
    )
    with op.batch_alter_table('crm_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_contact_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_contact_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_contact_owner'), ['owner'], unique=False)

    op.create_table('kb_section',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('heading', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('anchor', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['path'], ['kb_document.path'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kb_section', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_section_path'), ['path'], unique=False)

    op.create_table('proposal',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('tool', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('diff', sa.JSON(), nullable=False),
    sa.Column('risk', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('requester', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('record_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('record_version', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('supersedes_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('message_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['supersedes_id'], ['proposal.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposal_requester'), ['requester'], unique=False)
        batch_op.create_index('ix_proposal_status_expires', ['status', 'expires_at'], unique=False)

    op.create_table('turn',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('tool_call_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('tokens', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'seq')
    )
    with op.batch_alter_table('turn', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_turn_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('crm_deal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('close_date', sa.Date(), nullable=True),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('stage_changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_activity_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['crm_company.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contact.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('external_id')
    )
    with op.batch_alter_table('crm_deal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_deal_close_date'), ['close_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_deal_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_deal_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_deal_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_deal_last_activity_at'), ['last_activity_at'], unique=False)
        batch_op.create_index('ix_crm_deal_owner_stage', ['owner', 'stage'], unique=False)
        batch_op.create_index('ix_crm_deal_stage_close', ['stage', 'close_date'], unique=False)

    op.create_table('crm_ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('priority', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('sla_due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['crm_company.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contact.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('crm_ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_ticket_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_ticket_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_ticket_sla_due_at'), ['sla_due_at'], unique=False)
        batch_op.create_index('ix_crm_ticket_status_priority', ['status', 'priority'], unique=False)

    op.create_table('crm_activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('occurred_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['crm_company.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contact.id'], ),
    sa.ForeignKeyConstraint(['deal_id'], ['crm_deal.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('crm_activity', schema=None) as batch_op:
        batch_op.create_index('ix_crm_activity_company_time', ['company_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_crm_activity_contact_time', ['contact_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_crm_activity_deal_time', ['deal_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_activity_occurred_at'), ['occurred_at'], unique=False)

    statements = _FTS_SQLITE if op.get_bind().dialect.name == "sqlite" else _FTS_POSTGRES
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for table in _FTS_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")
    with op.batch_alter_table('crm_activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_activity_occurred_at'))
        batch_op.drop_index('ix_crm_activity_deal_time')
        batch_op.drop_index('ix_crm_activity_contact_time')
        batch_op.drop_index('ix_crm_activity_company_time')

    op.drop_table('crm_activity')
    with op.batch_alter_table('crm_ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_ticket_status_priority')
        batch_op.drop_index(batch_op.f('ix_crm_ticket_sla_due_at'))
        batch_op.drop_index(batch_op.f('ix_crm_ticket_contact_id'))
        batch_op.drop_index(batch_op.f('ix_crm_ticket_company_id'))

    op.drop_table('crm_ticket')
    with op.batch_alter_table('crm_deal', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_deal_stage_close')
        batch_op.drop_index('ix_crm_deal_owner_stage')
        batch_op.drop_index(batch_op.f('ix_crm_deal_last_activity_at'))
        batch_op.drop_index(batch_op.f('ix_crm_deal_created_at'))
        batch_op.drop_index(batch_op.f('ix_crm_deal_contact_id'))
        batch_op.drop_index(batch_op.f('ix_crm_deal_company_id'))
        batch_op.drop_index(batch_op.f('ix_crm_deal_close_date'))

    op.drop_table('crm_deal')
    with op.batch_alter_table('turn', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_turn_conversation_id'))

    op.drop_table('turn')
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_status_expires')
        batch_op.drop_index(batch_op.f('ix_proposal_requester'))
        batch_op.drop_index(batch_op.f('ix_proposal_conversation_id'))

    op.drop_table('proposal')
    with op.batch_alter_table('kb_section', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_section_path'))

    op.drop_table('kb_section')
    with op.batch_alter_table('crm_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_contact_owner'))
        batch_op.drop_index(batch_op.f('ix_crm_contact_email'))
        batch_op.drop_index(batch_op.f('ix_crm_contact_company_id'))

    op.drop_table('crm_contact')
    with op.batch_alter_table('processed_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_event_received_at'))

    op.drop_table('processed_event')
    op.drop_table('kb_document')
    op.drop_table('digest_subscription')
    op.drop_table('digest_run')
    op.drop_table('crm_idempotency')
    with op.batch_alter_table('crm_company', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_company_owner'))
        batch_op.drop_index(batch_op.f('ix_crm_company_name'))
        batch_op.drop_index(batch_op.f('ix_crm_company_domain'))

    op.drop_table('crm_company')
    op.drop_table('conversation')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_proposal_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')
