"""Updates per second through the Dispatcher with the network mocked, in one run:

  (a) a bare echo handler: the dispatcher's own cost, the baseline;
  (b) the full citizen /start path: who is writing (read once per person and cached; a person who
      only reads is never written), the dialog storage, i18n, the main menu keyboard; the real app
      wiring from bot.app.build_app;
  (c) /start where every update comes from a person the bot has not seen: the worst case.

Prints the rates and the ratios against (a) in the same run, both as long polling feeds updates (100 at
once) and one after another. Targets (issue 12): c/a >= 0.5 as long polling feeds them, b/a >= 0.4 one
after another.

    python benchmarks/updates.py [--updates 20000] [--users 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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
    """Updates per second of CPU, fed `batch` at a time as concurrent tasks: long polling hands the
    dispatcher up to 100 updates per getUpdates and handles each as a task. batch=1 is one after
    another. CPU time (this process, its database thread included), not the wall clock: on a shared
    machine another process's work would count as ours."""
    started = time.process_time()
    for i in range(0, len(updates), batch):
        chunk = updates[i : i + batch]
        if len(chunk) == 1:
            await dp.feed_update(bot, chunk[0])
        else:
            await asyncio.gather(*(dp.feed_update(bot, u) for u in chunk))
    return len(updates) / (time.process_time() - started)


def echo_dispatcher() -> Dispatcher:
    router = Router()

    @router.message(Command("start"))
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def measure(count: int, users: int, batch: int, repeats: int) -> tuple[float, float, float]:
    """The best of `repeats` runs of each case, interleaved (a, b, c, a, b, c, ...): on a shared machine
    a run is slowed by whatever else runs, never sped up, so the best run is the closest to the code's
    own cost, and interleaving gives each case the same machine."""
    bot = Bot("42:BENCH", session=MockedSession())
    warm = start_updates(bot, 500, 50, first_user=1)
    echo = echo_dispatcher()
    await rate(echo, bot, warm, batch)
    best = [0.0, 0.0, 0.0]
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            _env_file=None, DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/bench.db", KEY_FILE=f"{tmp}/dovira.key"
        )
        app = await build_app(settings)
        gc.freeze()  # as `python -m bot` does once it is built (bot/app.py, run)
        dp = app.dispatcher
        dp["i18n"] = app.i18n
        await rate(dp, bot, warm, batch)
        c_count = max(1000, count // 10)
        for run in range(repeats):
            best[0] = max(best[0], await rate(echo, bot, start_updates(bot, count, users), batch))
            # (b): the same people each run (the first run reads who they are, then the cache answers).
            best[1] = max(best[1], await rate(dp, bot, start_updates(bot, count, users), batch))
            new_people = start_updates(bot, c_count, c_count, first_user=5_000_000 + run * c_count)
            best[2] = max(best[2], await rate(dp, bot, new_people, batch))
        await app.close()
    return best[0], best[1], best[2]


async def main(count: int, users: int, repeats: int) -> None:
    print(
        f"{count} /start updates from {users} users (each user's first update reads who they are), "
        f"best of {repeats} runs each"
    )
    for batch, label in ((100, "as long polling feeds them (100 concurrent)"), (1, "one after another")):
        a, b, c = await measure(count, users, batch, repeats)
        print(f"-- {label}")
        print(f"(a) bare echo handler:          {a:8.0f} updates/s")
        print(f"(b) citizen /start, full path:  {b:8.0f} updates/s")
        print(f"(c) /start, every user new:     {c:8.0f} updates/s  (worst case: nobody cached)")
        b_target = "  (target >= 0.4)" if batch == 1 else ""
        c_target = "  (target >= 0.5)" if batch > 1 else ""
        print(f"ratio b/a = {b / a:.2f}{b_target}")
        print(f"ratio c/a = {c / a:.2f}{c_target}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.updates, args.users, args.repeats))
