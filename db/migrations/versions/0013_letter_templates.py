"""letter templates: each oblast's template of the official letter to the police, as an admin sent it

The default templates ship in data/letters/; one an admin sends the bot is kept here, so that every
replica uses the same one. Every template sent is kept (the newest is used).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "letter_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("oblast", sa.String(length=40), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["users.id"],
            name=op.f("fk_letter_templates_uploaded_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_templates")),
    )
    with op.batch_alter_table("letter_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_letter_templates_oblast"), ["oblast"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("letter_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_letter_templates_oblast"))
    op.drop_table("letter_templates")
