"""The outbox on the real database against the fake Bot API server: once per recipient and purpose,
paced (a global rate, one message a second per chat), 429 waited out by all sending, blocked chats
not retried forever, a restart resumes without repeating. Time is injected: nothing sleeps."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notices.outbox import LEASE, Outbox
from bot.notices.outgoing import Outgoing
from bot.services.crypto import Cipher
from bot.session import DoviraSession
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.migrate import upgrade_to_head
from db.models import OutboxMessage

CIPHER = Cipher(Fernet.generate_key().decode())  # the same key for a sender and its restarted successor

T0 = datetime(2026, 10, 1, 9, tzinfo=UTC)


class FakeTime:
    """The injected clock: `sleep` lets the other tasks run, then moves time to the sleeper's wake-up
    (never back): each sleep ends no earlier than it asked, which is what pacing is about."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = self.t + max(0.0, seconds)
        for _ in range(3):
            await asyncio.sleep(0)
        self.t = max(self.t, wake)


def outbox_at(
    sessionmaker: async_sessionmaker[AsyncSession], fake: FakeTime, starts: list[tuple[int, float]], **kw: Any
) -> Outbox:
    return Outbox(
        sessionmaker,
        cipher=CIPHER,
        clock=fake.now,
        timer=fake.monotonic,
        sleep=fake.sleep,
        on_request=lambda chat, at: starts.append((chat, at)),
        **kw,
    )


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def statuses(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(OutboxMessage.id, OutboxMessage.status))).all()
    return {row_id: status for row_id, status in rows}


