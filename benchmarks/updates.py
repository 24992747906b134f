"""Updates per second through the Dispatcher with the network mocked, in one run:

  (a) a bare echo handler: the dispatcher's own cost, the baseline;
  (b) the full citizen /start path: user record in SQLite (written on first contact, cached
      after), i18n, the main menu keyboard; the real app wiring from bot.app.build_app.

Prints both rates and the ratio b/a (target >= 0.5). Also prints (c), /start where every update
comes from a new user (a write each time), as the worst case.

    python benchmarks/updates.py [--updates 20000] [--users 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Message, Update

from bot.app import build_app
from bot.session import DoviraSession
from bot.settings import load_settings


class MockedSession(DoviraSession):
    """Dovira's real session up to the wire: each request is encoded as for Telegram (form data,
    JSON-encoded keyboard) and a canned answer is decoded, but nothing is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None  # noqa: ASYNC109
    ) -> TelegramType:
        self.calls += 1
        self.build_form_data(bot, method)
        chat_id = getattr(method, "chat_id", 1)
        text = getattr(method, "text", None)
        content = json.dumps({"ok": True, "result": {
            "message_id": self.calls, "date": 0, "chat": {"id": chat_id, "type": "private"}, "text": text}})
        response = self.check_response(bot=bot, method=method, status_code=200, content=content)
        return cast(TelegramType, response.result)

    async def close(self) -> None:
        pass


def start_updates(bot: Bot, count: int, users: int, first_user: int = 10_000) -> list[Update]:
    updates = []
    for i in range(count):
        user = first_user + (i % users)
        raw = {
            "update_id": i + 1,
            "message": {
                "message_id": i + 1,
                "date": 1_700_000_000,
                "chat": {"id": user, "type": "private", "first_name": "B"},
                "from": {"id": user, "is_bot": False, "first_name": "B", "language_code": "uk"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        updates.append(Update.model_validate(raw, context={"bot": bot}))
    return updates


async def rate(dp: Dispatcher, bot: Bot, updates: list[Update], batch: int) -> float:
    """Updates/s fed `batch` at a time as concurrent tasks: long polling hands the dispatcher up
    to 100 updates per getUpdates and handles each as a task. batch=1 is one after another."""
    started = time.perf_counter()
    for i in range(0, len(updates), batch):
        chunk = updates[i : i + batch]
        if len(chunk) == 1:
            await dp.feed_update(bot, chunk[0])
        else:
            await asyncio.gather(*(dp.feed_update(bot, u) for u in chunk))
    return len(updates) / (time.perf_counter() - started)


def echo_dispatcher() -> Dispatcher:
    router = Router()

    @router.message(Command("start"))
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def measure(count: int, users: int, batch: int) -> tuple[float, float, float]:
    bot = Bot("42:BENCH", session=MockedSession())
    warm = start_updates(bot, 500, 50, first_user=1)

    echo = echo_dispatcher()
    await rate(echo, bot, warm, batch)
    a = await rate(echo, bot, start_updates(bot, count, users), batch)

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            _env_file=None, DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/bench.db", KEY_FILE=f"{tmp}/dovira.key"
        )
        app = await build_app(settings)
        dp = app.dispatcher
        dp["i18n"] = app.i18n
        await rate(dp, bot, warm, batch)
        b = await rate(dp, bot, start_updates(bot, count, users), batch)
        c_count = max(1000, count // 10)
        c = await rate(dp, bot, start_updates(bot, c_count, c_count, first_user=5_000_000), batch)
        await app.close()
    return a, b, c


async def main(count: int, users: int) -> None:
    print(f"{count} /start updates from {users} users (each user's first update writes its record)")
    for batch, label in ((100, "as long polling feeds them (100 concurrent)"), (1, "one after another")):
        a, b, c = await measure(count, users, batch)
        print(f"-- {label}")
        print(f"(a) bare echo handler:          {a:8.0f} updates/s")
        print(f"(b) citizen /start, full path:  {b:8.0f} updates/s")
        print(f"(c) /start, every user new:     {c:8.0f} updates/s  (worst case: an INSERT per update)")
        print(f"ratio b/a = {b / a:.2f}  (target >= 0.5)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=1_000)
    args = parser.parse_args()
    asyncio.run(main(args.updates, args.users))
