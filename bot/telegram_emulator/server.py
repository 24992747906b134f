"""A fake Telegram Bot API server.

A real aiogram ``Bot`` talks to it through
``AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))`` (``server.create_bot()``), or in
this process without HTTP through ``server.transport()`` / ``InProcessSession(server)``. It keeps the
chats a user would see, answers like the real Bot API (result objects, error shapes, HTTP status codes)
and rejects what the real one rejects: over-long or unparsable texts, bad keyboards, unknown chats,
blocked users, stale callback queries, flood (optional), and failures injected on purpose.

Tests and the terminal emulator drive it from the user's side (``send_text``, ``press_button``…)
and read what the bot did (``calls``, ``chat_messages``, ``wait_for_call``…).

`FakeTelegramServer` is put together here from its parts, one module a concern: the data it holds
(state.py), the user's side (client.py), reading and waiting (observe.py), keeping chats between runs
(persistence.py), the Bot API methods (methods/), failure injection (faults.py), serving one request
(dispatch.py), HTTP (http.py) and the in-process transport (transport.py); Telegram's limits are
checked in validation.py and formatting.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.telegram_emulator.client import UserSide
from bot.telegram_emulator.formatting import parse_formatted_text
from bot.telegram_emulator.http import HttpSide
from bot.telegram_emulator.methods import MediaMethods, ProfileMethods, UpdateMethods
from bot.telegram_emulator.observe import Observation
from bot.telegram_emulator.persistence import Persistence
from bot.telegram_emulator.records import JSON, Call, TelegramAPIError, UploadedFile
from bot.telegram_emulator.state import Handler
from bot.telegram_emulator.transport import InProcessTransport
from bot.telegram_emulator.validation import buttons

__all__ = [
    "Call",
    "FakeTelegramServer",
    "TelegramAPIError",
    "UploadedFile",
    "buttons",
    "parse_formatted_text",
]


class FakeTelegramServer(
    HttpSide, UserSide, Observation, Persistence, ProfileMethods, UpdateMethods, MediaMethods
):
    """An in-process Bot API server on 127.0.0.1 (a free port), for tests and the emulator."""

    def __init__(
        self,
        token: str = "42:TEST",
        bot_user_id: int = 42,
        bot_username: str = "dovira_test_bot",
        *,
        bot_first_name: str = "Dovira",
        now: Callable[[], float] = time.time,
        flood_control: bool = False,
        flood_global_rate: float = 30.0,
        flood_chat_rate: float = 1.0,
        flood_chat_burst: int = 3,
        callback_query_ttl: float | None = None,
        on_bot_message: Callable[[JSON], None] | None = None,
        on_message_deleted: Callable[[JSON], None] | None = None,
        on_call: Callable[[Call], None] | None = None,
        webhook_proxy: str | None = None,
        port: int = 0,
        on_callback_answer: Callable[[JSON], None] | None = None,
    ) -> None:
        """`port`: 0 for a free one; a fixed one lets a test start the server after the bot (a Bot API
        that was not there yet)."""
        super().__init__(
            token,
            bot_user_id,
            bot_username,
            bot_first_name=bot_first_name,
            now=now,
            flood_control=flood_control,
            flood_global_rate=flood_global_rate,
            flood_chat_rate=flood_chat_rate,
            flood_chat_burst=flood_chat_burst,
            callback_query_ttl=callback_query_ttl,
            on_bot_message=on_bot_message,
            on_message_deleted=on_message_deleted,
            on_call=on_call,
            on_callback_answer=on_callback_answer,
        )
        self._init_faults()
        self._init_http(port=port, webhook_proxy=webhook_proxy)
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "setMyDescription": self._set_my_description,
            "getMyDescription": self._get_my_description,
            "setMyShortDescription": self._set_my_short_description,
            "getMyShortDescription": self._get_my_short_description,
            "setMyName": self._set_my_name,
            "getMyName": self._get_my_name,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "getFile": self._get_file,
            "close": self._ok,
            "logOut": self._ok,
        }
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}

    def transport(self) -> InProcessTransport:
        """Calls to this server in this process, without HTTP (it need not be started): see
        transport.py; ``InProcessSession(server)`` is an aiogram session on top of it."""
        return InProcessTransport(self)
