"""Proposals: the fields a write depends on, where its outcome is told, what it reverts

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('proposal') as batch:
        batch.add_column(sa.Column('basis', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('thread_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch.add_column(sa.Column('reverts_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch.add_column(sa.Column('told', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch.add_column(sa.Column('group_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch.create_foreign_key('fk_proposal_reverts_id_proposal', 'proposal', ['reverts_id'], ['id'])
        batch.create_index('ix_proposal_reverts_id', ['reverts_id'])


def downgrade() -> None:
    with op.batch_alter_table('proposal') as batch:
        batch.drop_index('ix_proposal_reverts_id')
        batch.drop_constraint('fk_proposal_reverts_id_proposal', type_='foreignkey')
        for column in ('group_ts', 'told', 'reverts_id', 'thread_ts', 'basis'):
            batch.drop_column(column)
