"""Limit counters: requests per minute and tokens per day, shared by every replica

Revision ID: 0008
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'limit_counter',
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    with op.batch_alter_table('limit_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_limit_counter_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('limit_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_limit_counter_expires_at'))
    op.drop_table('limit_counter')
