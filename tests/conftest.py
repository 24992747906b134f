"""Test harness: the real bot process (`bot.app.run`) polling the fake Bot API server.

Databases: SQLite in a temporary folder by default; the whole suite runs on PostgreSQL when
TEST_DATABASE_URL is set (CI sets it), each test on a freshly emptied schema.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import ColumnElement, or_
from sqlalchemy import text as sql

from bot.app import run
from bot.notices import outbox as outbox_module
from bot.services.crypto import Cipher, load_or_create_key
from bot.settings import Settings, load_settings
from bot.telegram_emulator.server import Call, FakeTelegramServer
from db.engine import create_engine
from db.migrate import upgrade_to_head
from db.models import User

TOKEN = "42:TEST"
ADMIN_ID = 900
REPLY_METHODS = {"sendmessage", "editmessagetext", "sendphoto", "senddocument"}
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "same_on_every_backend: touches no database the suite is pointed at (its own SQLite file, or none): "
        "run in the SQLite pass only, to keep CI within its time",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("TEST_DATABASE_URL"):
        return
    ran = pytest.mark.skip(reason="the same on every backend: ran in the SQLite pass")
    for item in items:
        if item.get_closest_marker("same_on_every_backend"):
            item.add_marker(ran)


# pytest loads this file as the module `conftest`; test modules import it as `tests.conftest`. Two copies
# would keep two OUTBOX_SENT sets: the fixture below fills one, Person reads the other, and a notice arriving
# before a reply (as on a busy machine) was taken for it. One module under both names.
if __name__ == "conftest":
    sys.modules.setdefault("tests.conftest", sys.modules[__name__])

# What the outbox sent, (chat, text): a notice it sends on its own is not the reply to what a person just
# did, however soon it arrives (on a busy machine it often comes first). The outbox only ever sends, so an
# edit is always a handler's answer, even when it reads like a notice (a closed case's view repeats the
# closure notice word for word).
OUTBOX_SENT: set[tuple[str, str]] = set()


@pytest.fixture(autouse=True)
def outbox_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    original = outbox_module.Outbox._request

    async def recorded(self: outbox_module.Outbox, bot: Any, row: Any, at: float) -> Any:
        OUTBOX_SENT.add((str(row.recipient), self._open_text(row.text)))
        return await original(self, bot, row, at)

    monkeypatch.setattr(outbox_module.Outbox, "_request", recorded)


_migrated: set[str] = set()
# A `python -m bot` a test starts gets a made-up environment, but the test's clock: under libfaketime
# (the suite run at a chosen hour) both processes must agree on "now", or the replica would hold what
# the test queued "in the future".
SAME_CLOCK = {
    name: value
    for name, value in os.environ.items()
    if name.startswith("FAKETIME") or name in ("LD_PRELOAD", "DONT_FAKE_MONOTONIC")
}


# Under pytest-xdist each worker has a database (and a Redis database) of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


async def _worker_postgres(url: str) -> str:
    """The worker's own database beside the one TEST_DATABASE_URL names, created on first use."""
    if not WORKER:
        return url
    base, _, name = url.rpartition("/")
    own = f"{name}_{WORKER}"
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            exists = await conn.scalar(sql("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": own})
            if not exists:
                await conn.execute(sql(f'CREATE DATABASE "{own}"'))
    finally:
        await engine.dispose()
    return f"{base}/{own}"


def _worker_redis(url: str) -> str:
    """gw0 uses the database after the one TEST_REDIS_URL names, gw1 the next, and so on."""
    if not WORKER:
        return url
    base, _, index = url.rpartition("/")
    first = int(index) if index.isdigit() else 0
    return f"{base}/{first + 1 + int(WORKER.removeprefix('gw'))}"


