"""report indexes: the indicator report reads the year's events from one covering index

The indicator report adds up a programme's events of a year by measure (and optionally district).
Without this index SQLite reads every row of the table (about 2 s for 1,000,000 events on the
benchmark machine, benchmarks/report.py); with it, only the index entries of that year.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = ["programme_id", "held_on", "status", "district", "measure_id", "participants"]


def upgrade() -> None:
    op.create_index("ix_events_report", "events", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_events_report", table_name="events")
