"""relays through the outbox: a relayed photo can wait in the outbox; a relayed message is stored once

A message relayed between a person and their coordinator is now delivered through the outbox, so a
failure of any kind (an error page from a proxy, a timeout) is retried instead of lost: the outbox
keeps a photo's Telegram file id (encrypted, like the text). Each relayed message remembers a keyed
hash of the Telegram message it came from, so the same update handled twice stores it once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("photo", sa.Text(), nullable=True))
    with op.batch_alter_table("case_messages") as batch:
        batch.add_column(sa.Column("source_key", sa.String(64), nullable=True))
        batch.create_index("ix_case_messages_source_key", ["source_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("case_messages") as batch:
        batch.drop_index("ix_case_messages_source_key")
        batch.drop_column("source_key")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("photo")
