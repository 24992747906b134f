"""invites that keep roles: an invite says whether its role is added to the ones the person holds

A member of staff who redeems an invite for another role or area used to lose the old role silently,
with their open cases left owned by nobody who could see them. Now the old roles end (as an admin's
removal does: cases released, audited) unless the invite says the new role is added to them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invites") as batch:
        batch.add_column(sa.Column("keeps_roles", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("invites") as batch:
        batch.drop_column("keeps_roles")
