"""A copied database names nobody (SECURITY.md, "Personal data at rest"): end to end through the fake Bot
API, a person with a known Telegram id files a request with a distinctive description and phone, a
coordinator accepts it and writes, the person writes back, the status changes; then the raw SQLite files
(database, -wal, -shm), or on PostgreSQL every table, are searched for the Telegram id (as text and as the
integer SQLite would store), the phone and the words. A person who only reads leaves no row at all."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import text as sql

from bot.redis_storage import redis_client
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.base import Base
from db.engine import create_engine, create_sessionmaker
from db.models import AuditEntry, Case, FsmState, OutboxMessage, User
from tests.conftest import Person, RunningBot, person_key
from tests.test_cases_e2e import COORD, DESCRIPTION, enrol, file_request
from tests.test_citizen_e2e import text_of

# A Telegram id of today's length, a phone and words nobody else uses in the suite.
CITIZEN = 7_301_234_567
PHONE_TYPED = "067 765 43 21"
PHONE_DIGITS = ("0677654321", "677654321", "+380677654321")
COORD_WRITES = "Зателефоную о 18:30, тримайтеся — Оксана"
CITIZEN_WRITES = "Я в хостелі біля вокзалу, кімната 14"


def id_forms(telegram_id: int) -> list[bytes]:
    """How a Telegram id could sit in an SQLite file: as text, or as the big-endian integer of a record
    (6 bytes for ids under 2^47, else 8)."""
    return [str(telegram_id).encode(), telegram_id.to_bytes(6, "big"), telegram_id.to_bytes(8, "big")]


def secrets() -> list[bytes]:
    words = [DESCRIPTION, COORD_WRITES, CITIZEN_WRITES, *PHONE_DIGITS]
    return [*id_forms(CITIZEN), *(w.encode() for w in words)]


async def raw_database(settings: Settings) -> list[tuple[str, Any]]:
    """Every stored value: the SQLite files byte by byte, or every column of every PostgreSQL row."""
    if settings.database_url.startswith("sqlite"):
        db_file = Path(settings.database_url.split("///", 1)[1])
        files = [p for p in db_file.parent.glob(db_file.name + "*") if p.suffix != ".key"]
        assert {p.name for p in files} >= {db_file.name, db_file.name + "-wal"}
        return [(p.name, p.read_bytes()) for p in files]
    engine = create_engine(settings.database_url)
    values: list[tuple[str, Any]] = []
    try:
        async with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                for row in (await conn.execute(sql(f"SELECT * FROM {table.name}"))).all():
                    values += [(table.name, value) for value in row]
    finally:
        await engine.dispose()
    return values


def leaks(values: list[tuple[str, Any]]) -> list[str]:
    found = []
    for where, value in values:
        if isinstance(value, int) and value == CITIZEN:
            found.append(f"{where}: the Telegram id as an integer")
        elif isinstance(value, bytes | memoryview | str):
            data = bytes(value) if not isinstance(value, str) else value.encode()
            found += [f"{where}: {secret!r}" for secret in secrets() if secret in data]
    return found


async def rows_of(settings: Settings) -> dict[str, int]:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            return {
                t.name: int((await conn.execute(select(func.count()).select_from(t))).scalar() or 0)
                for t in Base.metadata.sorted_tables
                if t.name != "scheduler_runs"  # the bot's own bookkeeping of its jobs, about nobody
            }
    finally:
        await engine.dispose()


async def test_a_copied_database_names_no_citizen(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    await enrol(settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    code = await file_request(citizen, contact_phone=PHONE_TYPED)
    card = await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    assert "+380677654321" in text_of(card)  # the coordinator who owns the case reads it
    prompt = await coord.press("Написати людині", card)
    await coord.say(COORD_WRITES)
    await server.wait_until(
        lambda: next((m for m in server.bot_messages(CITIZEN) if COORD_WRITES in text_of(m)), None)
    )
    await coord.press("Завершити", prompt)
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    await citizen.say(CITIZEN_WRITES)
    told = await server.wait_until(
        lambda: next((m for m in server.bot_messages(COORD) if CITIZEN_WRITES in text_of(m)), None)
    )
    # A status change goes to the person through the outbox (a row that names them, until delivered).
    card = await coord.press("Відкрити", told)
    await coord.press("У роботі", card)
    await server.wait_until(
        lambda: next((m for m in server.bot_messages(CITIZEN) if "працюють" in text_of(m)), None)
    )
    await server.wait_idle(quiet=0.3)

    assert leaks(await raw_database(settings)) == []
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            queued = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.recipient_key == person_key(settings, CITIZEN))
            )
    finally:
        await engine.dispose()
    assert queued == 0  # delivered, so gone: nothing pairs the person with the case
    hashed = person_key(settings, CITIZEN)
    if settings.redis_url:  # the message to the coordinator was counted against the person's limit
        assert await redis_names(settings, hashed) != []

    # A staff command tried by the person: refused, and on record under their keyed hash only.
    await citizen.say("/admin")
    await server.wait_idle(quiet=0.3)
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            refused = await session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.actor_key == hashed)
            )
    finally:
        await engine.dispose()
    assert refused == 1

    # /forget, withdrawing the request: its words go at once, and every trace of the person's identity.
    done = await citizen.press("Відкликати й стерти", await citizen.say("/forget"))
    assert "стерто" in text_of(done)
    await server.wait_idle(quiet=0.3)
    assert leaks(await raw_database(settings)) == []
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            left = [
                await session.scalar(select(func.count()).select_from(model).where(column == hashed))
                for model, column in (
                    (OutboxMessage, OutboxMessage.recipient_key),
                    (FsmState, FsmState.telegram_key),
                    (User, User.telegram_key),
                    (Case, Case.citizen_key),
                    (AuditEntry, AuditEntry.actor_key),
                )
            ]
    finally:
        await engine.dispose()
    assert left == [0, 0, 0, 0, 0]
    if settings.redis_url:  # nor a dialog nor a counter of theirs in Redis
        assert await redis_names(settings, hashed) == []


async def redis_names(settings: Settings, hashed: str) -> list[bytes]:
    assert settings.redis_url
    redis = redis_client(settings.redis_url)
    try:
        return [n async for n in redis.scan_iter(match=f"*{hashed}*")]
    finally:
        await redis.aclose()


async def test_a_person_who_only_reads_leaves_no_row_anywhere(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    before = await rows_of(settings)
    reader = Person(server, CITIZEN)
    menu = await reader.say("/start")
    await reader.press("Гарячі лінії", menu)
    where = await reader.press("Куди звернутися", await reader.say("/start"))
    await reader.press("Харківська", where)
    await reader.say("/help")
    await reader.say("щось незрозуміле")
    await reader.press("Приватність", await reader.say("/start"))
    await server.wait_idle(quiet=0.3)
    after = await rows_of(settings)
    assert after == before
    assert leaks(await raw_database(settings)) == []
    if settings.redis_url:  # nor a dialog or a counter in Redis
        assert await redis_names(settings, person_key(settings, CITIZEN)) == []


async def test_a_dialog_left_unfinished_is_not_kept(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    """The help request abandoned at the phone number: its dialog is sealed, named by a keyed hash, and
    (in the database) carries the time the expiry job deletes it by; in Redis it expires by itself."""
    citizen = Person(server, CITIZEN)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    step = await citizen.press("Примусова праця", step)
    step = await citizen.press("Харківська", step)
    step = await citizen.press("Богодухівський", step)
    step = await citizen.press("Ні, не терміново", step)
    await citizen.press("Зателефонуйте мені", step)
    await server.wait_idle(quiet=0.3)
    if settings.redis_url:
        redis = redis_client(settings.redis_url)
        try:
            names = [n async for n in redis.scan_iter(match=f"fsm:*:{person_key(settings, CITIZEN)}:*")]
            ttls = [await redis.ttl(n) for n in names]
        finally:
            await redis.aclose()
        assert names and all(0 < ttl <= 24 * 3600 for ttl in ttls)
    else:
        engine = create_engine(settings.database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                dialog = await session.scalar(select(FsmState))
        finally:
            await engine.dispose()
        assert dialog is not None and dialog.telegram_key == person_key(settings, CITIZEN)
        assert dialog.state == "RequestForm:phone" and str(CITIZEN) not in dialog.key
    assert leaks(await raw_database(settings)) == []


def test_the_key_file_is_the_only_secret_beside_the_database(tmp_path: Path) -> None:
    """The database files are 0600 from their creation (SQLite gives -wal and -shm the database's mode)."""
    from db.engine import private_files

    database = tmp_path / "fresh" / "dovira.db"
    old_umask = os.umask(0o022)
    try:
        private_files(database)
    finally:
        os.umask(old_umask)
    assert oct(database.stat().st_mode & 0o777) == "0o600"
