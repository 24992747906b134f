"""scheduler runs: when each job last ran, to make up a run missed while the bot was down

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'scheduler_runs',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_runs')),
    )


def downgrade() -> None:
    op.drop_table('scheduler_runs')
