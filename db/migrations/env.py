"""Alembic environment: uses the connection the bot hands over, or its own async engine from the CLI."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from db import models  # noqa: F401  (registers the tables)
from db.base import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_from_cli() -> None:
    from db.engine import create_engine

    # The database package reads none of the bot's settings: the environment's DATABASE_URL (a .env
    # file is not read here), else the bot's default (bot/settings.py).
    url = (
        context.config.get_main_option("sqlalchemy.url")
        or os.environ.get("DATABASE_URL", "").strip()
        or "sqlite+aiosqlite:///./dovira.db"
    )

    async def go() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(_run)
        await engine.dispose()

    asyncio.run(go())


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    _run_from_cli()
