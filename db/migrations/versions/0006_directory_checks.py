"""directory checks: confirmations, corrections and withdrawals of directory entries

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('directory_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('checked_on', sa.Date(), nullable=False),
    sa.Column('changes', sa.Text(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_directory_checks_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_checks'))
    )
    with op.batch_alter_table('directory_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_directory_checks_entry_id'), ['entry_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('directory_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_directory_checks_entry_id'))

    op.drop_table('directory_checks')
