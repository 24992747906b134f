"""A fake Telegram Bot API server.

A real aiogram ``Bot`` talks to it through
``AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))``. It keeps the chats a user
would see, answers like the real Bot API (result objects, error shapes, HTTP status codes) and
rejects what the real one rejects: over-long or unparsable texts, bad keyboards, unknown chats,
blocked users, stale callback queries, flood (optional), and failures injected on purpose.

Tests and the terminal emulator drive it from the user's side (``send_text``, ``press_button``…)
and read what the bot did (``calls``, ``chat_messages``, ``wait_for_call``…).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import itertools
import json
import logging
import math
import mimetypes
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

__all__ = [
    "Call",
    "FakeTelegramServer",
    "TelegramAPIError",
    "UploadedFile",
    "buttons",
    "parse_formatted_text",
]

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
T = TypeVar("T")

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

# Update kinds Telegram sends when allowed_updates is empty or was never given.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_CHAT_ACTIONS = frozenset(
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

# Top-level parameters that are plain strings and must never be JSON-decoded.
_RAW_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "action",
        "language_code",
        "name",
        "description",
        "short_description",
        "title",
        "emoji",
        "photo",
        "document",
        "audio",
        "video",
        "voice",
        "animation",
        "sticker",
        "video_note",
        "thumbnail",
        "file_id",
        "secret_token",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "query",
        "first_name",
        "last_name",
        "phone_number",
        "vcard",
        "address",
        "question",
    }
)

_HTML_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

_TD_ENTITY_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}

_NOT_COPIED = frozenset(
    {"message_id", "from", "chat", "date", "edit_date", "reply_markup", "reply_to_message"}
)
_MEDIA_KEYS = ("photo", "document", "video", "audio", "animation", "voice")
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_WHITESPACE = " \t\r\n\x0b\x0c"
_HTML_ENTITY_RE = re.compile(r"&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,10}|[a-zA-Z]{1,10});")
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


# --------------------------------------------------------------------------------------------
# Errors and records
# --------------------------------------------------------------------------------------------


class TelegramAPIError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def to_response(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> TelegramAPIError:
    return TelegramAPIError(400, f"Bad Request: {description}")


def _entities_error(description: str) -> TelegramAPIError:
    return _bad(f"can't parse entities: {description}")


@dataclass
class Call:
    """One request the bot made. ``params`` are decoded (JSON fields parsed, files resolved)."""

    method: str
    params: dict[str, Any]
    time: float
    response: dict[str, Any]
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.response.get("ok") is True

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def error(self) -> str | None:
        description = self.response.get("description")
        return None if self.ok else str(description)


@dataclass
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    param: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class _FileRecord:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = field(repr=False)
    filename: str | None = None
    mime_type: str | None = None


@dataclass
class _StoredMessage:
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
class _Bucket:
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
class _Chat:
    id: int
    type: str
    data: JSON
    messages: dict[int, _StoredMessage] = field(default_factory=dict)
    last_message_id: int = 0
    blocked: bool = False
    reply_keyboard: JSON | None = None
    menu_button: JSON | None = None
    last_action: str | None = None
    bucket: _Bucket | None = None

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    html: bool = False


class _ErrorPage(Exception):
    """A proxy in front of the Bot API answering with its own HTML error page, not Telegram's JSON."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


ERROR_PAGE = "<html><head><title>{status}</title></head><body><h1>{status} Bad Gateway</h1></body></html>"


@dataclass
class _CallbackQuery:
    id: str
    chat_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False
    answer: JSON | None = None


class _Notifier:
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


# --------------------------------------------------------------------------------------------
# Formatted text (HTML / MarkdownV2 / Markdown), the way Telegram parses it
# --------------------------------------------------------------------------------------------


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _TextBuilder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.u16 = 0

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.u16 += _u16(chunk)

    def text(self) -> str:
        return "".join(self.parts)


def _make_entity(kind: str, offset: int, length: int, argument: str) -> JSON:
    entity: JSON = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        if argument.startswith("tg://user?id="):
            user_id = argument.removeprefix("tg://user?id=")
            if user_id.isdigit():
                return {
                    "type": "text_mention",
                    "offset": offset,
                    "length": length,
                    "user": {"id": int(user_id), "is_bot": False, "first_name": "User"},
                }
        entity["url"] = argument
    elif kind == "pre" and argument:
        entity["language"] = argument
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = argument
    elif kind == "blockquote" and argument:
        entity["type"] = "expandable_blockquote"
    return entity


def _decode_html_entity(text: str, index: int) -> tuple[str, int] | None:
    match = _HTML_ENTITY_RE.match(text, index)
    if match is None:
        return None
    name = match.group(1)
    if name.startswith(("#x", "#X")):
        code = int(name[2:], 16)
    elif name.startswith("#"):
        code = int(name[1:])
    elif name in _NAMED_HTML_ENTITIES:
        return _NAMED_HTML_ENTITIES[name], match.end()
    else:
        return None
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def _parse_html(text: str) -> tuple[str, list[JSON]]:
    out = _TextBuilder()
    entities: list[JSON] = []
    # (tag name, entity type, utf16 offset, argument)
    stack: list[tuple[str, str, int, str]] = []
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                out.add(decoded[0])
                i = decoded[1]
                continue
            out.add(char)
            i += 1
            continue
        if char != "<":
            out.add(char)
            i += 1
            continue
        begin = i
        begin_bytes = _byte_offset(text, begin)
        if i + 1 < n and text[i + 1] == "/":
            if not stack:
                raise _entities_error(f"Unexpected end tag at byte offset {begin_bytes}")
            i += 2
            name_begin = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            end_name = text[name_begin:i].lower()
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                raise _entities_error(f"Unclosed end tag at byte offset {begin_bytes}")
            tag, kind, offset, argument = stack.pop()
            if end_name and end_name != tag:
                raise _entities_error(
                    f'Unmatched end tag at byte offset {begin_bytes}, expected "</{tag}>", '
                    f'found "</{end_name}>"'
                )
            i += 1
            if out.u16 > offset:
                if kind == "code" and argument and stack and stack[-1][1] == "pre":
                    parent = stack[-1]
                    stack[-1] = (parent[0], parent[1], parent[2], argument)
                    continue
                if kind == "text_link" and not argument:
                    continue
                entities.append(_make_entity(kind, offset, out.u16 - offset, argument))
            continue
        # start tag
        i += 1
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise _entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
        tag = text[begin + 1 : i].lower()
        if tag not in _HTML_TAG_TYPES:
            raise _entities_error(f'Unsupported start tag "{tag}" at byte offset {begin_bytes}')
        argument = ""
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise _entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
            if text[i] == ">":
                break
            attr_begin = i
            while i < n and not text[i].isspace() and text[i] not in "=>":
                i += 1
            attr_name = text[attr_begin:i].lower()
            if not attr_name:
                raise _entities_error(f'Empty attribute name in the tag "{tag}" at byte offset {begin_bytes}')
            while i < n and text[i].isspace():
                i += 1
            if tag == "blockquote" and attr_name == "expandable" and (i >= n or text[i] != "="):
                argument = "1"
                continue
            if i >= n or text[i] != "=":
                raise _entities_error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {begin_bytes}"
                )
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise _entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
            value_chars: list[str] = []
            if text[i] not in "'\"":
                token_begin = i
                while i < n and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                value = text[token_begin:i].lower()
                if i >= n or (not text[i].isspace() and text[i] != ">"):
                    raise _entities_error(
                        f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                    )
            else:
                quote = text[i]
                i += 1
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded = _decode_html_entity(text, i)
                        if decoded is not None:
                            value_chars.append(decoded[0])
                            i = decoded[1]
                            continue
                    value_chars.append(text[i])
                    i += 1
                if i >= n:
                    raise _entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
                i += 1
                value = "".join(value_chars)
            if tag == "a" and attr_name == "href":
                argument = value
            elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                argument = value.removeprefix("language-")
            elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
                argument = value.removeprefix("tg-")
            elif tag == "tg-emoji" and attr_name == "emoji-id":
                argument = value
            elif tag == "blockquote" and attr_name == "expandable":
                argument = "1"
            elif tag == "pre" and attr_name == "language":
                argument = value
        if tag == "span" and argument != "spoiler":
            raise _entities_error(f'Tag "span" must have class "tg-spoiler" at byte offset {begin_bytes}')
        i += 1  # skip '>'
        stack.append((tag, _HTML_TAG_TYPES[tag], out.u16, argument))
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.text(), entities