async def test_each_purpose_reaches_each_recipient_once(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    for chat in (1, 2):
        server.add_user(chat)
    fake = FakeTime()
    outbox = outbox_at(sessionmaker, fake, [])
    reminder = [Outgoing(1, "remind:2026-10", "Нагадування"), Outgoing(2, "remind:2026-10", "Нагадування")]
    assert await outbox.enqueue(reminder) == 2
    assert await outbox.enqueue(reminder) == 0  # a second run of the same job queues nothing
    bot = server.create_bot()
    try:
        assert await outbox.send_due(bot) == 2
        assert await outbox.send_due(bot) == 0  # nothing twice
        assert [len(server.bot_messages(c)) for c in (1, 2)] == [1, 1]
        assert await outbox.enqueue(reminder) == 0  # after sending, still once
    finally:
        await bot.session.close()


async def test_one_message_a_second_per_chat_without_holding_back_the_others(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    for chat in (1, 2, 3):
        server.add_user(chat)
    fake = FakeTime()
    starts: list[tuple[int, float]] = []
    outbox = outbox_at(sessionmaker, fake, starts, rate=25)
    # Chat 1 gets three messages queued first; chats 2 and 3 one each, queued after them.
    await outbox.enqueue([Outgoing(1, f"notice:{n}", f"Повідомлення {n}") for n in range(3)])
    await outbox.enqueue([Outgoing(2, "notice:0", "Інше"), Outgoing(3, "notice:0", "Третє")])
    bot = server.create_bot()
    try:
        assert await outbox.send_due(bot) == 5
    finally:
        await bot.session.close()
    chat1 = [at for chat, at in starts if chat == 1]
    assert len(chat1) == 3 and all(b - a >= 1.0 for a, b in itertools.pairwise(chat1))
    # The others go at once, not behind chat 1's second and third messages.
    assert all(at < 0.5 for chat, at in starts if chat in (2, 3))
    assert [m["text"] for m in server.bot_messages(1)] == [f"Повідомлення {n}" for n in range(3)]


async def test_the_global_rate_is_respected(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    chats = range(100, 160)
    for chat in chats:
        server.add_user(chat)
    fake = FakeTime()
    starts: list[tuple[int, float]] = []
    outbox = outbox_at(sessionmaker, fake, starts, rate=20)
    await outbox.enqueue([Outgoing(c, "digest:1", "Дайджест") for c in chats])
    bot = server.create_bot()
    try:
        assert await outbox.send_due(bot) == 60
    finally:
        await bot.session.close()
    times = sorted(at for _chat, at in starts)
    # In any second at most the rate, and never faster than twice the rate.
    assert max(sum(1 for t in times if start <= t < start + 1.0 - 1e-6) for start in times) <= 20
    assert all(b - a >= 1 / 40 - 1e-9 for a, b in itertools.pairwise(times))
    assert times[-1] - times[0] >= 2.0 - 1e-9
    assert sorted(chat for chat, _at in starts) == list(chats)


class ScriptedSession(BaseSession):
    """Answers without a network, at once: a 429 for the chats in `flood` (once each), else success."""

    def __init__(self, fake: FakeTime, flood: dict[int, int]) -> None:
        super().__init__()
        self.fake = fake
        self.flood = flood
        self.requests: list[tuple[int, float, str]] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> TelegramType:
        chat = int(getattr(method, "chat_id", 0))
        if chat in self.flood:
            self.requests.append((chat, self.fake.t, "429"))
            wait = self.flood.pop(chat)
            raise TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=wait)
        self.requests.append((chat, self.fake.t, "ok"))
        content = json.dumps(
            {
                "ok": True,
                "result": {
                    "message_id": len(self.requests),
                    "date": 0,
                    "chat": {"id": chat, "type": "private"},
                    "text": "x",
                },
            }
        )
        return cast(TelegramType, self.check_response(bot, method, 200, content).result)

    async def close(self) -> None:
        pass

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""  # no files here


async def test_a_429_pauses_all_sending_for_its_retry_after(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    fake = FakeTime()
    session = ScriptedSession(fake, flood={1: 3})
    outbox = outbox_at(sessionmaker, fake, [], rate=10)
    await outbox.enqueue([Outgoing(c, "notice:1", "Повідомлення") for c in (1, 2, 3, 4)])
    bot = Bot("42:TEST", session=session)
    assert await outbox.send_due(bot) == 4
    flood_at = next(t for chat, t, answer in session.requests if answer == "429")
    after = [(chat, t) for chat, t, answer in session.requests if answer == "ok"]
    assert sorted(chat for chat, _t in after) == [1, 2, 3, 4]  # chat 1 again after the pause
    assert all(t >= flood_at + 3 for _chat, t in after)  # nobody went on during the pause
    assert outbox.stats.flood_waits == 1 and outbox.stats.paused_seconds == pytest.approx(3)


async def test_the_outbox_itself_sees_a_429_through_the_bots_own_session(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    """The app's session waits out a 429 per request; the outbox must see it, to pause everything."""
    server.add_user(1)
    fake = FakeTime()
    starts: list[tuple[int, float]] = []
    outbox = outbox_at(sessionmaker, fake, starts)
    await outbox.enqueue([Outgoing(1, "notice:1", "Повідомлення")])
    bot = Bot(server.token, session=DoviraSession(api=TelegramAPIServer.from_base(server.base_url)))
    server.fail_next("sendMessage", status=429, retry_after=4)
    try:
        assert await outbox.send_due(bot) == 1
    finally:
        await bot.session.close()
    assert outbox.stats.flood_waits == 1
    assert [at for _chat, at in starts][-1] >= 4.0
    assert len(server.bot_messages(1)) == 1


async def test_a_blocked_chat_is_recorded_and_not_retried(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    server.add_user(5)
    server.add_user(6)
    server.block_chat(5, notify=False)
    outbox = Outbox(sessionmaker, cipher=CIPHER)
    await outbox.enqueue([Outgoing(chat, "digest:2026-10", "Дайджест") for chat in (5, 6)])
    bot = server.create_bot()
    try:
        assert await outbox.send_due(bot) == 1
        assert await outbox.send_due(bot) == 0
    finally:
        await bot.session.close()
    async with sessionmaker() as session:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.recipient_key == CIPHER.lookup_key(5))
        )
    assert row is not None and row.status == "blocked" and row.attempts == 1
    assert len([c for c in server.calls_to("sendMessage") if c.params["chat_id"] == 5]) == 1
    assert outbox.stats.blocked == 1


async def test_a_new_sender_resumes_what_the_old_one_left(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    for chat in range(10, 16):
        server.add_user(chat)
    first = Outbox(sessionmaker, cipher=CIPHER)
    await first.enqueue([Outgoing(c, "notice:1", f"Повідомлення {c}") for c in range(10, 16)])
    bot = server.create_bot()
    try:
        assert await first.send_due(bot, limit=3) == 3  # the process stops after three
        second = Outbox(sessionmaker, cipher=CIPHER)  # a restarted process
        assert await second.send_due(bot) == 3
        delivered = [m["text"] for c in range(10, 16) for m in server.bot_messages(c)]
        assert sorted(delivered) == sorted(f"Повідомлення {c}" for c in range(10, 16))
    finally:
        await bot.session.close()


@pytest.mark.parametrize("kill_at", [1, 2, 9, 10, 11, 12, 13, 21])
async def test_a_sender_cancelled_mid_run_leaves_nothing_to_repeat_or_lose(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer, kill_at: int
) -> None:
    chats = list(range(200, 240))
    for chat in chats:
        server.add_user(chat)
    fake = FakeTime()
    run_task: asyncio.Task[None] | None = None

    def kill(_chat: int, _at: float) -> None:
        starts.append(_chat)
        if len(starts) == kill_at and run_task is not None:
            run_task.cancel()  # requests are on the wire, more are claimed, one waits for its turn

    starts: list[int] = []
    first = Outbox(
        sessionmaker,
        cipher=CIPHER,
        rate=100,
        clock=fake.now,
        timer=fake.monotonic,
        sleep=fake.sleep,
        on_request=kill,
    )
    await first.enqueue([Outgoing(c, "notice:1", f"Повідомлення {c}") for c in chats])
    bot = server.create_bot()
    try:
        run_task = asyncio.create_task(first.run(bot, asyncio.Event()))
        with pytest.raises(asyncio.CancelledError):
            await run_task
        left = await statuses(sessionmaker)
        assert "sending" not in left.values()  # answered ones recorded, unstarted claims given back
        assert kill_at <= list(left.values()).count("sent") < len(chats)
        second = Outbox(
            sessionmaker, cipher=CIPHER, rate=100, clock=fake.now, timer=fake.monotonic, sleep=fake.sleep
        )
        await second.send_due(bot)
    finally:
        await bot.session.close()
    assert set((await statuses(sessionmaker)).values()) == {"sent"}
    assert [len(server.bot_messages(c)) for c in chats] == [1] * len(chats)  # each exactly once


async def test_claims_a_dead_sender_left_are_sent_again_when_their_lease_expires(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    """A hard crash (kill -9) leaves "sending" rows: in doubt. They go again, once, after the lease."""
    server.add_user(30)
    fake = FakeTime()
    outbox = outbox_at(sessionmaker, fake, [])
    await outbox.enqueue([Outgoing(30, "notice:1", "Повідомлення")])
    async with sessionmaker() as session, session.begin():
        await session.execute(update(OutboxMessage).values(status="sending", not_before=fake.now() + LEASE))
    bot = server.create_bot()
    try:
        restarted = outbox_at(sessionmaker, fake, [])
        assert await restarted.send_due(bot) == 0  # the lease holds: maybe still on the wire
        fake.t += LEASE.total_seconds()
        assert await outbox_at(sessionmaker, fake, []).send_due(bot) == 1
    finally:
        await bot.session.close()
    assert len(server.bot_messages(30)) == 1
    assert set((await statuses(sessionmaker)).values()) == {"sent"}


async def test_a_long_text_before_a_document_waits_the_chats_second(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    server.add_user(9)
    fake = FakeTime()
    starts: list[tuple[int, float]] = []
    outbox = outbox_at(sessionmaker, fake, starts)
    await outbox.enqueue([Outgoing(9, "digest:z", "Лист " * 300, document_name="d.docx", document=b"PK")])
    bot = server.create_bot()
    try:
        assert await outbox.send_due(bot) == 1
    finally:
        await bot.session.close()
    assert [m.method for m in server.calls] == ["sendMessage", "sendDocument"]
    assert starts[1][1] - starts[0][1] >= 1.0


async def test_documents_go_out_as_files(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    server.add_user(7)
    outbox = Outbox(sessionmaker, cipher=CIPHER)
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
    server.add_user(8)
    outbox = Outbox(sessionmaker, cipher=CIPHER)
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
    assert server.uploads[-1].data == letter
    assert await outbox.purge() == 0  # delivered today: kept for now
    outbox.clock = lambda: datetime.now(UTC) + timedelta(days=8)
    assert await outbox.purge() == 1


async def test_a_citizens_message_names_no_case_and_is_gone_once_delivered(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    """The table never pairs a person with a case: the recipient is a keyed hash and ciphertext, a
    citizen's purpose ("case.status:<id>:...") only a keyed hash, and the row goes once delivered. A
    notice to staff stays a week (a job that runs again must not queue it twice)."""
    server.add_user(4242)
    server.add_user(2002)
    outbox = Outbox(sessionmaker, cipher=CIPHER)
    queued = [
        Outgoing(4242, "case.status:77:in_progress", "Ваш запит у роботі", citizen=True),
        Outgoing(2002, "case.new:77", "Новий запит"),
    ]
    assert await outbox.enqueue(queued) == 2
    assert await outbox.enqueue(queued) == 0  # once per recipient and purpose, the citizen's too
    async with sessionmaker() as session:
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    for row in rows:
        assert "4242" not in str(row.recipient_key) and b"4242" not in row.recipient_enc
    assert rows[0].purpose == "citizen:" + CIPHER.lookup_key("case.status:77:in_progress")  # no case id
    assert rows[1].purpose == "case.new:77"
    bot = server.create_bot()
    try:
        assert await outbox.send_due(bot) == 2
    finally:
        await bot.session.close()
    assert [m["text"] for m in server.bot_messages(4242)] == ["Ваш запит у роботі"]
    async with sessionmaker() as session:
        left = list(await session.scalars(select(OutboxMessage)))
    assert [(r.purpose, r.status) for r in left] == [("case.new:77", "sent")]


def test_the_send_rate_is_a_setting_with_a_sane_range() -> None:
    from bot.settings import SettingsError, load_settings

    assert load_settings(_env_file=None).send_rate_per_s == 25
    assert load_settings(_env_file=None, SEND_RATE_PER_S="200").send_rate_per_s == 200
    for bad in ("0", "-5", "5000", "fast"):
        with pytest.raises(SettingsError, match="SEND_RATE_PER_S"):
            load_settings(_env_file=None, SEND_RATE_PER_S=bad)


async def test_a_relay_is_sent_now_once_and_leaves_nothing_of_the_words(
    sessionmaker: async_sessionmaker[AsyncSession], server: FakeTelegramServer
) -> None:
    """Telegram's acceptance is what the sender hears; a relay is its own row even when its stored
    message's id comes again (after /forget erased the newest ones) while the first still waits; once
    delivered the outbox keeps nothing of what the person wrote."""
    from bot.notices.delivery import relay

    server.add_user(7)
    outbox = outbox_at(sessionmaker, FakeTime(), [])
    bot = server.create_bot()
    try:
        server.fail_next("sendMessage", status=502, html=True)
        assert await relay(bot, outbox, 7, "relay:1", "Справа ABCD-2345:", "перше", None) == "queued"
        again = await relay(bot, outbox, 7, "relay:1", "Справа ABCD-2345:", "друге, з тим самим id", None)
        assert again == "sent"
        assert [m["text"].split("\n\n")[1] for m in server.bot_messages(7)] == ["друге, з тим самим id"]
    finally:
        await bot.session.close()
    async with sessionmaker() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    assert [row.status for row in rows] == ["pending"]  # only the one still to deliver
    assert all("перше" not in row.text and "relay" not in row.purpose for row in rows)  # sealed, hashed
