"""The terminal driver of `python -m bot emulate`: the real bot against the fake Bot API server, chatting
in this terminal (bot/emulate.py keeps the entry point the command line calls).

No token and no internet needed. Everything typed is sent as text (numbers too); `#3` presses button
[#3] under the newest message with buttons; `:user ID` switches to another Telegram user (for example
one of ADMIN_IDS, to try staff roles); `:lang en|uk` sets the client language; `:quit` stops.
Every message the bot sends is shown, marked with whom it went to, and so are its toasts and alerts;
files it sends are saved in a folder; the chats are kept in a file, so a restart goes on with them.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import is_sqlite, sqlite_file

EMULATOR_TOKEN = "42:EMULATOR"
EMULATOR_DB = "sqlite+aiosqlite:///./dovira-emulator.db"

HELP = """Dovira emulator: you are Telegram user {user}. Type a message and press Enter.
  /start            open the bot (anything typed is sent as text, numbers such as 102 too)
  #1, #2, ...       press button [#1], [#2]... under the newest message with buttons in your chat
  :user 3001        become another user (an id in ADMIN_IDS gets the admin role)
  :lang en          the Telegram app language (uk or en) of the user you are
  :help             this text        :quit  stop (Ctrl-D too)
Messages to every user are shown, marked "-> 3001" with whom they went to ("(you)": the user you are).
Files the bot sends are saved in {files}
Chats are kept in {chats} (delete it and the database to start afresh).
"""

_TAG = re.compile(r"<[^>]+>")
_BUTTON = re.compile(r"#(\d+)")
_UNSAFE_IN_NAME = re.compile(r"[^\w.-]+")


def plain(text: str) -> str:
    """What a person would read: HTML tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", text))


def emulator_folder(database_url: str) -> tuple[Path, str]:
    """Where the chats file and the files folder go: beside an SQLite database, named after it
    (a PostgreSQL database: the working folder), so each database keeps its own chats."""
    database = sqlite_file(database_url) if is_sqlite(database_url) else None
    if database is None:
        return Path.cwd(), "dovira-emulator"
    return database.resolve().parent, database.stem


def load_chats(server: FakeTelegramServer, path: Path) -> tuple[list[int], str]:
    """The chats of an earlier run, back in the server: their ids, and one line saying what was found."""
    if not path.exists():
        return [], f"No earlier chats ({path} is made as you go)."
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        server.import_chats(state)
        chat_ids = [int(chat["id"]) for chat in state.get("chats", [])]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return (
            [],
            f"Could not read the earlier chats in {path} ({type(exc).__name__}); starting without them.",
        )
    return chat_ids, f"Chats with {len(chat_ids)} user(s) restored from {path}."


def save_chats(server: FakeTelegramServer, path: Path) -> None:
    """Write the chats so a restart knows them; atomic, readable by this account only (they hold what
    people typed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(server.export_chats(), file, ensure_ascii=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _file_of(message: dict[str, Any]) -> tuple[str, str] | None:
    """(file_id, name) of the document or the largest photo of a message, None when it has neither."""
    document = message.get("document")
    if isinstance(document, dict):
        return str(document["file_id"]), str(document.get("file_name") or "document")
    photo = message.get("photo")
    if isinstance(photo, list) and photo:
        return str(photo[-1]["file_id"]), "photo"
    return None


def _extension(data: bytes) -> str:
    """A photo's extension from its bytes (the Bot API does not keep the uploaded name of a photo)."""
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    return ""


def save_file(server: FakeTelegramServer, message: dict[str, Any], folder: Path) -> Path | None:
    """Save the file a bot message carries under `folder`; its path, or None when it has none."""
    found = _file_of(message)
    if found is None:
        return None
    file_id, name = found
    data = server.file_content(file_id)
    if data is None:
        return None
    if name == "photo":
        name += _extension(data)
    safe = _UNSAFE_IN_NAME.sub("_", name).lstrip(".") or "file"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Chat and message id first: unique across runs, and sorted in the order they were sent.
    path = folder / f"{message['chat']['id']}-{message['message_id']}-{safe}"
    path.write_bytes(data)
    return path.resolve()


