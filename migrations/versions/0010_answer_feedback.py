"""Answer feedback: one rating per answer and person; the tools each answered request used

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'answer_feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('user', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('rating', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('request_key', 'user'),
    )
    op.create_index(op.f('ix_answer_feedback_created_at'), 'answer_feedback', ['created_at'], unique=False)
    with op.batch_alter_table('slack_request') as batch:
        batch.add_column(sa.Column('tools', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('slack_request') as batch:
        batch.drop_column('tools')
    op.drop_index(op.f('ix_answer_feedback_created_at'), table_name='answer_feedback')
    op.drop_table('answer_feedback')