def _parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    out = _TextBuilder()
    entities: list[JSON] = []
    # (entity type, utf16 offset, byte offset of the opening, argument, index in out.parts)
    stack: list[tuple[str, int, int, str, int]] = []
    n = len(text)

    def at(index: int) -> str:
        return text[index] if index < n else ""

    def reserved(char: str) -> TelegramAPIError:
        return _entities_error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")

    i = 0
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        top = stack[-1][0] if stack else None
        if top in ("code", "pre") and char != "`":
            out.add(char)
            i += 1
            continue
        if char not in _MDV2_RESERVED:
            out.add(char)
            i += 1
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            # A block quote line marker: drop it (quotes are not tracked as entities here).
            i += 1
            continue
        if top == "bold":
            is_end = char == "*"
        elif top == "italic":
            is_end = char == "_" and at(i + 1) != "_"
        elif top == "underline":
            is_end = char == "_" and at(i + 1) == "_"
        elif top == "code":
            is_end = char == "`"
        elif top == "pre":
            is_end = char == "`" and at(i + 1) == "`" and at(i + 2) == "`"
        elif top in ("text_link", "custom_emoji"):
            is_end = char == "]"
        elif top == "strikethrough":
            is_end = char == "~"
        elif top == "spoiler":
            is_end = char == "|" and at(i + 1) == "|"
        else:
            is_end = False
        if not is_end:
            begin_bytes = _byte_offset(text, i)
            argument = ""
            if char == "_":
                if at(i + 1) == "_":
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif char == "*":
                kind = "bold"
            elif char == "~":
                kind = "strikethrough"
            elif char == "|":
                if at(i + 1) != "|":
                    raise reserved(char)
                kind = "spoiler"
                i += 1
            elif char == "[":
                kind = "text_link"
            elif char == "`":
                if at(i + 1) == "`" and at(i + 2) == "`":
                    kind = "pre"
                    i += 3
                    end = i
                    while end < n and not text[end].isspace() and text[end] != "`":
                        end += 1
                    if i != end and end < n and text[end] != "`":
                        argument = text[i:end]
                        i = end
                    if at(i) == "\n" or at(i) == "\r":
                        if (at(i + 1) == "\n" or at(i + 1) == "\r") and at(i + 1) != at(i):
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "code"
            elif char == "!":
                if at(i + 1) != "[":
                    raise reserved(char)
                kind = "custom_emoji"
                i += 1
            else:
                raise reserved(char)
            stack.append((kind, out.u16, begin_bytes, argument, len(out.parts)))
            i += 1
            continue
        kind, offset, _begin, argument, part_index = stack.pop()
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind == "pre":
            i += 2
        elif kind in ("text_link", "custom_emoji"):
            if at(i + 1) != "(":
                argument = "".join(out.parts[part_index:])
            else:
                i += 2
                url_begin = i
                url_chars: list[str] = []
                while i < n and text[i] != ")":
                    if text[i] == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                        url_chars.append(text[i + 1])
                        i += 2
                        continue
                    url_chars.append(text[i])
                    i += 1
                if i >= n:
                    raise _entities_error(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}"
                    )
                argument = "".join(url_chars)
                if kind == "custom_emoji":
                    argument = argument.removeprefix("tg://emoji?id=")
        if out.u16 > offset:
            entities.append(_make_entity(kind, offset, out.u16 - offset, argument))
        i += 1
    if stack:
        kind, _offset, begin_bytes, _argument, _index = stack[-1]
        raise _entities_error(
            f"Can't find end of {_TD_ENTITY_NAMES.get(kind, kind)} entity at byte offset {begin_bytes}"
        )
    return out.text(), entities


def _parse_markdown(text: str) -> tuple[str, list[JSON]]:
    """Legacy ``Markdown`` parse mode."""
    out = _TextBuilder()
    entities: list[JSON] = []
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        begin_bytes = _byte_offset(text, i)
        end_char = "]" if char == "[" else char
        is_pre = False
        language = ""
        i += 1
        if char == "`" and text[i : i + 2] == "``":
            i += 2
            is_pre = True
            end = i
            while end < n and not text[end].isspace() and text[end] != "`":
                end += 1
            if i != end and end < n and text[end] != "`":
                language = text[i:end]
                i = end
        offset = out.u16
        while i < n and (text[i] != end_char or (is_pre and text[i + 1 : i + 3] != "``")):
            out.add(text[i])
            i += 1
        if i >= n:
            raise _entities_error(f"Can't find end of the entity starting at byte offset {begin_bytes}")
        if is_pre:
            i += 2
        i += 1
        length = out.u16 - offset
        if char == "[":
            url = ""
            if i < n and text[i] == "(":
                close = text.find(")", i)
                if close != -1:
                    url = text[i + 1 : close]
                    i = close + 1
            if url and length:
                entities.append(_make_entity("text_link", offset, length, url))
            continue
        if length:
            kind = {"_": "italic", "*": "bold"}.get(char, "pre" if is_pre else "code")
            entities.append(_make_entity(kind, offset, length, language))
    return out.text(), entities


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    left = len(text) - len(text.lstrip(_WHITESPACE))
    trimmed = text.strip(_WHITESPACE)
    shift = _u16(text[:left])
    total = _u16(trimmed)
    result: list[JSON] = []
    for entity in entities:
        start = max(0, int(entity["offset"]) - shift)
        end = min(total, int(entity["offset"]) + int(entity["length"]) - shift)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    result.sort(key=lambda e: (e["offset"], -e["length"]))
    return trimmed, result


def parse_formatted_text(
    text: str, parse_mode: str | None = None, entities: Any = None
) -> tuple[str, list[JSON]]:
    """Parse ``text`` like Telegram does: returns the visible (trimmed) text and its entities.

    Raises ``TelegramAPIError`` (400 "can't parse entities: ...") on malformed markup.
    """
    if entities is not None:
        if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            raise _bad("can't parse entities JSON object")
        clean: list[JSON] = []
        limit = _u16(text)
        for entity in entities:
            offset, length = entity.get("offset"), entity.get("length")
            if not isinstance(entity.get("type"), str) or not isinstance(offset, int):
                raise _bad('can\'t parse MessageEntity: field "type" or "offset" is missing')
            if not isinstance(length, int) or offset < 0 or length <= 0 or offset + length > limit:
                continue
            clean.append(dict(entity))
        return _trim(text, clean)
    mode = (parse_mode or "").strip().lower()
    if mode == "":
        return _trim(text, [])
    if mode == "html":
        parsed, found = _parse_html(text)
    elif mode == "markdownv2":
        parsed, found = _parse_markdown_v2(text)
    elif mode == "markdown":
        parsed, found = _parse_markdown(text)
    else:
        raise _bad("unsupported parse_mode")
    return _trim(parsed, found)


# --------------------------------------------------------------------------------------------
# Reply markup
# --------------------------------------------------------------------------------------------


def _validate_url(url: Any) -> None:
    if not isinstance(url, str) or not re.match(r"^(https?|tg|ton)://\S+$", url, re.IGNORECASE):
        raise _bad("BUTTON_URL_INVALID")