class TerminalChat:
    def __init__(
        self,
        server: FakeTelegramServer,
        user_id: int,
        out: TextIO,
        *,
        chats_file: Path,
        files_folder: Path,
    ) -> None:
        self.server = server
        self.user_id = user_id
        self.out = out
        self.chats_file = chats_file
        self.files_folder = files_folder
        # Per chat: the newest message shown with buttons, the one `#N` presses in that chat.
        self.with_buttons: dict[int, int] = {}
        self.deleted: dict[int, list[int]] = {}  # chat id -> message ids deleted, not yet shown

    def attach(self) -> None:
        """Show everything the server sees the bot do."""
        self.server.on_bot_message = self.on_bot_message
        self.server.on_callback_answer = self.on_callback_answer
        self.server.on_message_deleted = self.on_message_deleted

    def remember_buttons(self, chat_ids: list[int]) -> None:
        """After a restart: each chat's newest bot message with buttons is what `#N` presses."""
        for chat_id in chat_ids:
            for message in self.server.bot_messages(chat_id):
                if self.server.buttons(message):
                    self.with_buttons[chat_id] = int(message["message_id"])

    def _to_whom(self, chat_id: int) -> str:
        return f"{chat_id} (you)" if chat_id == self.user_id else str(chat_id)

    def prompt(self) -> None:
        self.out.write(f"{self.user_id}> ")
        self.out.flush()

    def on_bot_message(self, message: dict[str, Any]) -> None:
        chat_id = int(message["chat"]["id"])
        body = message.get("text") or message.get("caption") or ""
        edited = " (edited)" if message.get("edit_date") else ""
        self.out.write(f"\n--- Dovira -> {self._to_whom(chat_id)}{edited} ---\n")
        if body:
            self.out.write(plain(body) + "\n")
        if not message.get("edit_date"):
            self._show_file(message)
        buttons = self.server.buttons(message)
        if buttons:
            self.with_buttons[chat_id] = int(message["message_id"])
            for number, (text, _data) in enumerate(buttons, start=1):
                self.out.write(f"  [#{number}] {text}\n")
        save_chats(self.server, self.chats_file)
        self.prompt()

    def _show_file(self, message: dict[str, Any]) -> None:
        saved = save_file(self.server, message, self.files_folder)
        if saved is not None:
            self.out.write(f"[file saved] {saved}\n")
        elif _file_of(message) is not None:
            self.out.write("[file] (its content is not available)\n")

    def on_callback_answer(self, answer: dict[str, Any]) -> None:
        text = answer.get("text")
        if not text:
            return  # a silent answer: Telegram shows nothing either
        kind = "alert" if answer.get("show_alert") else "toast"
        self.out.write(f"\n[{kind} -> {self._to_whom(int(answer['chat_id']))}] {plain(str(text))}\n")
        self.prompt()

    def on_message_deleted(self, message: dict[str, Any]) -> None:
        chat_id = int(message["chat"]["id"])
        if not self.deleted:
            # One line for a whole batch (clearing a chat deletes dozens): shown once the request is done.
            asyncio.get_running_loop().call_soon(self._show_deleted)
        self.deleted.setdefault(chat_id, []).append(int(message["message_id"]))

    def _show_deleted(self) -> None:
        for chat_id, ids in self.deleted.items():
            listed = ", ".join(str(i) for i in sorted(ids))
            self.out.write(f"\n[deleted in chat {self._to_whom(chat_id)}] message(s) {listed}\n")
        self.deleted.clear()
        save_chats(self.server, self.chats_file)
        self.prompt()

    async def handle(self, line: str) -> bool:
        """One line typed by the person; False when they want to stop."""
        line = line.strip()
        if not line:
            self.prompt()
            return True
        if line in (":quit", ":q", ":exit"):
            return False
        button = _BUTTON.fullmatch(line)
        if line == ":help":
            self.out.write(HELP.format(user=self.user_id, files=self.files_folder, chats=self.chats_file))
        elif line.startswith(":user"):
            self._switch_user(line.split()[1:])
        elif line.startswith(":lang"):
            self._set_language(line.split()[1:])
        elif button is not None:
            self._press(int(button.group(1)))
        else:
            self.server.send_text(self.user_id, line)
        save_chats(self.server, self.chats_file)  # what was typed, and a language, survive a restart
        self.prompt()
        return True

    def _switch_user(self, args: list[str]) -> None:
        if len(args) != 1 or not args[0].isdigit():
            self.out.write("Usage: :user 3001\n")
            return
        self.user_id = int(args[0])
        self.out.write(f"You are now user {self.user_id}. #N presses buttons in this user's chat.\n")

    def _set_language(self, args: list[str]) -> None:
        if len(args) != 1 or args[0] not in ("uk", "en"):
            self.out.write("Usage: :lang en  or  :lang uk\n")
            return
        # Kept with the user (and their chat), as each person's Telegram app has its own language.
        self.server.add_user(self.user_id, language_code=args[0])
        self.out.write(f"Client language: {args[0]} (user {self.user_id})\n")

    def _press(self, number: int) -> None:
        message_id = self.with_buttons.get(self.user_id)
        message = self.server.get_message(self.user_id, message_id) if message_id else None
        buttons = self.server.buttons(message) if message and not message["deleted"] else []
        if message_id is None or not 1 <= number <= len(buttons):
            self.out.write("No such button. Type # and its number as shown in [#brackets], e.g. #1.\n")
            return
        self.server.press_button(self.user_id, message_id, buttons[number - 1][1])


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
    folder, name = emulator_folder(overrides.get("database_url", settings.database_url))
    chats_file, files_folder = folder / f"{name}-chats.json", folder / f"{name}-files"
    async with FakeTelegramServer(token=EMULATOR_TOKEN) as server:
        settings = settings.model_copy(update={"bot_api_base": server.base_url, **overrides})
        chat = TerminalChat(server, user_id, out, chats_file=chats_file, files_folder=files_folder)
        chat_ids, found = load_chats(server, chats_file)
        out.write(found + "\n")
        chat.remember_buttons(chat_ids)
        chat.attach()
        stop = asyncio.Event()
        bot_task = asyncio.create_task(run(settings, token=EMULATOR_TOKEN, stop=stop))
        out.write("Starting Dovira...\n")
        out.flush()
        await server.wait_until(lambda: bot_task.done() or server.calls_to("getMe"), timeout=120)
        if bot_task.done():
            bot_task.result()  # start-up failed: show why
        out.write(HELP.format(user=user_id, files=files_folder, chats=chats_file))
        chat.prompt()
        try:
            while not bot_task.done():
                line = await asyncio.to_thread(stdin.readline)
                if line == "" or not await chat.handle(line):
                    break
        finally:
            stop.set()
            await bot_task
            save_chats(server, chats_file)
    out.write("\nBye.\n")
    return 0