async def _empty_postgres(url: str) -> None:
    """The first test of a run starts from an empty schema and migrates it; the others empty every
    table (much faster than migrating again; the migrations insert no rows of their own)."""
    engine = create_engine(url)
    try:
        if url not in _migrated:
            async with engine.begin() as conn:
                await conn.execute(sql("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(sql("CREATE SCHEMA public"))
            await upgrade_to_head(engine)
            _migrated.add(url)
            return
        async with engine.begin() as conn:
            found = await conn.execute(
                sql(
                    "SELECT tablename FROM pg_tables"
                    " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
            names = ", ".join(f'"{t}"' for t in found.scalars())
            if names:
                await conn.execute(sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database migrated once per run; each test gets a copy (migrating took ~0.5 s a test)."""
    path = tmp_path_factory.mktemp("template") / "dovira.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade_to_head(engine)
        await engine.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture
async def database_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = await _worker_postgres(url)
        await _empty_postgres(url)
        return url
    shutil.copyfile(migrated_sqlite, tmp_path / "dovira.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'dovira.db'}"


@pytest.fixture
async def redis_url() -> str | None:
    """Dialogs in Redis when TEST_REDIS_URL is set (CI sets it), emptied for each test."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        from redis.asyncio import Redis

        url = _worker_redis(url)
        client = Redis.from_url(url)
        await client.flushdb()
        await client.aclose()
    return url


@pytest.fixture
def quick_chat_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests where many messages reach one chat: Telegram's 1 message/s per chat (kept by the
    outbox, tested in test_outbox.py) would make them wait for each; spaced by 10 ms instead."""
    monkeypatch.setattr(outbox_module, "CHAT_INTERVAL", 0.01)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def settings(
    server: FakeTelegramServer, database_url: str, redis_url: str | None, tmp_path: Path
) -> Settings:
    return load_settings(
        _env_file=None,
        REDIS_URL=redis_url or "",
        BOT_API_BASE=server.base_url,
        DATABASE_URL=database_url,
        ADMIN_IDS=str(ADMIN_ID),
        KEY_FILE=str(tmp_path / "dovira.key"),
    )


def person_key(settings: Settings, telegram_id: int) -> str:
    """The keyed hash that stands for a person at rest (the bot's own key file)."""
    return Cipher(load_or_create_key(settings.encryption_key, settings.key_file)).lookup_key(telegram_id)


def is_person(settings: Settings, telegram_id: int) -> ColumnElement[bool]:
    """The users row of a person: by keyed hash (citizens), or by the clear id staff also keep."""
    return or_(User.telegram_key == person_key(settings, telegram_id), User.telegram_id == telegram_id)


@dataclass
class RunningBot:
    server: FakeTelegramServer
    settings: Settings
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def shutdown(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 15)


async def start_bot(server: FakeTelegramServer, settings: Settings) -> RunningBot:
    """`python -m bot`'s own start-up (migrate, wire, poll) until polling begins (its getMe).

    Updates queued from then on are fetched by the first getUpdates; waiting for that call itself
    would wait out a whole long poll, since the server records a call when it has answered it."""
    stop = asyncio.Event()
    mark = len(server.calls)
    task = asyncio.create_task(run(settings, token=TOKEN, stop=stop))
    await server.wait_for_call("getMe", after=mark, timeout=30)
    if task.done():
        task.result()
    return RunningBot(server, settings, stop, task)


@pytest.fixture
async def bot(server: FakeTelegramServer, settings: Settings) -> AsyncIterator[RunningBot]:
    running = await start_bot(server, settings)
    yield running
    await running.shutdown()


class Person:
    """A Telegram user chatting with the bot through the fake server, as a person would."""

    def __init__(self, server: FakeTelegramServer, user_id: int, language_code: str = "uk") -> None:
        self.server = server
        self.id = user_id
        self.language_code = language_code

    def _is_reply(self, call: Call) -> bool:
        if not (
            call.method.lower() in REPLY_METHODS
            and call.ok
            and call.params.get("chat_id") in (self.id, str(self.id))
        ):
            return False
        if call.method.lower().startswith("edit"):
            return True
        text = str(call.params.get("text") or call.params.get("caption") or "")
        return (str(self.id), text) not in OUTBOX_SENT

    async def _reply_after(self, mark: int) -> dict[str, Any]:
        call = await self.server.wait_until(
            lambda: next((c for c in self.server.calls[mark:] if self._is_reply(c)), None),
            what=f"a reply to user {self.id}",
        )
        message: dict[str, Any] = call.result
        return message

    async def say(self, text: str) -> dict[str, Any]:
        """Send text; return the bot's first reply (a new or edited message)."""
        mark = len(self.server.calls)
        self.server.send_text(self.id, text, language_code=self.language_code)
        return await self._reply_after(mark)

    async def send(self, kind: str) -> dict[str, Any]:
        """Send a photo, sticker or voice message; return the reply."""
        mark = len(self.server.calls)
        getattr(self.server, f"send_{kind}")(self.id)
        return await self._reply_after(mark)

    async def reply_to(self, act: Callable[[], object]) -> dict[str, Any]:
        """Do `act` (an update made by hand: a stale press, an odd document) and return the bot's reply to
        this person, never a notice the outbox happens to send meanwhile."""
        mark = len(self.server.calls)
        act()
        return await self._reply_after(mark)

    async def press(self, label: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
        """Press the button whose label contains `label` (on `message`, or the newest with one)."""
        mark = len(self.server.calls)
        data = self.button_data(label, message)
        target = message or self._newest_with(label)
        self.server.press_button(self.id, target["message_id"], data, language_code=self.language_code)
        return await self._reply_after(mark)

    async def press_data(self, data: str, message_id: int) -> Call:
        """Press a button with arbitrary (forged or stale) callback data; return the callback answer."""
        mark = len(self.server.calls)
        self.server.press_button(self.id, message_id, data, language_code=self.language_code)
        return await self.server.wait_for_call("answerCallbackQuery", after=mark)

    def _newest_with(self, label: str) -> dict[str, Any]:
        for message in reversed(self.server.bot_messages(self.id)):
            if any(label in text for text, _ in self.server.buttons(message)):
                return message
        raise AssertionError(f"no visible button with {label!r} for user {self.id}")

    def button_data(self, label: str, message: dict[str, Any] | None = None) -> str:
        message = message or self._newest_with(label)
        for text, data in self.server.buttons(message):
            if label in text:
                return data
        raise AssertionError(f"no button with {label!r}; have {self.server.buttons(message)}")

    def labels(self, message: dict[str, Any]) -> list[str]:
        return [text for text, _ in self.server.buttons(message)]


@pytest.fixture
def person(server: FakeTelegramServer) -> Person:
    return Person(server, 1001)


# What a person is told when a coordinator takes their request (bot/locales/uk/LC_MESSAGES/words.po).
ACCEPTED = "уже займається координатор"


async def bot_says(server: FakeTelegramServer, chat: int, fragment: str, *, after: int = 0) -> dict[str, Any]:
    """The first bot message in `chat` after message id `after` that contains `fragment` (as it is now)."""

    def find() -> dict[str, Any] | None:
        return next(
            (
                m
                for m in server.bot_messages(chat)
                if m["message_id"] > after and fragment in str(m.get("text") or m.get("caption") or "")
            ),
            None,
        )

    found: dict[str, Any] = await server.wait_until(find, timeout=15, what=f"{fragment!r} to {chat}")
    return found