def _validate_reply_markup(markup: Any, *, inline_only: bool = False) -> JSON | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
        if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
            raise _bad("reply markup is too long")
        for row in rows:
            for button in row:
                if not isinstance(button, dict):
                    raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
                text = button.get("text")
                if not isinstance(text, str):
                    raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
                if not text.strip():
                    raise _bad("BUTTON_TEXT_INVALID")
                if not any(key in button for key in _INLINE_BUTTON_ACTIONS):
                    raise _bad(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
                if "url" in button:
                    _validate_url(button["url"])
        return {"inline_keyboard": copy.deepcopy(rows)}
    if inline_only:
        raise _bad("inline keyboard expected")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
        for row in rows:
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text.strip():
                    raise _bad('can\'t parse keyboard button: Field "text" must be of type String')
        return copy.deepcopy(markup)
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return copy.deepcopy(markup)
    raise _bad('can\'t find field "inline_keyboard"')


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


def _image_size(data: bytes) -> tuple[int, int] | None:
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


def _as_int(value: Any) -> int | None:
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


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _RAW_STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _update_kind(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


class _LocalAiohttpSession(AiohttpSession):
    """``AiohttpSession`` without the 250 ms grace sleep on close (there is no TLS to wind down)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeTelegramServer:
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
        self._wanted_port = port
        self._hangs: dict[str, int] = {}  # method -> how many more calls to accept and never answer
        # (seconds, deadline once the first call failed, method, status, html)
        self._failing_for: tuple[float, float | None, str, int, bool] | None = None
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
        # Webhook delivery: where an https webhook's posts go, as a TLS-terminating proxy in front of
        # the bot would send them (``http://127.0.0.1:PORT``; the webhook URL's path is kept). Unset,
        # a webhook only stops getUpdates (409), as before.
        self.webhook_proxy = webhook_proxy
        self.webhook_secret: str | None = None
        self.webhook_retry_delay = 0.2
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status; 0 = no answer)
        self._webhook_error: str | None = None
        self._webhook_task: asyncio.Task[None] | None = None

        self.calls: list[Call] = []
        self.uploads: list[UploadedFile] = []
        self.callback_answers: list[JSON] = []
        self.dropped_updates: list[JSON] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.bot_descriptions: dict[tuple[str, str], str] = {}
        self.default_menu_button: JSON = {"type": "commands"}

        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, JSON] = {}
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._files: dict[str, _FileRecord] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._random_failure: tuple[random.Random, float, frozenset[str], int] | None = None
        self.random_failures = 0  # 429s answered by fail_randomly
        self.flood_refusals = 0  # 429s answered by flood control
        self._allowed_updates: frozenset[str] | None = None
        self._webhook_url = ""
        self._global_bucket: _Bucket | None = None
        self._poll_generation = 0
        self._long_polls_ended = 0
        self._updates_changed = _Notifier()
        self._changed = _Notifier()
        self._inflight = 0
        self._last_activity = 0.0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        handlers: dict[str, Callable[[JSON], Awaitable[Any]]] = {
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
        self._handlers: dict[str, tuple[str, Callable[[JSON], Awaitable[Any]]]] = {
            name.lower(): (name, handler) for name, handler in handlers.items()
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=MAX_DOCUMENT_BYTES + 10 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._wanted_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._last_activity = asyncio.get_running_loop().time()

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        self._closing = True
        await self._stop_webhook_delivery()
        self._updates_changed.notify()
        self._changed.notify()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegramServer is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_session(self) -> AiohttpSession:
        """An aiogram session pointed at this server (plain HTTP on localhost, so it closes at once)."""
        return _LocalAiohttpSession(api=TelegramAPIServer.from_base(self.base_url))

    def create_bot(self, **kwargs: Any) -> Bot:
        """An aiogram ``Bot`` wired to this server (close it with ``await bot.session.close()``)."""
        return Bot(self.token, session=self.create_session(), **kwargs)

    # ---------------------------------------------------------------- HTTP plumbing

    async def _read_params(self, request: web.Request) -> JSON:
        raw: JSON = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method == "POST" and request.body_exists:
            content_type = request.content_type
            if content_type == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise _bad("request body must be a JSON object")
                raw.update(body)
            elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = UploadedFile(
                            param=key,
                            filename=value.filename or key,
                            content_type=value.content_type,
                            data=value.file.read(),
                        )
                    elif isinstance(value, bytes | bytearray):
                        raw[key] = bytes(value).decode("utf-8", "replace")
                    else:
                        raw[key] = value
        params = {key: _coerce(key, value) for key, value in raw.items()}
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                attached = files.pop(value.removeprefix("attach://"), None)
                if attached is not None:
                    params[key] = attached
        for key, attached in files.items():
            params.setdefault(key, attached)
        for value in params.values():
            if isinstance(value, UploadedFile):
                self.uploads.append(value)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        method_name = request.match_info["method"]
        entry = self._handlers.get(method_name.lower())
        method = entry[0] if entry else method_name
        long_poll = method == "getUpdates"
        if not long_poll:
            self._inflight += 1
        status = 200
        params: JSON = {}
        try:
            try:
                params = await self._read_params(request)
                if request.match_info["token"] != self.token:
                    raise TelegramAPIError(401, "Unauthorized")
                if entry is None:
                    raise TelegramAPIError(404, "Not Found: method not found")
                await self._maybe_hang(method)
                self._maybe_fail(method)
                result = await entry[1](params)
                response: JSON = {"ok": True, "result": result}
            except _ErrorPage as page:
                self._record(Call(method, params, self.now(), {"ok": False, "html": True}, page.status))
                return web.Response(
                    text=ERROR_PAGE.format(status=page.status), status=page.status, content_type="text/html"
                )
            except TelegramAPIError as error:
                status = error.status
                response = error.to_response()
            except web.HTTPRequestEntityTooLarge:
                status = 413
                response = TelegramAPIError(413, "Request Entity Too Large").to_response()
            except ValueError as error:
                status = 400
                response = _bad(f"can't parse request: {error}").to_response()
            except Exception:
                logger.exception("FakeTelegramServer failed to serve %s", method)
                status = 500
                response = TelegramAPIError(500, "Internal Server Error").to_response()
            transport = request.transport
            if not (long_poll and (transport is None or transport.is_closing())):
                # A long poll whose client already went away (a stopped bot) is not recorded.
                self._record(Call(method, params, self.now(), response, status))
            return web.json_response(response, status=status)
        finally:
            if long_poll:
                self._long_polls_ended += 1
                self._changed.notify()
            else:
                self._inflight -= 1
                self._last_activity = loop.time()

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        if request.match_info["token"] == self.token:
            for record in self._files.values():
                if record.file_path == path:
                    return web.Response(body=record.data, content_type="application/octet-stream")
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        if self.on_call is not None:
            try:
                self.on_call(call)
            except Exception:
                logger.exception("on_call hook failed")
        self._changed.notify()

    async def _maybe_hang(self, method: str) -> None:
        """A call taken and never answered (a dead proxy, a lost route): the client's timeout ends it."""
        left = self._hangs.get(method.lower(), 0)
        if left > 0:
            self._hangs[method.lower()] = left - 1
            await asyncio.Event().wait()

    def _maybe_fail(self, method: str) -> None:
        if self._failing_for is not None:
            seconds, deadline, failing, status, html = self._failing_for
            now = asyncio.get_running_loop().time()
            if deadline is not None and now >= deadline:
                self._failing_for = None
            elif failing in (method.lower(), "*") and method != "getUpdates":
                if deadline is None:  # the bad minutes start with the first call they meet
                    self._failing_for = (seconds, now + seconds, failing, status, html)
                if html:
                    raise _ErrorPage(status)
                raise TelegramAPIError(status, "Bad Gateway" if status == 502 else f"Error {status}")
        keys = (method.lower(),) if method == "getUpdates" else (method.lower(), "*")
        for key in keys:
            queue = self._failures.get(key)
            if queue:
                failure = queue.pop(0)
                if not queue:
                    del self._failures[key]
                if failure.html:
                    raise _ErrorPage(failure.status)
                parameters = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
                raise TelegramAPIError(failure.status, failure.description, parameters)
        if self._random_failure is not None:
            rng, fraction, methods, retry_after = self._random_failure
            if method.lower() in methods and rng.random() < fraction:
                self.random_failures += 1
                raise TelegramAPIError(
                    429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
                )

    # ---------------------------------------------------------------- failure injection

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
        html: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status`` (429 carries
        ``parameters.retry_after``; 5xx give aiogram's ``TelegramServerError``). ``method`` is
        case-insensitive; ``"*"`` matches any method except ``getUpdates``. ``html``: answer with a
        proxy's HTML error page instead of the Bot API's JSON (aiogram cannot decode it)."""
        defaults = {
            400: "Bad Request: injected failure",
            401: "Unauthorized",
            403: "Forbidden: bot was blocked by the user",
            404: "Not Found",
            409: "Conflict: terminated by other getUpdates request",
            429: f"Too Many Requests: retry after {retry_after}",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
        }
        text = description or defaults.get(status, f"Error {status}")
        failure = _Failure(status, text, retry_after if status == 429 else None, html)
        self._failures.setdefault(method.lower(), []).extend(failure for _ in range(times))

    def hang_next(self, method: str, *, times: int = 1) -> None:
        """Accept the next ``times`` calls of ``method`` and never answer them."""
        self._hangs[method.lower()] = self._hangs.get(method.lower(), 0) + times

    def fail_for(self, seconds: float, *, method: str = "*", status: int = 502, html: bool = False) -> None:
        """Answer every call of ``method`` (``"*"``: all but getUpdates) with ``status`` for ``seconds``
        from the first such call (``html``: a proxy's error page), then recover."""
        self._failing_for = (seconds, None, method.lower(), status, html)

    def clear_failures(self) -> None:
        self._failures.clear()
        self._random_failure = None

    def fail_randomly(
        self,
        fraction: float,
        *,
        methods: tuple[str, ...] = ("sendMessage", "sendDocument", "sendPhoto"),
        retry_after: int = 1,
        seed: int = 0,
    ) -> None:
        """Answer 429 (``retry_after`` seconds) to about ``fraction`` of the calls of ``methods``,
        drawn from a generator seeded with ``seed``: the same calls, the same answers. 0 turns it off."""
        self._random_failure = (
            (random.Random(seed), fraction, frozenset(m.lower() for m in methods), retry_after)
            if fraction > 0
            else None
        )

    # ---------------------------------------------------------------- flood control

    def _check_flood(self, chat: _Chat) -> None:
        if not self.flood_control:
            return
        now = self.now()
        if self._global_bucket is None:
            rate = self.flood_global_rate
            self._global_bucket = _Bucket(rate, rate, rate, now)
        if chat.bucket is None:
            burst = float(self.flood_chat_burst)
            chat.bucket = _Bucket(burst, self.flood_chat_rate, burst, now)
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

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        language_code: str | None = None,
        username: str | None = None,
        last_name: str | None = None,
    ) -> JSON:
        """Register a user and their private chat (as if they had pressed Start) without an update."""
        user = self._user(
            user_id,
            first_name=first_name,
            language_code=language_code,
            username=username,
            last_name=last_name,
        )
        self._private_chat(user)
        return dict(user)

    def _private_chat(self, user: JSON) -> _Chat:
        chat = self._chats.get(int(user["id"]))
        data: JSON = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                data[key] = user[key]
        if chat is None:
            chat = _Chat(id=int(user["id"]), type="private", data=data)
            self._chats[chat.id] = chat
        else:
            chat.data = data
        return chat

    def _group_chat(self, chat_id: int, title: str, chat_type: str) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            data: JSON = {"id": chat_id, "type": chat_type, "title": title}
            chat = _Chat(id=chat_id, type=chat_type, data=data)
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

    def send_raw_update(self, update: JSON) -> JSON:
        """Queue an arbitrary update dict (``update_id`` is assigned when missing)."""
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._last_activity = self._loop_time()
        self._updates_changed.notify()
        self._changed.notify()
        return update

    def _user_message(self, chat: _Chat, user: JSON, fields: JSON) -> _StoredMessage:
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": dict(user),
            "chat": dict(chat.data),
            "date": int(self.now()),
        }
        message.update(copy.deepcopy(fields))
        stored = _StoredMessage(
            chat_id=chat.id,
            message_id=int(message["message_id"]),
            from_bot=False,
            data=message,
            raw_text=message.get("text") or message.get("caption"),
        )
        chat.messages[stored.message_id] = stored
        return stored

    def _unblock_on_write(self, chat: _Chat, user: JSON) -> None:
        if chat.blocked:
            chat.blocked = False
            self._push_update("my_chat_member", self._member_change(chat, user, "kicked", "member"))

    def _member_change(self, chat: _Chat, user: JSON, old: str, new: str) -> JSON:
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

    def send_message_update(
        self,
        user_id: int,
        *,
        language_code: str | None = None,
        first_name: str | None = None,
        **message_fields: Any,
    ) -> JSON:
        """A private message from ``user_id`` with arbitrary content fields; returns the message dict.

        ``language_code`` / ``first_name``: ``None`` keeps the user's current values (a new user
        gets "uk" / "Test")."""
        user = self._user(user_id, first_name=first_name, language_code=language_code)
        chat = self._private_chat(user)
        self._unblock_on_write(chat, user)
        stored = self._user_message(chat, user, message_fields)
        self._push_update("message", stored.data)
        return copy.deepcopy(stored.data)

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str | None = None,
        first_name: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """The user types ``text`` in their private chat with the bot; returns the message dict."""
        fields: JSON = {"text": text}
        entities = self._command_entities(text)
        if entities:
            fields["entities"] = entities
        if reply_to_message_id is not None:
            reply = self._find_message(user_id, reply_to_message_id)
            if reply is not None:
                fields["reply_to_message"] = copy.deepcopy(reply.data)
        return self.send_message_update(user_id, language_code=language_code, first_name=first_name, **fields)

    @staticmethod
    def _command_entities(text: str) -> list[JSON]:
        if not text.startswith("/") or len(text) < 2 or text[1].isspace():
            return []
        command = re.split(r"\s", text, maxsplit=1)[0]
        return [{"type": "bot_command", "offset": 0, "length": _u16(command)}]

    def send_group_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        title: str = "Test Group",
        chat_type: str = "group",
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> JSON:
        """A text from ``user_id`` in a group chat ``chat_id`` (created on first use)."""
        user = self._user(user_id, first_name=first_name, language_code=language_code)
        chat = self._group_chat(chat_id, title, chat_type)
        fields: JSON = {"text": text}
        entities = self._command_entities(text)
        if entities:
            fields["entities"] = entities
        stored = self._user_message(chat, user, fields)
        self._push_update("message", stored.data)
        return copy.deepcopy(stored.data)

    def _register_file(
        self,
        data: bytes,
        *,
        folder: str,
        filename: str | None = None,
        mime_type: str | None = None,
    ) -> _FileRecord:
        file_id = f"{folder[:2].upper()}{secrets.token_urlsafe(24)}"
        unique = secrets.token_urlsafe(8)
        extension = ""
        if filename and "." in filename:
            extension = "." + filename.rsplit(".", 1)[1]
        record = _FileRecord(
            file_id=file_id,
            file_unique_id=unique,
            file_path=f"{folder}/file_{len(self._files)}{extension}",
            data=data,
            filename=filename,
            mime_type=mime_type,
        )
        self._files[file_id] = record
        return record

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

    def send_photo(self, user_id: int, *, caption: str | None = None, content: bytes | None = None) -> JSON:
        data = content if content is not None else b"\xff\xd8\xff\xe0" + secrets.token_bytes(2048)
        fields: JSON = {"photo": self._photo_sizes(data, _image_size(data))}
        if caption:
            fields["caption"] = caption
        return self.send_message_update(user_id, **fields)

    def send_document(
        self,
        user_id: int,
        *,
        filename: str = "document.txt",
        content: bytes = b"hello\n",
        mime_type: str = "text/plain",
        caption: str | None = None,
    ) -> JSON:
        record = self._register_file(content, folder="documents", filename=filename, mime_type=mime_type)
        fields: JSON = {
            "document": {
                "file_id": record.file_id,
                "file_unique_id": record.file_unique_id,
                "file_name": filename,
                "mime_type": mime_type,
                "file_size": len(content),
            }
        }
        if caption:
            fields["caption"] = caption
        return self.send_message_update(user_id, **fields)

    def send_sticker(self, user_id: int, *, emoji: str = "👍") -> JSON:
        record = self._register_file(secrets.token_bytes(512), folder="stickers", filename="sticker.webp")
        sticker = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(record.data),
        }
        return self.send_message_update(user_id, sticker=sticker)

    def send_voice(self, user_id: int, *, duration: int = 3) -> JSON:
        record = self._register_file(
            secrets.token_bytes(1024), folder="voice", filename="voice.oga", mime_type="audio/ogg"
        )
        voice = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(record.data),
        }
        return self.send_message_update(user_id, voice=voice)

    def edited_message(self, user_id: int, message_id: int, new_text: str) -> JSON:
        """The user edits their own message; queues an ``edited_message`` update."""
        stored = self._find_message(user_id, message_id)
        if stored is None or stored.from_bot:
            raise ValueError(f"no user message {message_id} in chat {user_id}")
        stored.data["text"] = new_text
        stored.data["edit_date"] = int(self.now())
        entities = self._command_entities(new_text)
        if entities:
            stored.data["entities"] = entities
        else:
            stored.data.pop("entities", None)
        stored.raw_text = new_text
        self._push_update("edited_message", stored.data)
        return copy.deepcopy(stored.data)

    def press_button(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> str:
        """The user presses an inline button; returns the callback query id.

        The message may be anything: a deleted or never-sent id yields an ``InaccessibleMessage``,
        and ``callback_data`` is not checked against the keyboard (to simulate stale/forged presses).
        """
        user = self._user(user_id, first_name=first_name, language_code=language_code)
        target_chat = chat_id if chat_id is not None else user_id
        chat = self._chats.get(target_chat)
        if chat is None:
            chat = (
                self._private_chat(user)
                if target_chat == user_id
                else self._group_chat(target_chat, "Test Group", "group")
            )
        stored = chat.messages.get(message_id)
        message: JSON
        if stored is not None and not stored.deleted:
            message = copy.deepcopy(stored.data)
        else:
            message = {"chat": dict(chat.data), "message_id": message_id, "date": 0}
        query_id = str(4_000_000_000_000_000 + next(self._callback_ids))
        self._callback_queries[query_id] = _CallbackQuery(
            id=query_id, chat_id=chat.id, message_id=message_id, data=callback_data, created=self.now()
        )
        query: JSON = {
            "id": query_id,
            "from": dict(user),
            "message": message,
            "chat_instance": str(abs(chat.id) * 7919 + 13),
            "data": callback_data,
        }
        self._push_update("callback_query", query)
        return query_id

    def click(self, user_id: int, button_text: str, *, message_id: int | None = None) -> str:
        """Press the callback button labelled ``button_text`` on ``message_id`` (default: the
        newest visible bot message that has such a button)."""
        chat = self._chats.get(user_id)
        candidates = [] if chat is None else sorted(chat.messages.values(), key=lambda m: -m.message_id)
        for stored in candidates:
            if stored.deleted or not stored.from_bot:
                continue
            if message_id is not None and stored.message_id != message_id:
                continue
            for text, data in buttons(stored.data):
                if text == button_text:
                    return self.press_button(user_id, stored.message_id, data)
        raise AssertionError(
            f"no button {button_text!r} in chat {user_id}; visible: "
            f"{[buttons(m.data) for m in candidates if m.from_bot and not m.deleted][:3]}"
        )

    def block_chat(self, chat_id: int, *, notify: bool = True) -> None:
        """The user blocks the bot: sends fail with 403; a ``my_chat_member`` update is queued."""
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._private_chat(self._user(chat_id))
        if chat.blocked:
            return
        chat.blocked = True
        if notify:
            user = self._users.get(chat_id) or self._user(chat_id)
            self._push_update("my_chat_member", self._member_change(chat, user, "member", "kicked"))

    def unblock_chat(self, chat_id: int, *, notify: bool = True) -> None:
        chat = self._chats.get(chat_id)
        if chat is None or not chat.blocked:
            return
        chat.blocked = False
        if notify:
            user = self._users.get(chat_id) or self._user(chat_id)
            self._push_update("my_chat_member", self._member_change(chat, user, "kicked", "member"))

    # ---------------------------------------------------------------- accessors

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot (via ``getUpdates`` offset)."""
        return copy.deepcopy(self._updates)

    def chat_messages(self, chat_id: int, include_deleted: bool = False) -> list[JSON]:
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            stored.to_dict()
            for _, stored in sorted(chat.messages.items())
            if include_deleted or not stored.deleted
        ]

    def bot_messages(self, chat_id: int, include_deleted: bool = False) -> list[JSON]:
        return [m for m in self.chat_messages(chat_id, include_deleted) if m["from_bot"]]

    def get_message(self, chat_id: int, message_id: int) -> JSON | None:
        stored = self._find_message(chat_id, message_id)
        return None if stored is None else stored.to_dict()

    def last_bot_message(self, chat_id: int) -> JSON | None:
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    def last_message_id(self, chat_id: int) -> int:
        """The highest message id used in the chat so far (0 when none)."""
        chat = self._chats.get(chat_id)
        return 0 if chat is None else chat.last_message_id

    def reply_keyboard(self, chat_id: int) -> list[list[str]] | None:
        """The reply keyboard currently shown in the chat, as rows of button texts."""
        chat = self._chats.get(chat_id)
        if chat is None or chat.reply_keyboard is None:
            return None
        return [
            [b["text"] if isinstance(b, dict) else str(b) for b in row]
            for row in chat.reply_keyboard.get("keyboard", [])
        ]

    def is_blocked(self, chat_id: int) -> bool:
        chat = self._chats.get(chat_id)
        return bool(chat and chat.blocked)

    def last_chat_action(self, chat_id: int) -> str | None:
        chat = self._chats.get(chat_id)
        return None if chat is None else chat.last_action

    def file_content(self, file_id: str) -> bytes | None:
        record = self._files.get(file_id)
        return None if record is None else record.data

    @staticmethod
    def buttons(message: JSON | None) -> list[tuple[str, str]]:
        return buttons(message)

    def calls_to(self, method: str) -> list[Call]:
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def clear_calls(self) -> None:
        self.calls.clear()

    def describe_recent_calls(self, count: int = 15) -> str:
        lines: list[str] = []
        interesting = [
            (index, call)
            for index, call in enumerate(self.calls)
            if not (call.method == "getUpdates" and call.ok and not call.result)
        ]
        for index, call in interesting[-count:]:
            params = {
                k: (v if not isinstance(v, str) or len(v) < 80 else v[:77] + "...")
                for k, v in call.params.items()
            }
            outcome = "ok" if call.ok else f"{call.status} {call.error}"
            lines.append(f"  #{index} {call.method} {params} -> {outcome}")
        summary = "recent calls:\n" + ("\n".join(lines) if lines else "  (none)")
        if self.dropped_updates:
            kinds = sorted({_update_kind(u) for u in self.dropped_updates})
            summary += f"\n{len(self.dropped_updates)} update(s) dropped by allowed_updates: {kinds}"
        return summary

    # ---------------------------------------------------------------- waiting helpers

    @property
    def long_polls_started(self) -> int:
        """How many getUpdates calls have begun waiting, so a test can order steps by them, not by sleeps."""
        return self._poll_generation

    @property
    def long_polls_ended(self) -> int:
        """How many getUpdates calls have been answered or dropped, recorded in ``calls`` or not."""
        return self._long_polls_ended

    async def wait_until(
        self,
        condition: Callable[[], T | None],
        *,
        timeout: float = 20.0,  # noqa: ASYNC109  (a busy machine is slow, not broken)
        what: str = "condition",
    ) -> T:
        """Wait until ``condition()`` returns something truthy and return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = condition()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}\n{self.describe_recent_calls()}"
                )
            await self._changed.wait(min(remaining, 0.5))

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        after: int = 0,
        timeout: float = 20.0,  # noqa: ASYNC109  (a busy machine is slow, not broken)
    ) -> Call:
        """The first call of ``method`` at index >= ``after`` in ``calls`` that matches ``predicate``."""
        wanted = method.lower()

        def find() -> Call | None:
            for call in self.calls[after:]:
                if call.method.lower() == wanted and (predicate is None or predicate(call)):
                    return call
            return None

        return await self.wait_until(find, timeout=timeout, what=f"a {method} call (after #{after})")

    async def wait_for_bot_message(
        self,
        chat_id: int,
        *,
        after_id: int = 0,
        timeout: float = 20.0,  # noqa: ASYNC109  (a busy machine is slow, not broken)
    ) -> JSON:
        """The first bot message in ``chat_id`` with id > ``after_id`` (its current state)."""

        def find() -> JSON | None:
            chat = self._chats.get(chat_id)
            if chat is None:
                return None
            for message_id in sorted(chat.messages):
                stored = chat.messages[message_id]
                if message_id > after_id and stored.from_bot:
                    return stored.to_dict()
            return None

        return await self.wait_until(
            find, timeout=timeout, what=f"a bot message in chat {chat_id} after id {after_id}"
        )

    async def wait_idle(
        self,
        *,
        quiet: float = 0.2,
        timeout: float = 20.0,  # noqa: ASYNC109  (a busy machine is slow, not broken)
    ) -> None:
        """Wait until every update was fetched and confirmed, no request is being served and no
        call or update happened for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            now = loop.time()
            idle_for = now - self._last_activity
            if not self._updates and self._inflight == 0 and idle_for >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    f"server not idle after {timeout}s (pending updates: {len(self._updates)}, "
                    f"requests in flight: {self._inflight})\n{self.describe_recent_calls()}"
                )
            await self._changed.wait(min(deadline - now, max(quiet - idle_for, 0.02)))

    # ---------------------------------------------------------------- keeping chats between runs

    def export_chats(self) -> JSON:
        """Users, chats with their messages, and the files the bot sent, as JSON-ready data: what a
        restarted server needs so the bot can still write to, edit in and reply in the same chats."""
        return {
            "version": 1,
            "users": copy.deepcopy(list(self._users.values())),
            "chats": [self._export_chat(chat) for chat in self._chats.values()],
            "files": [self._export_file(record) for record in self._files.values()],
        }

    def import_chats(self, state: JSON) -> None:
        """Take back what ``export_chats`` gave (a user, chat or file of the same id is replaced)."""
        for user in state.get("users", []):
            self._users[int(user["id"])] = copy.deepcopy(user)
        for chat in state.get("chats", []):
            restored = self._import_chat(chat)
            self._chats[restored.id] = restored
        for record in state.get("files", []):
            restored_file = self._import_file(record)
            self._files[restored_file.file_id] = restored_file

    @staticmethod
    def _export_chat(chat: _Chat) -> JSON:
        messages = [
            {
                "message_id": m.message_id,
                "from_bot": m.from_bot,
                "data": copy.deepcopy(m.data),
                "raw_text": m.raw_text,
                "parse_mode": m.parse_mode,
                "deleted": m.deleted,
            }
            for _, m in sorted(chat.messages.items())
        ]
        return {
            "id": chat.id,
            "type": chat.type,
            "data": copy.deepcopy(chat.data),
            "messages": messages,
            "last_message_id": chat.last_message_id,
            "blocked": chat.blocked,
            "reply_keyboard": copy.deepcopy(chat.reply_keyboard),
            "menu_button": copy.deepcopy(chat.menu_button),
        }

    @staticmethod
    def _import_chat(state: JSON) -> _Chat:
        chat = _Chat(
            id=int(state["id"]),
            type=str(state["type"]),
            data=copy.deepcopy(state["data"]),
            last_message_id=int(state.get("last_message_id", 0)),
            blocked=bool(state.get("blocked", False)),
            reply_keyboard=copy.deepcopy(state.get("reply_keyboard")),
            menu_button=copy.deepcopy(state.get("menu_button")),
        )
        for m in state.get("messages", []):
            stored = _StoredMessage(
                chat_id=chat.id,
                message_id=int(m["message_id"]),
                from_bot=bool(m["from_bot"]),
                data=copy.deepcopy(m["data"]),
                raw_text=m.get("raw_text"),
                parse_mode=m.get("parse_mode"),
                deleted=bool(m.get("deleted", False)),
            )
            chat.messages[stored.message_id] = stored
        return chat

    @staticmethod
    def _export_file(record: _FileRecord) -> JSON:
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_path": record.file_path,
            "data": base64.b64encode(record.data).decode("ascii"),
            "filename": record.filename,
            "mime_type": record.mime_type,
        }

    @staticmethod
    def _import_file(state: JSON) -> _FileRecord:
        return _FileRecord(
            file_id=str(state["file_id"]),
            file_unique_id=str(state["file_unique_id"]),
            file_path=str(state["file_path"]),
            data=base64.b64decode(state["data"]),
            filename=state.get("filename"),
            mime_type=state.get("mime_type"),
        )

    # ---------------------------------------------------------------- API helpers

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_user_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _find_message(self, chat_id: int, message_id: int) -> _StoredMessage | None:
        chat = self._chats.get(chat_id)
        return None if chat is None else chat.messages.get(message_id)

    def _resolve_chat(self, params: JSON, *, key: str = "chat_id", for_write: bool = True) -> _Chat:
        value = params.get(key)
        if value is None or value == "":
            raise _bad(f"{key} is empty")
        chat_id = _as_int(value)
        if chat_id is None:
            if isinstance(value, str) and value.startswith("@"):
                for candidate in self._chats.values():
                    username = str(candidate.data.get("username", "")).lower()
                    if username == value[1:].lower() and candidate.type != "private":
                        return candidate
            raise _bad("chat not found")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        if for_write and chat.blocked:
            if chat.type == "private":
                raise TelegramAPIError(403, "Forbidden: bot was blocked by the user")
            raise TelegramAPIError(403, "Forbidden: bot was kicked from the group chat")
        return chat

    @staticmethod
    def _message_id(params: JSON, missing: str, key: str = "message_id") -> int:
        value = _as_int(params.get(key))
        if value is None:
            raise _bad(missing if params.get(key) is not None else f"{key} is empty")
        return value

    def _parse_text(self, params: JSON) -> tuple[str, list[JSON]]:
        raw = params.get("text")
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str) or raw == "":
            raise _bad("message text is empty")
        text, entities = parse_formatted_text(raw, params.get("parse_mode"), params.get("entities"))
        if not text:
            raise _bad("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        return text, entities

    @staticmethod
    def _parse_caption(params: JSON) -> tuple[str, list[JSON]] | None:
        raw = params.get("caption")
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raw = str(raw)
        caption, entities = parse_formatted_text(
            raw, params.get("parse_mode"), params.get("caption_entities")
        )
        if len(caption) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        return (caption, entities) if caption else None

    def _reply_to(self, chat: _Chat, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        message_id: int | None
        if isinstance(reply, dict):
            message_id = _as_int(reply.get("message_id"))
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
            if reply.get("chat_id") not in (None, chat.id):
                return None
        else:
            message_id = _as_int(params.get("reply_to_message_id"))
        if message_id is None:
            return None
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        reply_data = copy.deepcopy(stored.data)
        reply_data.pop("reply_to_message", None)
        return reply_data

    def _new_bot_message(
        self,
        chat: _Chat,
        content: JSON,
        markup: JSON | None,
        *,
        reply_to: JSON | None = None,
        raw_text: str | None = None,
        parse_mode: str | None = None,
    ) -> _StoredMessage:
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
        stored = _StoredMessage(
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

    def _emit_bot_message(self, stored: _StoredMessage) -> None:
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

    def _emit_deleted(self, stored: _StoredMessage) -> None:
        if self.on_message_deleted is not None:
            try:
                self.on_message_deleted(stored.to_dict())
            except Exception:
                logger.exception("on_message_deleted hook failed")

    @staticmethod
    def _parse_mode(params: JSON) -> str | None:
        mode = params.get("parse_mode")
        return mode if isinstance(mode, str) and mode else None

    def _editable_message(self, params: JSON) -> tuple[_Chat, _StoredMessage]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._resolve_chat(params)
        message_id = self._message_id(params, "message to edit not found")
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise _bad("message to edit not found")
        if not stored.from_bot:
            raise _bad("message can't be edited")
        return chat, stored

    def _finish_edit(self, stored: _StoredMessage, markup: JSON | None) -> JSON:
        if markup is None:
            stored.data.pop("reply_markup", None)
        else:
            stored.data["reply_markup"] = markup
        stored.data["edit_date"] = int(self.now())
        self._emit_bot_message(stored)
        self._changed.notify()
        return copy.deepcopy(stored.data)

    # ---------------------------------------------------------------- API methods

    async def _ok(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self._webhook_url:
            raise TelegramAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(params.get("offset")) or 0
        limit = min(100, max(1, _as_int(params.get("limit")) or 100))
        timeout = params.get("timeout")
        wait = float(timeout) if isinstance(timeout, int | float) and not isinstance(timeout, bool) else 0.0
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(kind) for kind in allowed) or None
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_changed.notify()  # an older long poll ends with 409
        self._changed.notify()  # wakes tests waiting for this poll to begin (long_polls_started)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait)
        self._confirm(offset)
        while True:
            if self._closing:
                return []
            if generation != self._poll_generation:
                raise TelegramAPIError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            selected = self._select_updates(offset, limit)
            if selected:
                return selected
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._updates_changed.wait(remaining)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if int(u["update_id"]) >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._changed.notify()

    def _is_allowed(self, update: JSON) -> bool:
        kind = _update_kind(update)
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
                logger.info("dropping %s update (not in allowed_updates)", _update_kind(update))
            self._updates = kept
        pool = kept if offset <= 0 else [u for u in kept if int(u["update_id"]) >= offset]
        return copy.deepcopy(pool[:limit])

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url")
        if not isinstance(url, str) or not url:
            self._webhook_url = ""
            return True
        if not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        secret = params.get("secret_token")
        self.webhook_secret = secret if isinstance(secret, str) and secret else None
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(kind) for kind in allowed) or None
        if self.webhook_proxy and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        self._updates_changed.notify()
        return True

    def _webhook_target(self) -> str:
        path = urlsplit(self._webhook_url).path or "/"
        return f"{(self.webhook_proxy or '').rstrip('/')}{path}"

    async def _deliver_webhooks(self) -> None:
        """Post each pending update to the webhook, one at a time and in order, as Telegram does:
        a 2xx answer confirms it; anything else (or no answer) is retried after a pause."""
        import aiohttp

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while self._webhook_url and not self._closing:
                selected = self._select_updates(0, 1)
                if not selected:
                    await self._updates_changed.wait(1.0)
                    continue
                update = selected[0]
                secret = self.webhook_secret
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                self._inflight += 1
                try:
                    async with session.post(self._webhook_target(), json=update, headers=headers) as answer:
                        await answer.read()
                        status = answer.status
                except (aiohttp.ClientError, TimeoutError) as error:
                    status, self._webhook_error = 0, f"Connection failed: {type(error).__name__}"
                finally:
                    self._inflight -= 1
                    self._last_activity = self._loop_time()
                self.webhook_deliveries.append((int(update["update_id"]), status))
                if 200 <= status < 300:
                    self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                    self._changed.notify()
                    continue
                if status:
                    self._webhook_error = f"Wrong response from the webhook: {status}"
                self._changed.notify()
                await asyncio.sleep(self.webhook_retry_delay)

    async def _stop_webhook_delivery(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _delete_webhook(self, params: JSON) -> bool:
        self._webhook_url = ""
        self.webhook_secret = None
        self._updates_changed.notify()  # the delivery loop ends
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
            self._changed.notify()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook_error is not None:
            info["last_error_message"] = self._webhook_error
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope")
        scope_key = json.dumps(scope, sort_keys=True) if isinstance(scope, dict) else '{"type": "default"}'
        language = params.get("language_code")
        return scope_key, language if isinstance(language, str) else ""

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        clean: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND_RE.match(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name, "description": description})
        self.commands[self._commands_key(params)] = clean
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _set_chat_menu_button(self, params: JSON) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
            raise _bad("can't parse menu button JSON object")
        if button.get("type") == "web_app":
            web_app = button.get("web_app")
            if not isinstance(button.get("text"), str) or not isinstance(web_app, dict):
                raise _bad("can't parse menu button JSON object")
            _validate_url(web_app.get("url"))
        if params.get("chat_id") is None:
            self.default_menu_button = dict(button)
        else:
            self._resolve_chat(params, for_write=False).menu_button = dict(button)
        return True

    async def _get_chat_menu_button(self, params: JSON) -> JSON:
        if params.get("chat_id") is not None:
            chat = self._resolve_chat(params, for_write=False)
            if chat.menu_button is not None:
                return dict(chat.menu_button)
        return dict(self.default_menu_button)

    def _set_text_setting(self, params: JSON, key: str, limit: int) -> bool:
        value = params.get(key)
        if value is None:
            value = ""
        if not isinstance(value, str):
            value = str(value)
        if len(value) > limit:
            raise _bad(f"{key} is too long")
        language = params.get("language_code")
        self.bot_descriptions[(key, language if isinstance(language, str) else "")] = value
        return True

    def _get_text_setting(self, params: JSON, key: str) -> JSON:
        language = params.get("language_code")
        lang = language if isinstance(language, str) else ""
        value = self.bot_descriptions.get((key, lang)) or self.bot_descriptions.get((key, ""), "")
        if key == "name" and not value:
            value = self.bot_first_name
        return {key: value}

    async def _set_my_description(self, params: JSON) -> bool:
        return self._set_text_setting(params, "description", 512)

    async def _get_my_description(self, params: JSON) -> JSON:
        return self._get_text_setting(params, "description")

    async def _set_my_short_description(self, params: JSON) -> bool:
        return self._set_text_setting(params, "short_description", 120)

    async def _get_my_short_description(self, params: JSON) -> JSON:
        return self._get_text_setting(params, "short_description")

    async def _set_my_name(self, params: JSON) -> bool:
        return self._set_text_setting(params, "name", 64)

    async def _get_my_name(self, params: JSON) -> JSON:
        return self._get_text_setting(params, "name")

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params)
        text, entities = self._parse_text(params)
        markup = _validate_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        preview = params.get("link_preview_options")
        if isinstance(preview, dict) and preview:
            content["link_preview_options"] = preview
        stored = self._new_bot_message(
            chat,
            content,
            markup,
            reply_to=reply_to,
            raw_text=params.get("text"),
            parse_mode=self._parse_mode(params),
        )
        return copy.deepcopy(stored.data)

    async def _edit_message_text(self, params: JSON) -> JSON:
        _chat, stored = self._editable_message(params)
        if "text" not in stored.data:
            raise _bad("there is no text in the message to edit")
        text, entities = self._parse_text(params)
        markup = _validate_reply_markup(params.get("reply_markup"), inline_only=True)
        if (
            stored.data.get("text") == text
            and stored.data.get("entities", []) == entities
            and stored.data.get("reply_markup") == markup
        ):
            raise _bad(NOT_MODIFIED)
        self._check_flood(_chat)
        stored.data["text"] = text
        if entities:
            stored.data["entities"] = entities
        else:
            stored.data.pop("entities", None)
        stored.raw_text = params.get("text")
        stored.parse_mode = self._parse_mode(params)
        return self._finish_edit(stored, markup)

    async def _edit_message_caption(self, params: JSON) -> JSON:
        _chat, stored = self._editable_message(params)
        if not any(key in stored.data for key in _MEDIA_KEYS):
            raise _bad("there is no caption in the message to edit")
        parsed = self._parse_caption(params)
        markup = _validate_reply_markup(params.get("reply_markup"), inline_only=True)
        caption, entities = parsed if parsed is not None else (None, [])
        if (
            stored.data.get("caption") == caption
            and stored.data.get("caption_entities", []) == entities
            and stored.data.get("reply_markup") == markup
        ):
            raise _bad(NOT_MODIFIED)
        self._check_flood(_chat)
        if caption is None:
            stored.data.pop("caption", None)
        else:
            stored.data["caption"] = caption
        if entities:
            stored.data["caption_entities"] = entities
        else:
            stored.data.pop("caption_entities", None)
        stored.raw_text = params.get("caption")
        stored.parse_mode = self._parse_mode(params)
        return self._finish_edit(stored, markup)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        _chat, stored = self._editable_message(params)
        markup = _validate_reply_markup(params.get("reply_markup"), inline_only=True)
        if stored.data.get("reply_markup") == markup:
            raise _bad(NOT_MODIFIED)
        self._check_flood(_chat)
        return self._finish_edit(stored, markup)

    def _delete_one(self, chat: _Chat, message_id: int) -> None:
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise _bad("message to delete not found")
        if self.now() - stored.date > DELETE_WINDOW_SECONDS:
            raise _bad("message can't be deleted for everyone")
        if chat.type != "private" and not stored.from_bot:
            raise _bad("message can't be deleted")
        stored.deleted = True
        self._emit_deleted(stored)
        self._changed.notify()

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._resolve_chat(params, for_write=False)
        message_id = self._message_id(params, "message to delete not found")
        self._delete_one(chat, message_id)
        return True

    async def _delete_messages(self, params: JSON) -> bool:
        chat = self._resolve_chat(params, for_write=False)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise _bad("message identifiers are not specified")
        if len(ids) > MAX_DELETE_MESSAGES:
            raise _bad("too many message identifiers specified")
        for raw in ids:
            message_id = _as_int(raw)
            if message_id is None:
                raise _bad("can't parse message identifiers")
            try:
                self._delete_one(chat, message_id)
            except TelegramAPIError:
                continue
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params.get("callback_query_id")
        query = self._callback_queries.get(str(query_id)) if query_id is not None else None
        if query is None or query.answered:
            raise _bad(QUERY_INVALID)
        if self.callback_query_ttl is not None and self.now() - query.created > self.callback_query_ttl:
            raise _bad(QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        url = params.get("url")
        if url:
            raise _bad("URL_INVALID")
        query.answered = True
        query.answer = {
            "callback_query_id": query.id,
            "chat_id": query.chat_id,
            "message_id": query.message_id,
            "data": query.data,
            "text": None if text is None else str(text),
            "show_alert": bool(params.get("show_alert")),
        }
        self.callback_answers.append(dict(query.answer))
        self._emit_callback_answer(query.answer)
        return True

    def _media_file(
        self, params: JSON, key: str, max_bytes: int
    ) -> tuple[_FileRecord | None, UploadedFile | None]:
        value = params.get(key)
        if value is None or value == "":
            raise _bad(f"there is no {key} in the request")
        if isinstance(value, UploadedFile):
            if value.size == 0:
                raise _bad("file must be non-empty")
            if value.size > max_bytes:
                raise TelegramAPIError(413, "Request Entity Too Large")
            return None, value
        if isinstance(value, str):
            record = self._files.get(value)
            if record is not None:
                return record, None
            if value.startswith(("http://", "https://")):
                return None, UploadedFile(key, value.rsplit("/", 1)[-1] or key, "", b"")
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {key} in the request")

    def _caption_content(self, params: JSON) -> JSON:
        content: JSON = {}
        parsed = self._parse_caption(params)
        if parsed is not None:
            content["caption"] = parsed[0]
            if parsed[1]:
                content["caption_entities"] = parsed[1]
        return content

    async def _send_photo(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params)
        record, upload = self._media_file(params, "photo", MAX_PHOTO_BYTES)
        content = self._caption_content(params)
        markup = _validate_reply_markup(params.get("reply_markup"))
        if record is not None:
            sizes = self._photo_sizes(record.data, _image_size(record.data))
        else:
            assert upload is not None
            dimensions = _image_size(upload.data) if upload.data else (800, 600)
            if dimensions is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            sizes = self._photo_sizes(upload.data, dimensions)
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        content["photo"] = sizes
        stored = self._new_bot_message(
            chat,
            content,
            markup,
            reply_to=reply_to,
            raw_text=params.get("caption"),
            parse_mode=self._parse_mode(params),
        )
        return copy.deepcopy(stored.data)

    async def _send_document(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params)
        record, upload = self._media_file(params, "document", MAX_DOCUMENT_BYTES)
        content = self._caption_content(params)
        markup = _validate_reply_markup(params.get("reply_markup"))
        if record is None:
            assert upload is not None
            guessed = mimetypes.guess_type(upload.filename)[0]
            mime = guessed or upload.content_type or "application/octet-stream"
            record = self._register_file(
                upload.data, folder="documents", filename=upload.filename, mime_type=mime
            )
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        document: JSON = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": len(record.data),
        }
        if record.filename:
            document["file_name"] = record.filename
        if record.mime_type:
            document["mime_type"] = record.mime_type
        content["document"] = document
        stored = self._new_bot_message(
            chat,
            content,
            markup,
            reply_to=reply_to,
            raw_text=params.get("caption"),
            parse_mode=self._parse_mode(params),
        )
        return copy.deepcopy(stored.data)

    async def _send_chat_action(self, params: JSON) -> bool:
        chat = self._resolve_chat(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        chat.last_action = str(action)
        return True

    def _source_message(self, params: JSON, missing: str) -> _StoredMessage:
        source_chat = self._resolve_chat(params, key="from_chat_id", for_write=False)
        message_id = self._message_id(params, missing)
        stored = source_chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise _bad(missing)
        return stored

    async def _copy_message(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params)
        source = self._source_message(params, "message to copy not found")
        content = {key: copy.deepcopy(value) for key, value in source.data.items() if key not in _NOT_COPIED}
        if "caption" in params:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(self._caption_content(params))
        markup = _validate_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        self._check_flood(chat)
        stored = self._new_bot_message(chat, content, markup, reply_to=reply_to, raw_text=source.raw_text)
        return {"message_id": stored.message_id}

    async def _forward_message(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params)
        source = self._source_message(params, "message to forward not found")
        content = {key: copy.deepcopy(value) for key, value in source.data.items() if key not in _NOT_COPIED}
        sender = source.data.get("from") or self._bot_user()
        content["forward_origin"] = {"type": "user", "date": source.date, "sender_user": sender}
        self._check_flood(chat)
        stored = self._new_bot_message(chat, content, None, raw_text=source.raw_text)
        return copy.deepcopy(stored.data)

    async def _get_file(self, params: JSON) -> JSON:
        file_id = params.get("file_id")
        record = self._files.get(str(file_id)) if file_id else None
        if record is None:
            raise _bad("wrong file_id or the file is temporarily unavailable")
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": len(record.data),
            "file_path": record.file_path,
        }
