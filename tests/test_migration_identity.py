"""Migration 0010 on a database the previous revision made, with the clear Telegram ids it held: citizens
become a keyed hash and an encrypted chat id, staff keep theirs, people who only read are gone, dialogs
are renamed (or dropped after a day), the outbox is re-keyed and a citizen's delivered notice deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import text as sql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.crypto import Cipher
from db.engine import create_engine
from db.migrate import alembic_config, upgrade_to_head

CIPHER = Cipher(Fernet.generate_key().decode())
STAFF, CITIZEN, READER, STALE = 2001, 7_301_234_567, 7_300_000_001, 7_300_000_002
ADMIN, FORMER = 900, 2009  # an admin from ADMIN_IDS (no role row), a coordinator whose role was removed
NOW = datetime.now(UTC)


async def upgrade_to(engine: AsyncEngine, revision: str) -> None:
    def _upgrade(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def seed_revision_0009(engine: AsyncEngine) -> None:
    await upgrade_to(engine, "0009")
    created = NOW - timedelta(days=3, hours=5, minutes=7)
    async with engine.begin() as conn:
        people = (
            (1, STAFF, None),
            (2, CITIZEN, "en"),
            (3, READER, None),
            (4, ADMIN, None),
            (5, FORMER, None),
        )
        for user_id, telegram_id, language in people:
            await conn.execute(
                sql(
                    "INSERT INTO users (id, telegram_id, language, created_at, updated_at) "
                    "VALUES (:id, :tid, :lang, :at, :at)"
                ),
                {"id": user_id, "tid": telegram_id, "lang": language, "at": created},
            )
        await conn.execute(
            sql(
                "INSERT INTO user_roles (user_id, role, oblast, created_at) "
                "VALUES (1, 'coordinator', 'kharkiv', :at)"
            ),
            {"at": created},
        )
        await conn.execute(
            sql(
                "INSERT INTO cases (id, code, status, situation, needs, oblast, urgent, contact, relay_open, "
                "owner_id, created_at) VALUES (1, 'ABCD2345', 'accepted', 'labour', '', 'kharkiv', false, "
                "'bot', true, 1, :at)"
            ),
            {"at": created},
        )
        for actor, action in ((1, "case.read"), (5, "case.accept"), (4, "invite.create")):
            await conn.execute(
                sql("INSERT INTO audit_log (at, actor_id, action, case_id) VALUES (:at, :a, :act, 1)"),
                {"at": created, "a": actor, "act": action},
            )
        for key, telegram_id, at in (
            (f"fsm:42:{CITIZEN}:{CITIZEN}:default", CITIZEN, NOW - timedelta(hours=2)),
            (f"fsm:42:{STALE}:{STALE}:default", STALE, NOW - timedelta(days=3)),
        ):
            await conn.execute(
                sql(
                    "INSERT INTO fsm_states (key, telegram_id, state, data, updated_at) "
                    "VALUES (:key, :tid, 'RequestForm:phone', '{}', :at)"
                ),
                {"key": key, "tid": telegram_id, "at": at},
            )
        for recipient, purpose, status in (
            (CITIZEN, "case.status:5:in_progress", "sent"),
            (CITIZEN, "case.status:5:closed", "pending"),
            (STAFF, "case.new:5", "sent"),
        ):
            await conn.execute(
                sql(
                    "INSERT INTO outbox (recipient, purpose, text, protect, status, attempts, not_before, "
                    "created_at) VALUES (:r, :p, 'enc:x', true, :s, 0, :at, :at)"
                ),
                {"r": recipient, "p": purpose, "s": status, "at": NOW},
            )


async def rows(engine: AsyncEngine, query: str) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(sql(query))).all())


async def test_existing_ids_are_hashed_and_encrypted(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await _drop_all(engine)
        await engine.dispose()  # the bot's own connection settings again (foreign keys on)
        engine = create_engine(database_url)
        await seed_revision_0009(engine)
        await upgrade_to_head(engine, CIPHER, frozenset({ADMIN}))

        users = await rows(
            engine, "SELECT id, telegram_id, telegram_key, chat_enc, created_at FROM users ORDER BY id"
        )
        assert [u[0] for u in users] == [1, 2, 4, 5]  # the person who only read is gone
        staff, citizen, admin, former = users
        assert admin[1] == ADMIN  # an admin is staff: attributable
        assert former[1] is None and former[2] == CIPHER.lookup_key(FORMER)  # on record, no longer staff
        # Rebuilding the users table touched nothing that points at it (SQLite cascades a dropped table).
        assert await rows(engine, "SELECT user_id, role FROM user_roles") == [(1, "coordinator")]
        assert await rows(engine, "SELECT owner_id FROM cases") == [(1,)]
        assert await rows(engine, "SELECT actor_id FROM audit_log ORDER BY id") == [(1,), (5,), (4,)]
        assert staff[1] == STAFF and staff[2] == CIPHER.lookup_key(STAFF)  # staff: attributable
        assert citizen[1] is None and citizen[2] == CIPHER.lookup_key(CITIZEN)
        assert CIPHER.decrypt(bytes(citizen[3])) == str(CITIZEN)
        created = citizen[4] if isinstance(citizen[4], datetime) else datetime.fromisoformat(citizen[4])
        assert (created.hour, created.minute, created.second) == (0, 0, 0)

        dialogs = await rows(engine, "SELECT key, telegram_key FROM fsm_states")
        hashed = CIPHER.lookup_key(CITIZEN)
        assert dialogs == [(f"fsm:42:{hashed}:{hashed}:default", hashed)]  # the day-old one dropped

        outbox = await rows(
            engine, "SELECT recipient_key, recipient_enc, citizen, purpose, status FROM outbox ORDER BY id"
        )
        assert [(r[0], bool(r[2]), r[4]) for r in outbox] == [
            (CIPHER.lookup_key(CITIZEN), True, "pending"),  # the delivered notice to the citizen is gone
            (CIPHER.lookup_key(STAFF), False, "sent"),
        ]
        assert outbox[0][3] == "citizen:" + CIPHER.lookup_key("case.status:5:closed")
        assert outbox[1][3] == "case.new:5"
        assert [CIPHER.decrypt(bytes(r[1])) for r in outbox] == [str(CITIZEN), str(STAFF)]
    finally:
        await _back_to_head(engine)


async def test_without_the_key_a_database_with_people_stops_with_a_sentence(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await _drop_all(engine)
        await seed_revision_0009(engine)
        with pytest.raises(RuntimeError, match="run it through the bot"):
            await upgrade_to_head(engine)
        # Nothing half-done: still the previous revision, the clear ids untouched until the bot migrates.
        assert await rows(engine, "SELECT version_num FROM alembic_version") == [("0009",)]
    finally:
        await _back_to_head(engine)


async def _back_to_head(engine: AsyncEngine) -> None:
    """Leave the database as the other tests expect it (PostgreSQL's is shared by a worker's tests)."""
    try:
        await _drop_all(engine)
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


async def _drop_all(engine: AsyncEngine) -> None:
    """The test's database comes migrated to head: start from nothing to build the old revision."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sql("DROP SCHEMA public CASCADE"))
            await conn.execute(sql("CREATE SCHEMA public"))
        else:
            tables = [
                r[0]
                for r in (await conn.execute(sql("SELECT name FROM sqlite_master WHERE type='table'"))).all()
            ]
            await conn.execute(sql("PRAGMA foreign_keys=OFF"))
            for table in tables:
                await conn.execute(sql(f'DROP TABLE IF EXISTS "{table}"'))
