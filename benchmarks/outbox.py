"""The outbox sender against the fake Bot API server, in one run.

Ceilings first, measured in the same run so the figures can be compared:
  (a) raw: aiogram sending to the fake server, 64 requests in flight, no outbox, no pacing;
  (b) the outbox unpaced with the network mocked: its own cost (database, encryption, requests built);
  (c) the outbox unpaced against the fake server.
Then the scenarios: 10,000 recipients at SEND_RATE_PER_S=200 and 3,000 at 30, the server answering
429 (retry_after 1 s) to 2% of the calls (seeded) and checking its own flood limits at the configured
rate, the sender cancelled half-way and a new one started on the same database. For each: configured
rate, achieved rate, ratio (target >= 0.93), lost and duplicated (targets 0, counted from the calls
the server recorded), 429s.

A 429 pauses all sending for its retry_after (Telegram's limit is per bot): at 2% of 200/s that is
four one-second pauses per second of sending, so the wall-clock rate is mostly pauses. The achieved
rate is therefore delivered messages per second while the sender was allowed to send (wall-clock
minus the time paused by 429s); the wall-clock rate is printed too.

With --hard-kill, instead: the sender in a process of its own, killed with SIGKILL half-way (no
drain, no last write), and a new sender started once the claims' lease has expired: how many rows
were in doubt, and how many were lost or arrived twice (at most the in-doubt ones; see the crash
semantics in bot/notices/outbox.py).

    .venv/bin/python benchmarks/outbox.py [--scale 0.1] [--hard-kill]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notices.outbox import LEASE, Outbox
from bot.notices.outgoing import Outgoing
from bot.services.crypto import Cipher, load_or_create_key
from bot.session import DoviraSession
from bot.telegram_emulator.server import Call, FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.migrate import upgrade_to_head
from db.models import OutboxMessage

TOKEN = "42:BENCH"
TEXT = "Нагадування: звіт до поліції за жовтень чекає до 5 листопада. Відкрийте /staff, щоб подати його."


class MockedSession(BaseSession):
    """Answers every request at once, as the Bot API would, without a network."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None  # noqa: ASYNC109
    ) -> TelegramType:
        self.calls += 1
        chat = getattr(method, "chat_id", 1)
        content = json.dumps({"ok": True, "result": {
            "message_id": self.calls, "date": 0, "chat": {"id": chat, "type": "private"}, "text": "x"}})
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


def real_bot(server: FakeTelegramServer) -> Bot:
    """The app's own session (bot.app.create_bot), pointed at the fake server."""
    return Bot(TOKEN, session=DoviraSession(api=TelegramAPIServer.from_base(server.base_url)))


async def database(tmp: str) -> tuple[async_sessionmaker[AsyncSession], Cipher, Any]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp}/bench.db")
    await upgrade_to_head(engine)
    cipher = Cipher(load_or_create_key(None, Path(tmp) / "dovira.key"))
    return create_sessionmaker(engine), cipher, engine


async def enqueue(outbox: Outbox, recipients: range, purpose: str) -> None:
    chunk = 1000
    for i in range(0, len(recipients), chunk):
        await outbox.enqueue([Outgoing(r, purpose, TEXT) for r in recipients[i : i + chunk]])


async def raw_rate(count: int) -> float:
    async with FakeTelegramServer(token=TOKEN) as server:
        for chat in range(1, count + 1):
            server.add_user(chat)
        bot = real_bot(server)
        gate = asyncio.Semaphore(64)

        async def one(chat: int) -> None:
            async with gate:
                await bot.send_message(chat, TEXT, protect_content=True)

        started = time.perf_counter()
        await asyncio.gather(*(one(chat) for chat in range(1, count + 1)))
        elapsed = time.perf_counter() - started
        await bot.session.close()
    return count / elapsed


