"""Formatted text the way Telegram parses it (HTML, MarkdownV2, legacy Markdown, explicit entities): the
visible text and its entities, or the 400 "can't parse entities" error Telegram gives malformed markup.
Offsets and lengths count UTF-16 code units, and errors name byte offsets, as the real Bot API's do."""

from __future__ import annotations

import re
from typing import Any

from bot.telegram_emulator.records import JSON, TelegramAPIError, bad, entities_error

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

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_WHITESPACE = " \t\r\n\x0b\x0c"
_HTML_ENTITY_RE = re.compile(r"&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,10}|[a-zA-Z]{1,10});")
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _TextBuilder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.u16 = 0

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.u16 += u16(chunk)

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
                raise entities_error(f"Unexpected end tag at byte offset {begin_bytes}")
            i += 2
            name_begin = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            end_name = text[name_begin:i].lower()
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                raise entities_error(f"Unclosed end tag at byte offset {begin_bytes}")
            tag, kind, offset, argument = stack.pop()
            if end_name and end_name != tag:
                raise entities_error(
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
            raise entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
        tag = text[begin + 1 : i].lower()
        if tag not in _HTML_TAG_TYPES:
            raise entities_error(f'Unsupported start tag "{tag}" at byte offset {begin_bytes}')
        argument = ""
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
            if text[i] == ">":
                break
            attr_begin = i
            while i < n and not text[i].isspace() and text[i] not in "=>":
                i += 1
            attr_name = text[attr_begin:i].lower()
            if not attr_name:
                raise entities_error(f'Empty attribute name in the tag "{tag}" at byte offset {begin_bytes}')
            while i < n and text[i].isspace():
                i += 1
            if tag == "blockquote" and attr_name == "expandable" and (i >= n or text[i] != "="):
                argument = "1"
                continue
            if i >= n or text[i] != "=":
                raise entities_error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {begin_bytes}"
                )
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
            value_chars: list[str] = []
            if text[i] not in "'\"":
                token_begin = i
                while i < n and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                value = text[token_begin:i].lower()
                if i >= n or (not text[i].isspace() and text[i] != ">"):
                    raise entities_error(
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
                    raise entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
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
            raise entities_error(f'Tag "span" must have class "tg-spoiler" at byte offset {begin_bytes}')
        i += 1  # skip '>'
        stack.append((tag, _HTML_TAG_TYPES[tag], out.u16, argument))
    if stack:
        raise entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
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
        return entities_error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")

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
                    raise entities_error(
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
        raise entities_error(
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
            raise entities_error(f"Can't find end of the entity starting at byte offset {begin_bytes}")
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
    shift = u16(text[:left])
    total = u16(trimmed)
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
            raise bad("can't parse entities JSON object")
        clean: list[JSON] = []
        limit = u16(text)
        for entity in entities:
            offset, length = entity.get("offset"), entity.get("length")
            if not isinstance(entity.get("type"), str) or not isinstance(offset, int):
                raise bad('can\'t parse MessageEntity: field "type" or "offset" is missing')
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
        raise bad("unsupported parse_mode")
    return _trim(parsed, found)
