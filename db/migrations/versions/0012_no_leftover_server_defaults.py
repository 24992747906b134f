"""no leftover server defaults: invites.keeps_roles and outbox.citizen default in db.models only

0009 and 0010 added these NOT NULL columns to tables that could hold rows, so they gave them
`DEFAULT false` to fill those rows. The default stayed in the database, where db.models does not have it
(its `default=False` is the ORM's, applied on every insert): the two disagreed, and a database built from
the models differed from a migrated one. The value was filled in long ago; the default goes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = (("invites", "keeps_roles"), ("outbox", "citizen"))


def upgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column, existing_type=sa.Boolean(), existing_nullable=False, server_default=None
            )


def downgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column, existing_type=sa.Boolean(), existing_nullable=False, server_default=sa.false()
            )
