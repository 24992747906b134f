"""What the fake Bot API server holds: users, chats and their messages, the queue of updates, files, open
callback queries, the record of calls and the notifier that wakes the waiting helpers. `ServerState` is
the base every part of the server builds on; the helpers here are the ones more than one part needs
(finding a chat the way the Bot API does, storing a bot message, queueing an update, flood control)."""

from __future__ import annotations

import asyncio
import copy
import itertools
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.telegram_emulator.records import JSON, Call, TelegramAPIError, UploadedFile, bad, logger
from bot.telegram_emulator.validation import as_int

Handler = Callable[[JSON], Awaitable[Any]]

# Update kinds Telegram sends when allowed_updates is empty or was never given.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class FileRecord:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = field(repr=False)
    filename: str | None = None
    mime_type: str | None = None


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    from_bot: bool
    data: JSON
    raw_text: str | None = None
    parse_mode: str | None = None
    deleted: bool = False

    @property
    def date(self) -> int:
        return int(self.data.get("date", 0))

    def to_dict(self) -> JSON:
        result = copy.deepcopy(self.data)
        result["from_bot"] = self.from_bot
        result["deleted"] = self.deleted
        result["raw_text"] = self.raw_text
        result["parse_mode"] = self.parse_mode
        return result


@dataclass
class Bucket:
    capacity: float
    rate: float
    tokens: float
    last: float

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.last)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.last = now

    def wait_time(self) -> float:
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class Chat:
    id: int
    type: str
    data: JSON
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    last_message_id: int = 0
    blocked: bool = False
    reply_keyboard: JSON | None = None
    menu_button: JSON | None = None
    last_action: str | None = None
    bucket: Bucket | None = None

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


@dataclass
class CallbackQuery:
    id: str
    chat_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False
    answer: JSON | None = None


