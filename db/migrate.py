"""Run Alembic migrations from inside the bot's event loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x646F766D6967  # an advisory lock key of its own ("dovmig")


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade_to_head(
    engine: AsyncEngine, cipher: Any = None, admin_ids: frozenset[int] = frozenset()
) -> None:
    """Migrate the database to the latest revision, on the given engine's own connection. `cipher`
    (bot.services.crypto.Cipher): migrations that hash or encrypt stored identities need the key;
    `admin_ids` (ADMIN_IDS): they keep admins' ids in clear, as staff's.

    On SQLite, foreign keys are off while migrating: a migration that rebuilds a table (Alembic's batch
    mode copies it, drops the old one and renames the copy) would otherwise cascade the drop into every
    table that references it (the users table's drop emptied user_roles). They are checked afterwards."""

    await migrate_to(engine, "upgrade", "head", cipher=cipher, admin_ids=admin_ids)


async def migrate_to(
    engine: AsyncEngine,
    how: str,
    revision: str,
    *,
    cipher: Any = None,
    admin_ids: frozenset[int] = frozenset(),
) -> None:
    """Alembic's `upgrade` or `downgrade` to `revision` on the engine's own connection, in one
    transaction, one replica at a time; on SQLite with foreign keys off while tables are rebuilt and
    checked afterwards (see upgrade_to_head). The stairway test (tests/test_migrations.py) walks every
    revision with it."""

    def _run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        cfg.attributes["cipher"] = cipher
        cfg.attributes["admin_ids"] = admin_ids
        getattr(command, how)(cfg, revision)

    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as conn:
        if sqlite:  # outside any transaction: SQLite ignores the pragma inside one
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()
        try:
            async with conn.begin():
                await one_replica_at_a_time(conn)
                await conn.run_sync(_run)
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"a migration left {len(broken)} broken reference(s): rolled back")
        finally:
            if sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()


async def one_replica_at_a_time(conn: AsyncConnection | AsyncSession) -> None:
    """Replicas started together migrate (and load the catalogue) one after the other: a PostgreSQL
    lock that ends with the transaction. The second finds the work done and does nothing."""
    dialect = conn.dialect if isinstance(conn, AsyncConnection) else conn.get_bind().dialect
    if dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
