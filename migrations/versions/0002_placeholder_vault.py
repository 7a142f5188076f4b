"""placeholder vault

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vault_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('placeholder', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'key_hash'),
    sa.UniqueConstraint('conversation_id', 'placeholder')
    )
    with op.batch_alter_table('vault_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vault_entry_conversation_id'), ['conversation_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('vault_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vault_entry_conversation_id'))

    op.drop_table('vault_entry')