class Notifier:
    """Wakes every current waiter; each waiter sees the next notification only."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            return False
        return True


def update_kind(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


class ServerState:
    """The server's data and the operations on it that the Bot API methods, the user's side, the readers
    and the HTTP side share. Nothing here speaks HTTP."""

    _handlers: dict[str, tuple[str, Handler]]  # lower-case method name -> (its name, the method)

    def __init__(
        self,
        token: str,
        bot_user_id: int,
        bot_username: str,
        *,
        bot_first_name: str,
        now: Callable[[], float],
        flood_control: bool,
        flood_global_rate: float,
        flood_chat_rate: float,
        flood_chat_burst: int,
        callback_query_ttl: float | None,
        on_bot_message: Callable[[JSON], None] | None,
        on_message_deleted: Callable[[JSON], None] | None,
        on_call: Callable[[Call], None] | None,
        on_callback_answer: Callable[[JSON], None] | None,
    ) -> None:
        self.token = token
        self.bot_user_id = bot_user_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.now = now
        self.flood_control = flood_control
        self.flood_global_rate = flood_global_rate
        self.flood_chat_rate = flood_chat_rate
        self.flood_chat_burst = flood_chat_burst
        self.callback_query_ttl = callback_query_ttl
        self.on_bot_message = on_bot_message
        self.on_message_deleted = on_message_deleted
        self.on_call = on_call
        self.on_callback_answer = on_callback_answer
        self.webhook_secret: str | None = None
        self._webhook_error: str | None = None

        self.calls: list[Call] = []
        self.uploads: list[UploadedFile] = []
        self.callback_answers: list[JSON] = []
        self.dropped_updates: list[JSON] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.bot_descriptions: dict[tuple[str, str], str] = {}
        self.default_menu_button: JSON = {"type": "commands"}

        self._chats: dict[int, Chat] = {}
        self._users: dict[int, JSON] = {}
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._callback_queries: dict[str, CallbackQuery] = {}
        self._files: dict[str, FileRecord] = {}
        self.flood_refusals = 0  # 429s answered by flood control
        self._allowed_updates: frozenset[str] | None = None
        self._webhook_url = ""
        self._global_bucket: Bucket | None = None
        self._poll_generation = 0
        self._long_polls_ended = 0
        self._updates_changed = Notifier()
        self._changed = Notifier()
        self._inflight = 0
        self._last_activity = 0.0
        self._closing = False

    def _ensure_webhook_delivery(self) -> None:
        """Start posting updates to the webhook; the HTTP side does it (a server without one only stops
        getUpdates while a webhook is set)."""

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        if self.on_call is not None:
            try:
                self.on_call(call)
            except Exception:
                logger.exception("on_call hook failed")
        self._changed.notify()

    # ---------------------------------------------------------------- flood control

    def _check_flood(self, chat: Chat) -> None:
        if not self.flood_control:
            return
        now = self.now()
        if self._global_bucket is None:
            rate = self.flood_global_rate
            self._global_bucket = Bucket(rate, rate, rate, now)
        if chat.bucket is None:
            burst = float(self.flood_chat_burst)
            chat.bucket = Bucket(burst, self.flood_chat_rate, burst, now)
        buckets = (self._global_bucket, chat.bucket)
        for bucket in buckets:
            bucket.refill(now)
        wait = max(bucket.wait_time() for bucket in buckets)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            self.flood_refusals += 1
            raise TelegramAPIError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for bucket in buckets:
            bucket.tokens -= 1

    # ---------------------------------------------------------------- users, chats, updates

    def _user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        language_code: str | None = None,
        username: str | None = None,
        last_name: str | None = None,
    ) -> JSON:
        """The user dict, created on first use (defaults: first_name "Test", language_code "uk").

        ``None`` keeps the current value; ``language_code=""`` drops the field (Telegram omits it
        for some clients)."""
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "uk"}
            self._users[user_id] = user
        if first_name:
            user["first_name"] = first_name
        if language_code == "":
            user.pop("language_code", None)
        elif language_code is not None:
            user["language_code"] = language_code
        if username:
            user["username"] = username
        if last_name:
            user["last_name"] = last_name
        return user

    def _private_chat(self, user: JSON) -> Chat:
        chat = self._chats.get(int(user["id"]))
        data: JSON = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                data[key] = user[key]
        if chat is None:
            chat = Chat(id=int(user["id"]), type="private", data=data)
            self._chats[chat.id] = chat
        else:
            chat.data = data
        return chat

    def _group_chat(self, chat_id: int, title: str, chat_type: str) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            data: JSON = {"id": chat_id, "type": chat_type, "title": title}
            chat = Chat(id=chat_id, type=chat_type, data=data)
            self._chats[chat_id] = chat
        return chat

    def _push_update(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), kind: copy.deepcopy(payload)}
        self._updates.append(update)
        self._last_activity = self._loop_time()
        self._updates_changed.notify()
        self._changed.notify()
        return update

    @staticmethod
    def _loop_time() -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def _member_change(self, chat: Chat, user: JSON, old: str, new: str) -> JSON:
        bot = self._bot_user()
        old_member: JSON = {"user": bot, "status": old}
        new_member: JSON = {"user": bot, "status": new}
        if old == "kicked":
            old_member["until_date"] = 0
        if new == "kicked":
            new_member["until_date"] = 0
        return {
            "chat": dict(chat.data),
            "from": dict(user),
            "date": int(self.now()),
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }

    def _register_file(
        self,
        data: bytes,
        *,
        folder: str,
        filename: str | None = None,
        mime_type: str | None = None,
    ) -> FileRecord:
        file_id = f"{folder[:2].upper()}{secrets.token_urlsafe(24)}"
        unique = secrets.token_urlsafe(8)
        extension = ""
        if filename and "." in filename:
            extension = "." + filename.rsplit(".", 1)[1]
        record = FileRecord(
            file_id=file_id,
            file_unique_id=unique,
            file_path=f"{folder}/file_{len(self._files)}{extension}",
            data=data,
            filename=filename,
            mime_type=mime_type,
        )
        self._files[file_id] = record
        return record

    def file_at(self, token: str, file_path: str) -> bytes | None:
        """What `/file/bot<token>/<file_path>` gives (getFile's `file_path`), or None: not found."""
        if token != self.token:
            return None
        return next((r.data for r in self._files.values() if r.file_path == file_path), None)

    def _photo_sizes(self, data: bytes, size: tuple[int, int] | None = None) -> list[JSON]:
        width, height = size or (800, 600)
        record = self._register_file(data, folder="photos", filename="photo.jpg", mime_type="image/jpeg")
        scale = max(width, height) / 90 if max(width, height) > 90 else 1
        thumb = self._register_file(data[:1024], folder="photos", filename="thumb.jpg")
        return [
            {
                "file_id": thumb.file_id,
                "file_unique_id": thumb.file_unique_id,
                "width": max(1, int(width / scale)),
                "height": max(1, int(height / scale)),
                "file_size": len(thumb.data),
            },
            {
                "file_id": record.file_id,
                "file_unique_id": record.file_unique_id,
                "width": width,
                "height": height,
                "file_size": len(data),
            },
        ]

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_user_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _find_message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        chat = self._chats.get(chat_id)
        return None if chat is None else chat.messages.get(message_id)

    def _resolve_chat(self, params: JSON, *, key: str = "chat_id", for_write: bool = True) -> Chat:
        value = params.get(key)
        if value is None or value == "":
            raise bad(f"{key} is empty")
        chat_id = as_int(value)
        if chat_id is None:
            if isinstance(value, str) and value.startswith("@"):
                for candidate in self._chats.values():
                    username = str(candidate.data.get("username", "")).lower()
                    if username == value[1:].lower() and candidate.type != "private":
                        return candidate
            raise bad("chat not found")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise bad("chat not found")
        if for_write and chat.blocked:
            if chat.type == "private":
                raise TelegramAPIError(403, "Forbidden: bot was blocked by the user")
            raise TelegramAPIError(403, "Forbidden: bot was kicked from the group chat")
        return chat

    def _new_bot_message(
        self,
        chat: Chat,
        content: JSON,
        markup: JSON | None,
        *,
        reply_to: JSON | None = None,
        raw_text: str | None = None,
        parse_mode: str | None = None,
    ) -> StoredMessage:
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": self._bot_user(),
            "chat": dict(chat.data),
            "date": int(self.now()),
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(content)
        if markup is not None:
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup
            elif "keyboard" in markup:
                chat.reply_keyboard = markup
            elif markup.get("remove_keyboard"):
                chat.reply_keyboard = None
        stored = StoredMessage(
            chat_id=chat.id,
            message_id=int(message["message_id"]),
            from_bot=True,
            data=message,
            raw_text=raw_text,
            parse_mode=parse_mode,
        )
        chat.messages[stored.message_id] = stored
        self._emit_bot_message(stored)
        return stored

    def _emit_bot_message(self, stored: StoredMessage) -> None:
        if self.on_bot_message is not None:
            try:
                self.on_bot_message(stored.to_dict())
            except Exception:
                logger.exception("on_bot_message hook failed")

    def _emit_callback_answer(self, answer: JSON) -> None:
        if self.on_callback_answer is not None:
            try:
                self.on_callback_answer(dict(answer))
            except Exception:
                logger.exception("on_callback_answer hook failed")

    def _emit_deleted(self, stored: StoredMessage) -> None:
        if self.on_message_deleted is not None:
            try:
                self.on_message_deleted(stored.to_dict())
            except Exception:
                logger.exception("on_message_deleted hook failed")

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if int(u["update_id"]) >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._changed.notify()

    def _is_allowed(self, update: JSON) -> bool:
        kind = update_kind(update)
        if self._allowed_updates is None:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _select_updates(self, offset: int, limit: int) -> list[JSON]:
        kept = [u for u in self._updates if self._is_allowed(u)]
        if len(kept) != len(self._updates):
            # Telegram drops updates of kinds the bot did not ask for.
            dropped = [u for u in self._updates if not self._is_allowed(u)]
            self.dropped_updates.extend(dropped)
            for update in dropped:
                logger.info("dropping %s update (not in allowed_updates)", update_kind(update))
            self._updates = kept
        pool = kept if offset <= 0 else [u for u in kept if int(u["update_id"]) >= offset]
        return copy.deepcopy(pool[:limit])
