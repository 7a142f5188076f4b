"""indexes for digests; manual digest runs; no duplicate vault index

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Digests read new leads by stage and creation time, and pipeline movement by stage change time.
    with op.batch_alter_table('crm_contact', schema=None) as batch_op:
        batch_op.create_index('ix_crm_contact_stage_created', ['lifecycle_stage', 'created_at'], unique=False)

    with op.batch_alter_table('crm_deal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_deal_stage_changed_at'), ['stage_changed_at'], unique=False)

    # A run posted on demand (`run now`) must not count as the schedule's last slot.
    with op.batch_alter_table('digest_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manual', sa.Boolean(), nullable=False, server_default=sa.false()))

    # Both unique keys of vault_entry begin with conversation_id: this index only cost every write.
    with op.batch_alter_table('vault_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vault_entry_conversation_id'))


def downgrade() -> None:
    with op.batch_alter_table('vault_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vault_entry_conversation_id'), ['conversation_id'], unique=False)

    with op.batch_alter_table('digest_run', schema=None) as batch_op:
        batch_op.drop_column('manual')

    with op.batch_alter_table('crm_deal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_deal_stage_changed_at'))

    with op.batch_alter_table('crm_contact', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_contact_stage_created')

