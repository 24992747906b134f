"""identity at rest: a copied database names no citizen

- users: a citizen's Telegram id becomes a keyed hash (`telegram_key`, for look-up) and an encrypted
  chat id (`chat_enc`, for writing first); the clear `telegram_id` stays only for staff. Rows of people
  who only ever read (no language chosen, no role) are deleted. The 48-hour chat window (a first-message
  id and its time) and `updated_at` are dropped; `created_at` keeps the day only.
- fsm_states: keys name the chat and the person by keyed hashes; `telegram_id` becomes `telegram_key`;
  dialogs untouched for 24 hours are deleted.
- audit_log: `actor_key`, the keyed hash of someone refused who has no stored row.
- outbox: `recipient` becomes `recipient_key` + `recipient_enc`; a message to a citizen (the case status
  notices, `case.status:*`) keeps its purpose only as a keyed hash and is deleted once delivered.

The hashes and ciphertext need the bot's key: `db.migrate.upgrade_to_head(engine, cipher)` hands it over
(`python -m bot` does). Without one, an empty database migrates and one with data stops with a sentence.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:10:00
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

DIALOG_TTL = timedelta(hours=24)
CITIZEN_PURPOSES = ("case.status:",)


def _cipher() -> Any:
    cipher = context.config.attributes.get("cipher")
    if cipher is None:
        raise RuntimeError(
            "migration 0010 hashes and encrypts stored Telegram ids: run it through the bot "
            "(`python -m bot` migrates at start, with its encryption key), not the alembic command"
        )
    return cipher


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _hashed_fsm_key(key: str, lookup: Any) -> str:
    """fsm:<bot>:<chat>:<user>:<destiny> -> the same with the chat and the user hashed (bot/storage.py)."""
    parts = key.split(":")
    if len(parts) >= 4 and parts[0] == "fsm":
        parts[2], parts[3] = lookup(parts[2]), lookup(parts[3])
    return ":".join(parts)


def upgrade() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()

    # --- users ------------------------------------------------------------------------------------
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("telegram_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("chat_enc", sa.LargeBinary(), nullable=True))
        batch.alter_column("telegram_id", existing_type=sa.BigInteger(), nullable=True)
    users = sa.Table("users", meta, autoload_with=bind)
    roles = sa.Table("user_roles", meta, autoload_with=bind)
    audit = sa.Table("audit_log", meta, autoload_with=bind)
    cases = sa.Table("cases", meta, autoload_with=bind)
    staff_ids = {row[0] for row in bind.execute(sa.select(roles.c.user_id).distinct())}
    # Someone whose actions are on record (staff past and present, a refusal) keeps a row to name them.
    on_record = {row[0] for row in bind.execute(sa.select(audit.c.actor_id).distinct())}
    on_record |= {row[0] for row in bind.execute(sa.select(cases.c.owner_id).distinct())}
    admin_ids = context.config.attributes.get("admin_ids") or frozenset()
    rows = bind.execute(
        sa.select(users.c.id, users.c.telegram_id, users.c.language, users.c.created_at)
    ).all()
    for user_id, telegram_id, language, created_at in rows:
        staff = user_id in staff_ids or telegram_id in admin_ids
        if not staff and language is None and user_id not in on_record:
            # Only ever read: nothing to remember.
            bind.execute(sa.delete(users).where(users.c.id == user_id))
            continue
        day = _aware(created_at) or datetime.now(UTC)
        cipher = _cipher()
        bind.execute(
            sa.update(users)
            .where(users.c.id == user_id)
            .values(
                telegram_key=cipher.lookup_key(telegram_id),
                chat_enc=cipher.encrypt(str(telegram_id)),
                telegram_id=telegram_id if staff else None,
                created_at=datetime(day.year, day.month, day.day, tzinfo=UTC),
            )
        )
    with op.batch_alter_table("users") as batch:
        batch.create_unique_constraint("uq_users_telegram_key", ["telegram_key"])
        batch.drop_column("window_first_message_id")
        batch.drop_column("window_started_at")
        batch.drop_column("updated_at")

    # --- fsm_states -------------------------------------------------------------------------------
    with op.batch_alter_table("fsm_states") as batch:
        batch.add_column(sa.Column("telegram_key", sa.String(length=64), nullable=True))
    fsm = sa.Table("fsm_states", meta, autoload_with=bind)
    cutoff = datetime.now(UTC) - DIALOG_TTL
    for key, telegram_id, updated_at in bind.execute(
        sa.select(fsm.c.key, fsm.c.telegram_id, fsm.c.updated_at)
    ).all():
        updated = _aware(updated_at)
        if updated is None or updated < cutoff:
            bind.execute(sa.delete(fsm).where(fsm.c.key == key))
            continue
        cipher = _cipher()
        bind.execute(
            sa.update(fsm)
            .where(fsm.c.key == key)
            .values(
                key=_hashed_fsm_key(key, cipher.lookup_key),
                telegram_key=cipher.lookup_key(telegram_id) if telegram_id is not None else None,
            )
        )
    with op.batch_alter_table("fsm_states") as batch:
        batch.drop_index("ix_fsm_states_telegram_id")
        batch.drop_column("telegram_id")
        batch.create_index("ix_fsm_states_telegram_key", ["telegram_key"])
        batch.create_index("ix_fsm_states_updated_at", ["updated_at"])

    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("actor_key", sa.String(length=64), nullable=True))

    # --- outbox -----------------------------------------------------------------------------------
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("recipient_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("recipient_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("citizen", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.drop_constraint("uq_outbox_recipient_purpose", type_="unique")
    outbox = sa.Table("outbox", meta, autoload_with=bind)
    for message_id, recipient, purpose, status in bind.execute(
        sa.select(outbox.c.id, outbox.c.recipient, outbox.c.purpose, outbox.c.status)
    ).all():
        citizen = purpose.startswith(CITIZEN_PURPOSES)
        if citizen and status != "pending" and status != "sending":
            bind.execute(sa.delete(outbox).where(outbox.c.id == message_id))
            continue
        cipher = _cipher()
        bind.execute(
            sa.update(outbox)
            .where(outbox.c.id == message_id)
            .values(
                recipient_key=cipher.lookup_key(recipient),
                recipient_enc=cipher.encrypt(str(recipient)),
                citizen=citizen,
                purpose="citizen:" + cipher.lookup_key(purpose) if citizen else purpose,
            )
        )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("recipient_key", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("recipient_enc", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("recipient")
        batch.create_unique_constraint("uq_outbox_recipient_purpose", ["recipient_key", "purpose"])


def downgrade() -> None:
    raise NotImplementedError("identities hashed at rest cannot be turned back into clear ids")
