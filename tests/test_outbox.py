"""The outbox on the real database against the fake Bot API server: once per recipient and purpose,
429 waited out, blocked chats not retried forever, a restart resumes without repeating."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.migrate import upgrade_to_head
from db.models import OutboxMessage
from scheduler.outbox import Outbox, Outgoing


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_each_purpose_reaches_each_recipient_once(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    for chat in (1, 2):
        server.add_user(chat)
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    outbox = Outbox(sessionmaker, sleep=no_sleep)
    reminder = [Outgoing(1, "remind:2026-10", "Нагадування"), Outgoing(2, "remind:2026-10", "Нагадування")]
    assert await outbox.enqueue(reminder) == 2
    assert await outbox.enqueue(reminder) == 0  # a second run of the same job queues nothing
    bot = server.create_bot()
    try:
        server.fail_next("sendMessage", status=429, retry_after=3)
        assert await outbox.send_due(bot) == 0  # paused by the 429
        assert sleeps == [3.0]
        outbox.clock = lambda: (
            __import__("datetime").datetime.now(__import__("datetime").UTC).replace(year=2100)
        )
        assert await outbox.send_due(bot) == 2
        assert await outbox.send_due(bot) == 0  # nothing twice
        assert [len(server.bot_messages(c)) for c in (1, 2)] == [1, 1]
        assert await outbox.enqueue(reminder) == 0  # after sending, still once
    finally:
        await bot.session.close()


async def test_a_blocked_chat_is_recorded_and_not_retried(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    server.add_user(5)
    server.block_chat(5, notify=False)
    outbox = Outbox(sessionmaker)
    await outbox.enqueue([Outgoing(5, "digest:2026-10", "Дайджест")])
    bot = server.create_bot()
    try:
        assert await outbox.send_due(bot) == 0
        assert await outbox.send_due(bot) == 0
    finally:
        await bot.session.close()
    async with sessionmaker() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None and row.status == "blocked" and row.attempts == 1
    assert len(server.calls_to("sendMessage")) == 1


async def test_a_new_sender_resumes_what_the_old_one_left(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    for chat in range(10, 16):
        server.add_user(chat)
    first = Outbox(sessionmaker)
    await first.enqueue([Outgoing(c, "notice:1", f"Повідомлення {c}") for c in range(10, 16)])
    bot = server.create_bot()
    try:
        assert await first.send_due(bot, limit=3) == 3  # the process dies after three
        second = Outbox(sessionmaker)  # a restarted process
        assert await second.send_due(bot) == 3
        delivered = [m["text"] for c in range(10, 16) for m in server.bot_messages(c)]
        assert sorted(delivered) == sorted(f"Повідомлення {c}" for c in range(10, 16))
    finally:
        await bot.session.close()


async def test_documents_go_out_as_files(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    server.add_user(7)
    outbox = Outbox(sessionmaker)
    await outbox.enqueue(
        [Outgoing(7, "digest:x", "Лист", document_name="digest.docx", document=b"PK\x03\x04x")]
    )
    bot = server.create_bot()
    try:
        assert await outbox.send_due(bot) == 1
    finally:
        await bot.session.close()
    call = server.calls_to("sendDocument")[0]
    assert call.ok and call.params.get("protect_content") is True


async def test_queued_text_and_files_are_encrypted_at_rest_and_purged_after_a_week(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    from cryptography.fernet import Fernet

    from bot.services.crypto import Cipher

    server.add_user(8)
    outbox = Outbox(sessionmaker, cipher=Cipher(Fernet.generate_key().decode()))
    letter = b"PK\x03\x04 signal: recruiters at the bus station"
    await outbox.enqueue(
        [Outgoing(8, "digest:y", "Запит ABCD-2345: сигнал", document_name="d.docx", document=letter)]
    )
    async with sessionmaker() as session:
        row = await session.scalar(select(OutboxMessage))
    assert (
        row is not None and "ABCD" not in row.text and row.document is not None and letter not in row.document
    )
    bot = server.create_bot()
    try:
        assert await outbox.send_due(bot) == 1
    finally:
        await bot.session.close()
    assert server.calls_to("sendDocument")[0].params["caption"] == "Запит ABCD-2345: сигнал"
    assert await outbox.purge() == 0  # delivered today: kept for now
    outbox.clock = lambda: datetime.now(UTC) + timedelta(days=8)
    assert await outbox.purge() == 1
