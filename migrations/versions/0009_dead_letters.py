"""dead letters: work accepted from Slack that could not be finished, kept to be retried

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dead_letter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('user', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column('next_try_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'ref'),
    )
    with op.batch_alter_table('dead_letter', schema=None) as batch_op:
        batch_op.create_index('ix_dead_letter_status_next', ['status', 'next_try_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dead_letter', schema=None) as batch_op:
        batch_op.drop_index('ix_dead_letter_status_next')
    op.drop_table('dead_letter')
