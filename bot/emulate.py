"""`python -m bot emulate`: the real bot against a local Bot API emulator, chatting in this terminal.

No token and no internet needed. Type text to send it; a number presses that button under the
newest message that has buttons; `:user ID` switches to another Telegram user (for example one of
ADMIN_IDS, to try staff roles); `:lang en|uk` sets the client language; `:quit` stops.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from typing import Any, TextIO

from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer

EMULATOR_TOKEN = "42:EMULATOR"
EMULATOR_DB = "sqlite+aiosqlite:///./dovira-emulator.db"

HELP = """Dovira emulator: you are Telegram user {user}. Type a message and press Enter.
  /start            open the bot (any text or /command is sent as you typed it)
  1, 2, ...         press that button under the newest message with buttons
  :user 2002        become another user (an id in ADMIN_IDS gets the admin role)
  :lang en          your Telegram app language (uk or en) for what you send next
  :help             this text        :quit  stop (Ctrl-D too)
"""

_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """What a person would read: HTML tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", text))


class TerminalChat:
    def __init__(self, server: FakeTelegramServer, user_id: int, out: TextIO) -> None:
        self.server = server
        self.user_id = user_id
        self.language = "uk"
        self.out = out
        self.last_with_buttons: dict[str, Any] | None = None

    def on_bot_message(self, message: dict[str, Any]) -> None:
        if message.get("chat", {}).get("id") != self.user_id:
            return
        body = message.get("text") or message.get("caption") or "[media]"
        edited = " (edited)" if message.get("edit_date") else ""
        self.out.write(f"\n--- Dovira{edited} ---\n{plain(body)}\n")
        buttons = self.server.buttons(message)
        if buttons:
            self.last_with_buttons = message
            for number, (text, _data) in enumerate(buttons, start=1):
                self.out.write(f"  [{number}] {text}\n")
        self.out.write("> ")
        self.out.flush()

    async def handle(self, line: str) -> bool:
        """One line typed by the person; False when they want to stop."""
        line = line.strip()
        if not line:
            return True
        if line in (":quit", ":q", ":exit"):
            return False
        if line == ":help":
            self.out.write(HELP.format(user=self.user_id))
        elif line.startswith(":user"):
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                self.user_id = int(parts[1])
                self.last_with_buttons = None
                self.out.write(f"You are now user {self.user_id}. Send /start.\n")
            else:
                self.out.write("Usage: :user 2002\n")
        elif line.startswith(":lang"):
            parts = line.split()
            if len(parts) == 2 and parts[1] in ("uk", "en"):
                self.language = parts[1]
                self.out.write(f"Client language: {self.language}\n")
            else:
                self.out.write("Usage: :lang en  or  :lang uk\n")
        elif line.isdigit():
            self._press(int(line))
        else:
            self.server.send_text(self.user_id, line, language_code=self.language)
        self.out.flush()
        return True

    def _press(self, number: int) -> None:
        message = self.last_with_buttons
        buttons = self.server.buttons(message) if message else []
        if not message or not 1 <= number <= len(buttons):
            self.out.write("No such button. Type its number as shown in [brackets].\n")
            return
        self.server.press_button(
            self.user_id, message["message_id"], buttons[number - 1][1], language_code=self.language
        )


async def emulate(
    settings: Settings, *, user_id: int = 1001, stdin: TextIO | None = None, out: TextIO | None = None
) -> int:
    from bot.app import run

    stdin = stdin or sys.stdin
    out = out or sys.stdout
    # The emulator polls its own fake server: a deployment's webhook in .env must not apply here.
    overrides: dict[str, Any] = {"webhook_url": None, "webhook_secret": None}
    if "database_url" not in settings.model_fields_set:
        overrides["database_url"] = EMULATOR_DB  # keep the emulator's users apart from a real bot's
    async with FakeTelegramServer(token=EMULATOR_TOKEN) as server:
        settings = settings.model_copy(update={"bot_api_base": server.base_url, **overrides})
        chat = TerminalChat(server, user_id, out)
        server.on_bot_message = chat.on_bot_message
        stop = asyncio.Event()
        bot_task = asyncio.create_task(run(settings, token=EMULATOR_TOKEN, stop=stop))
        out.write("Starting Dovira...\n")
        out.flush()
        await server.wait_until(lambda: bot_task.done() or server.calls_to("getMe"), timeout=120)
        if bot_task.done():
            bot_task.result()  # start-up failed: show why
        out.write(HELP.format(user=user_id) + "> ")
        out.flush()
        try:
            while not bot_task.done():
                line = await asyncio.to_thread(stdin.readline)
                if line == "" or not await chat.handle(line):
                    break
        finally:
            stop.set()
            await bot_task
    out.write("\nBye.\n")
    return 0