async def unpaced_rate(count: int, *, network: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        sessionmaker, cipher, engine = await database(tmp)
        outbox = Outbox(sessionmaker, cipher=cipher, rate=1_000_000, max_in_flight=64)
        await enqueue(outbox, range(1, count + 1), "bench:unpaced")
        async with FakeTelegramServer(token=TOKEN) as server:
            for chat in range(1, count + 1):
                server.add_user(chat)
            bot = real_bot(server) if network else Bot(TOKEN, session=MockedSession())
            started = time.perf_counter()
            delivered = await outbox.send_due(bot)
            elapsed = time.perf_counter() - started
            await bot.session.close()
        await engine.dispose()
    assert delivered == count, delivered
    return count / elapsed


async def remaining(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: n for status, n in rows.all()}


async def scenario(recipients: int, rate: float, fail_fraction: float, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        sessionmaker, cipher, engine = await database(tmp)
        chats = range(1_000_001, 1_000_001 + recipients)
        half = asyncio.Event()
        delivered_calls = 0

        def watch(call: Call) -> None:
            nonlocal delivered_calls
            if call.method == "sendMessage" and call.ok:
                delivered_calls += 1
                if delivered_calls >= recipients // 2:
                    half.set()

        # The server enforces Telegram's limits at the configured rate: a 429 from it is a pacing fault.
        server = FakeTelegramServer(
            token=TOKEN, flood_control=True, flood_global_rate=rate, on_call=watch
        )
        await server.start()
        for chat in chats:
            server.add_user(chat)
        server.fail_randomly(fail_fraction, retry_after=1, seed=seed)
        first = Outbox(sessionmaker, cipher=cipher, rate=rate)
        await enqueue(first, chats, "bench:1")
        bot = real_bot(server)

        # The first sender runs as in the app, and is cancelled half-way.
        stop = asyncio.Event()
        task = asyncio.create_task(first.run(bot, stop))
        await half.wait()
        killed_at = time.time()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        after_kill = await remaining(sessionmaker)

        # A new sender (a restarted process) on the same database.
        second = Outbox(sessionmaker, cipher=cipher, rate=rate)
        restarted_at = time.time()
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            await second.send_due(bot)
            left = await remaining(sessionmaker)
            if not left.get("pending") and not left.get("sending"):
                break
            await asyncio.sleep(0.2)
        await bot.session.close()
        await server.stop()
        await engine.dispose()

    sends = [c for c in server.calls if c.method == "sendMessage"]
    ok = [c for c in sends if c.ok]
    per_chat = Counter(int(c.params["chat_id"]) for c in ok)
    span = ok[-1].time - sends[0].time
    paused = first.stats.paused_seconds + second.stats.paused_seconds
    sending = span - paused
    return {
        "rate": rate,
        "recipients": recipients,
        "achieved": len(ok) / sending,
        "requests": len(sends) / sending,
        "wall": len(ok) / span,
        "span": span,
        "paused": paused,
        "lost": sum(1 for chat in chats if per_chat[chat] == 0),
        "duplicated": sum(1 for chat in chats if per_chat[chat] > 1),
        "flood_429": server.random_failures,
        "pacing_429": server.flood_refusals,
        "seen_429": first.stats.flood_waits + second.stats.flood_waits,
        "killed_after": sum(1 for c in ok if c.time <= killed_at),
        "in_doubt": after_kill.get("sending", 0),
        "restart_gap": next((c.time for c in sends if c.time >= restarted_at), restarted_at) - killed_at,
    }


async def sender_process(tmp: str, base_url: str, rate: float) -> None:
    """The sender as its own process (for --hard-kill): the app's outbox loop, until killed."""
    sessionmaker, cipher, _engine = await database(tmp)
    outbox = Outbox(sessionmaker, cipher=cipher, rate=rate)
    bot = Bot(TOKEN, session=DoviraSession(api=TelegramAPIServer.from_base(base_url)))
    await outbox.run(bot, asyncio.Event())


async def hard_kill(recipients: int, rate: float) -> dict[str, float]:
    """The sender in a child process, killed with SIGKILL by the server half-way (requests on the
    wire, answers not yet recorded); a new sender started once the claims' lease has expired."""
    with tempfile.TemporaryDirectory() as tmp:
        sessionmaker, cipher, engine = await database(tmp)
        chats = range(2_000_001, 2_000_001 + recipients)
        child: asyncio.subprocess.Process | None = None
        delivered_calls = 0

        def watch(call: Call) -> None:
            nonlocal delivered_calls
            if call.method == "sendMessage" and call.ok:
                delivered_calls += 1
                if delivered_calls == recipients // 2 and child is not None:
                    child.kill()  # SIGKILL: no drain, no last write

        server = FakeTelegramServer(token=TOKEN, on_call=watch)
        await server.start()
        for chat in chats:
            server.add_user(chat)
        await enqueue(Outbox(sessionmaker, cipher=cipher), chats, "bench:hard")
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--sender", tmp, server.base_url, str(rate)
        )
        await child.wait()
        in_doubt = (await remaining(sessionmaker)).get("sending", 0)
        # The restarted sender's clock is past the lease: what was in doubt goes again now.
        later = datetime.now(UTC) + LEASE + timedelta(seconds=1)
        second = Outbox(sessionmaker, cipher=cipher, rate=rate, clock=lambda: later)
        bot = real_bot(server)
        await second.send_due(bot)
        left = await remaining(sessionmaker)
        await bot.session.close()
        await server.stop()
        await engine.dispose()
    per_chat = Counter(int(c.params["chat_id"]) for c in server.calls if c.method == "sendMessage" and c.ok)
    return {
        "in_doubt": in_doubt,
        "resent": second.stats.in_doubt,
        "lost": sum(1 for chat in chats if per_chat[chat] == 0),
        "duplicated": sum(1 for chat in chats if per_chat[chat] > 1),
        "unfinished": left.get("pending", 0) + left.get("sending", 0),
    }


async def main_hard_kill(scale: float) -> None:
    logging.getLogger("dovira").setLevel(logging.ERROR)
    recipients = max(100, int(2000 * scale))
    h = await hard_kill(recipients, 200.0)
    print(f"-- {recipients} recipients at 200/s, the sender's process killed (SIGKILL) half-way")
    print(f"   in doubt after the kill   {h['in_doubt']:8.0f}  (left 'sending': on the wire or not recorded)")
    print(f"   sent again after lease    {h['resent']:8.0f}")
    print(f"   lost                      {h['lost']:8.0f}")
    print(f"   duplicated                {h['duplicated']:8.0f}  (at most the in-doubt ones)")
    print(f"   not finished              {h['unfinished']:8.0f}")


async def main(scale: float) -> None:
    print("Outbox sender, fake Bot API server on 127.0.0.1, SQLite, text encrypted at rest")
    n = max(500, int(5000 * scale))
    logging.getLogger("dovira").setLevel(logging.ERROR)  # the key-file notice, once per database
    print(f"{n} messages to {n} chats, as fast as they go:")
    a = await raw_rate(n)
    print(f"(a) raw aiogram -> fake server, 64 in flight:  {a:7.0f} messages/s")
    b = await unpaced_rate(n, network=False)
    print(f"(b) outbox unpaced, network mocked:            {b:7.0f} messages/s")
    c = await unpaced_rate(n, network=True)
    print(f"(c) outbox unpaced -> fake server:             {c:7.0f} messages/s")
    for recipients, rate, seed in ((10_000, 200.0, 1), (3_000, 30.0, 2)):
        r = await scenario(max(100, int(recipients * scale)), rate, 0.02, seed)
        print(f"-- {r['recipients']:.0f} recipients at SEND_RATE_PER_S={rate:.0f}, 2% of calls answered 429, "
              f"sender cancelled after {r['killed_after']:.0f} and restarted")
        print(f"   configured rate           {rate:8.1f} messages/s")
        print(f"   achieved rate             {r['achieved']:8.1f} messages/s while allowed to send "
              f"({r['requests']:.1f} requests/s)")
        print(f"   ratio                     {r['achieved'] / rate:8.3f}  (target >= 0.93; requests: "
              f"{r['requests'] / rate:.3f}, a call answered 429 takes a slot too)")
        print(f"   lost                      {r['lost']:8.0f}  (target 0)")
        print(f"   duplicated                {r['duplicated']:8.0f}  (target 0)")
        print(f"   429s seen                 {r['seen_429']:8.0f}  (injected {r['flood_429']:.0f}, "
              f"from the server's flood limits {r['pacing_429']:.0f})")
        print(f"   in doubt after the kill   {r['in_doubt']:8.0f}  (rows left 'sending')")
        print(f"   wall clock                {r['span']:8.1f} s, of which paused by 429s "
              f"{r['paused']:.1f} s; {r['wall']:.1f} messages/s overall; "
              f"restart took {r['restart_gap'] * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the recipients (quick runs)")
    parser.add_argument("--hard-kill", action="store_true", help="instead: a sender process SIGKILLed")
    parser.add_argument("--sender", nargs=3, metavar=("TMP", "URL", "RATE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        asyncio.run(sender_process(args.sender[0], args.sender[1], float(args.sender[2])))
    elif args.hard_kill:
        asyncio.run(main_hard_kill(args.scale))
    else:
        asyncio.run(main(args.scale))
