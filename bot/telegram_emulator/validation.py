"""Telegram's limits on what a bot sends, checked as the real Bot API checks them: text, caption and
callback answer lengths, keyboards (button count, callback data bytes, URLs), parse modes and entities,
message ids, commands, chat actions and which uploads are images. Each check raises the Bot API's own
error (`TelegramAPIError`, mostly 400 "Bad Request: ..."), so a bot that breaks a limit in the emulator
breaks it the same way in production."""

from __future__ import annotations

import copy
import re
from typing import Any

from bot.telegram_emulator.formatting import parse_formatted_text
from bot.telegram_emulator.records import JSON, bad

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_DELETE_MESSAGES = 100
DELETE_WINDOW_SECONDS = 48 * 3600
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


def validate_url(url: Any) -> None:
    if not isinstance(url, str) or not re.match(r"^(https?|tg|ton)://\S+$", url, re.IGNORECASE):
        raise bad("BUTTON_URL_INVALID")


def validate_reply_markup(markup: Any, *, inline_only: bool = False) -> JSON | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return {"inline_keyboard": _inline_keyboard(markup["inline_keyboard"])}
    if inline_only:
        raise bad("inline keyboard expected")
    if "keyboard" in markup:
        _validate_reply_keyboard(markup["keyboard"])
        return copy.deepcopy(markup)
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return copy.deepcopy(markup)
    raise bad('can\'t find field "inline_keyboard"')


def _inline_keyboard(rows: Any) -> list[Any]:
    """A copy of the inline keyboard's rows once the whole keyboard and each of its buttons passed."""
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad("reply markup is too long")
    for row in rows:
        for button in row:
            _validate_inline_button(button)
    return copy.deepcopy(rows)


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise bad('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not text.strip():
        raise bad("BUTTON_TEXT_INVALID")
    if not any(key in button for key in _INLINE_BUTTON_ACTIONS):
        raise bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise bad("BUTTON_DATA_INVALID")
    if "url" in button:
        validate_url(button["url"])


def _validate_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text.strip():
                raise bad('can\'t parse keyboard button: Field "text" must be of type String')


def buttons(message: JSON | None) -> list[tuple[str, str]]:
    """The inline buttons of a message dict, flattened: ``[(text, callback_data or url or ""), ...]``."""
    if not message:
        return []
    markup = message.get("reply_markup") or {}
    result: list[tuple[str, str]] = []
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            value = button.get("callback_data")
            if value is None:
                value = button.get("url", "")
            result.append((str(button.get("text", "")), str(value)))
    return result


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height when ``data`` looks like an image Telegram accepts, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8\xff"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                index += 1
                continue
            marker = data[index + 1]
            if marker in (0xC0, 0xC1, 0xC2):
                height = int.from_bytes(data[index + 5 : index + 7], "big")
                width = int.from_bytes(data[index + 7 : index + 9], "big")
                return width, height
            length = int.from_bytes(data[index + 2 : index + 4], "big")
            index += 2 + max(length, 1)
        return 800, 600
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"BM") and len(data) >= 26:
        return int.from_bytes(data[18:22], "little"), abs(int.from_bytes(data[22:26], "little", signed=True))
    return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def required_message_id(params: JSON, missing: str, key: str = "message_id") -> int:
    value = as_int(params.get(key))
    if value is None:
        raise bad(missing if params.get(key) is not None else f"{key} is empty")
    return value


def parse_text(params: JSON) -> tuple[str, list[JSON]]:
    """A message's text as Telegram shows it, with its entities; refused when empty or over 4,096."""
    raw = params.get("text")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or raw == "":
        raise bad("message text is empty")
    text, entities = parse_formatted_text(raw, params.get("parse_mode"), params.get("entities"))
    if not text:
        raise bad("message text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise bad("message is too long")
    return text, entities


def parse_caption(params: JSON) -> tuple[str, list[JSON]] | None:
    """A media caption and its entities (None when there is none); refused over 1,024."""
    raw = params.get("caption")
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raw = str(raw)
    caption, entities = parse_formatted_text(raw, params.get("parse_mode"), params.get("caption_entities"))
    if len(caption) > MAX_CAPTION_LENGTH:
        raise bad("message caption is too long")
    return (caption, entities) if caption else None


def caption_content(params: JSON) -> JSON:
    """The caption fields of a media message (none when there is no caption)."""
    content: JSON = {}
    parsed = parse_caption(params)
    if parsed is not None:
        content["caption"] = parsed[0]
        if parsed[1]:
            content["caption_entities"] = parsed[1]
    return content


def parse_mode_of(params: JSON) -> str | None:
    mode = params.get("parse_mode")
    return mode if isinstance(mode, str) and mode else None


def valid_commands(commands: Any) -> list[JSON]:
    """setMyCommands' list, checked as Telegram checks it (at most 100, names and descriptions)."""
    if not isinstance(commands, list):
        raise bad("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad("too many commands specified")
    clean: list[JSON] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad("can't parse BotCommand JSON object")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND_RE.match(name):
            raise bad("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        clean.append({"command": name, "description": description})
    return clean
