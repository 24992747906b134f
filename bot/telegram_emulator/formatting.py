"""Formatted text the way Telegram parses it (HTML, MarkdownV2, legacy Markdown, explicit entities): the
visible text and its entities, or the 400 "can't parse entities" error Telegram gives malformed markup.
Offsets and lengths count UTF-16 code units, and errors name byte offsets, as the real Bot API's do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.telegram_emulator.records import JSON, bad, entities_error

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


@dataclass
class _Open:
    """An entity opened and not yet closed: where its text begins (UTF-16 offset and index in the
    builder's parts) and what the opening said (argument, HTML tag, byte offset for the error)."""

    kind: str
    offset: int
    part: int
    argument: str = ""
    tag: str = ""
    begin_bytes: int = 0


class _EntityParser:
    """What the three parse modes share: a cursor over the source, the visible text built so far, the
    entities found and the stack of those still open."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.i = 0
        self.out = _TextBuilder()
        self.entities: list[JSON] = []
        self.stack: list[_Open] = []

    def at(self, index: int) -> str:
        return self.text[index] if index < self.n else ""

    def keep(self, char: str) -> None:
        """A character of the source that shows as it is."""
        self.out.add(char)
        self.i += 1

    def open(self, kind: str, argument: str = "", *, tag: str = "", begin_bytes: int = 0) -> None:
        self.stack.append(_Open(kind, self.out.u16, len(self.out.parts), argument, tag, begin_bytes))

    def emit(self, kind: str, offset: int, argument: str) -> None:
        """An entity from ``offset`` to the end of the text so far; Telegram drops the empty ones."""
        if self.out.u16 > offset:
            self.entities.append(_make_entity(kind, offset, self.out.u16 - offset, argument))

    def take_language(self) -> str:
        """Just after a pre's opening backticks: the word naming its language, when whitespace ends it."""
        end = self.i
        while end < self.n and not self.text[end].isspace() and self.text[end] != "`":
            end += 1
        if self.i == end or end >= self.n or self.text[end] == "`":
            return ""
        language = self.text[self.i : end]
        self.i = end
        return language

    def result(self) -> tuple[str, list[JSON]]:
        return self.out.text(), self.entities


class _HtmlParser(_EntityParser):
    def parse(self) -> tuple[str, list[JSON]]:
        while self.i < self.n:
            char = self.text[self.i]
            if char == "&":
                self._character_reference()
            elif char != "<":
                self.keep(char)
            elif self.at(self.i + 1) == "/":
                self._end_tag()
            else:
                self._start_tag()
        if self.stack:
            raise entities_error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"')
        return self.result()

    def _skip_spaces(self) -> None:
        while self.i < self.n and self.text[self.i].isspace():
            self.i += 1

    def _skip_name(self, stops: str = ">") -> None:
        while self.i < self.n and not self.text[self.i].isspace() and self.text[self.i] not in stops:
            self.i += 1

    def _character_reference(self) -> None:
        """``&amp;`` and the like; an ``&`` that starts none shows as itself."""
        decoded = _decode_html_entity(self.text, self.i)
        if decoded is None:
            self.keep("&")
            return
        self.out.add(decoded[0])
        self.i = decoded[1]

    def _end_tag(self) -> None:
        begin_bytes = _byte_offset(self.text, self.i)
        if not self.stack:
            raise entities_error(f"Unexpected end tag at byte offset {begin_bytes}")
        self.i += 2
        name_begin = self.i
        self._skip_name()
        end_name = self.text[name_begin : self.i].lower()
        self._skip_spaces()
        if self.at(self.i) != ">":
            raise entities_error(f"Unclosed end tag at byte offset {begin_bytes}")
        opened = self.stack.pop()
        if end_name and end_name != opened.tag:
            raise entities_error(
                f'Unmatched end tag at byte offset {begin_bytes}, expected "</{opened.tag}>", '
                f'found "</{end_name}>"'
            )
        self.i += 1
        self._close(opened)

    def _close(self, opened: _Open) -> None:
        if self.out.u16 <= opened.offset:
            return
        if opened.kind == "code" and opened.argument and self.stack and self.stack[-1].kind == "pre":
            # <pre><code class="language-x">: one pre entity that takes the code's language.
            self.stack[-1].argument = opened.argument
            return
        if opened.kind == "text_link" and not opened.argument:
            return
        self.emit(opened.kind, opened.offset, opened.argument)

    def _start_tag(self) -> None:
        begin = self.i
        begin_bytes = _byte_offset(self.text, begin)
        self.i += 1
        self._skip_name()
        if self.i >= self.n:
            raise entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
        tag = self.text[begin + 1 : self.i].lower()
        if tag not in _HTML_TAG_TYPES:
            raise entities_error(f'Unsupported start tag "{tag}" at byte offset {begin_bytes}')
        argument = self._attributes(tag, begin_bytes)
        if tag == "span" and argument != "spoiler":
            raise entities_error(f'Tag "span" must have class "tg-spoiler" at byte offset {begin_bytes}')
        self.i += 1  # skip '>'
        self.open(_HTML_TAG_TYPES[tag], argument, tag=tag)

    def _attributes(self, tag: str, begin_bytes: int) -> str:
        """The tag's attributes up to its ``>``: the argument its entity takes from them."""
        argument = ""
        while True:
            self._skip_spaces()
            if self.i >= self.n:
                raise entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
            if self.text[self.i] == ">":
                return argument
            argument = self._attribute(tag, begin_bytes, argument)

    def _attribute(self, tag: str, begin_bytes: int, argument: str) -> str:
        attr_begin = self.i
        self._skip_name("=>")
        attr_name = self.text[attr_begin : self.i].lower()
        if not attr_name:
            raise entities_error(f'Empty attribute name in the tag "{tag}" at byte offset {begin_bytes}')
        self._skip_spaces()
        if tag == "blockquote" and attr_name == "expandable" and self.at(self.i) != "=":
            return "1"
        if self.at(self.i) != "=":
            raise entities_error(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {begin_bytes}"
            )
        self.i += 1
        self._skip_spaces()
        if self.i >= self.n:
            raise entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
        if self.text[self.i] in "'\"":
            value = self._quoted_value(begin_bytes)
        else:
            value = self._name_token()
        return _tag_argument(tag, attr_name, value, argument)

    def _name_token(self) -> str:
        """An unquoted attribute value: letters, digits, dots and dashes, lowercased."""
        token_begin = self.i
        while self.i < self.n and (self.text[self.i].isalnum() or self.text[self.i] in ".-"):
            self.i += 1
        if self.i >= self.n or (not self.text[self.i].isspace() and self.text[self.i] != ">"):
            raise entities_error(
                f"Unexpected end of name token at byte offset {_byte_offset(self.text, token_begin)}"
            )
        return self.text[token_begin : self.i].lower()

    def _quoted_value(self, begin_bytes: int) -> str:
        quote = self.text[self.i]
        self.i += 1
        chars: list[str] = []
        while self.i < self.n and self.text[self.i] != quote:
            decoded = _decode_html_entity(self.text, self.i) if self.text[self.i] == "&" else None
            if decoded is not None:
                chars.append(decoded[0])
                self.i = decoded[1]
            else:
                chars.append(self.text[self.i])
                self.i += 1
        if self.i >= self.n:
            raise entities_error(f"Unclosed start tag at byte offset {begin_bytes}")
        self.i += 1
        return "".join(chars)


def _tag_argument(tag: str, attr_name: str, value: str, argument: str) -> str:
    """The argument after one more attribute: the ones Telegram reads set it, the rest leave it be."""
    if (tag, attr_name) in (("a", "href"), ("tg-emoji", "emoji-id"), ("pre", "language")):
        return value
    if tag == "code" and attr_name == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and attr_name == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "blockquote" and attr_name == "expandable":
        return "1"
    return argument


# What closes the entity on top of the stack; an italic's "_" must not be the start of "__".
_MDV2_CLOSERS = {
    "bold": "*",
    "italic": "_",
    "underline": "__",
    "code": "`",
    "pre": "```",
    "text_link": "]",
    "custom_emoji": "]",
    "strikethrough": "~",
    "spoiler": "||",
}
# What opens an entity, longest first where two start alike ("```" is a pre, read apart).
_MDV2_OPENERS = (
    ("__", "underline"),
    ("_", "italic"),
    ("*", "bold"),
    ("~", "strikethrough"),
    ("||", "spoiler"),
    ("[", "text_link"),
    ("`", "code"),
    ("![", "custom_emoji"),
)


class _MarkdownV2Parser(_EntityParser):
    def parse(self) -> tuple[str, list[JSON]]:
        while self.i < self.n:
            char = self.text[self.i]
            top = self.stack[-1].kind if self.stack else None
            if self._escaped(self.i):
                self.out.add(self.text[self.i + 1])
                self.i += 2
            elif (top in ("code", "pre") and char != "`") or char not in _MDV2_RESERVED:
                self.keep(char)
            elif char == ">" and (self.i == 0 or self.text[self.i - 1] == "\n"):
                self.i += 1  # a block quote line marker: dropped (quotes are not tracked as entities here)
            elif self._closes(top):
                self._close()
            else:
                self._open(char)
        if self.stack:
            opened = self.stack[-1]
            raise entities_error(
                f"Can't find end of {_TD_ENTITY_NAMES.get(opened.kind, opened.kind)} entity "
                f"at byte offset {opened.begin_bytes}"
            )
        return self.result()

    def _escaped(self, index: int) -> bool:
        """A backslash before an ASCII character: that character, shown literally."""
        return self.text[index] == "\\" and index + 1 < self.n and 0 < ord(self.text[index + 1]) <= 126

    def _closes(self, top: str | None) -> bool:
        closer = _MDV2_CLOSERS.get(top or "")
        if closer is None or not self.text.startswith(closer, self.i):
            return False
        return top != "italic" or not self.text.startswith("__", self.i)

    def _open(self, char: str) -> None:
        begin_bytes = _byte_offset(self.text, self.i)
        if self.text.startswith("```", self.i):
            self.i += 3
            language = self.take_language()
            self._skip_line_break()
            self.open("pre", language, begin_bytes=begin_bytes)
            return
        for opener, kind in _MDV2_OPENERS:
            if self.text.startswith(opener, self.i):
                self.i += len(opener)
                self.open(kind, begin_bytes=begin_bytes)
                return
        raise entities_error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")

    def _skip_line_break(self) -> None:
        """The line break after a pre's opening (and its language) is not part of the code."""
        here, after = self.at(self.i), self.at(self.i + 1)
        if here in ("\n", "\r"):
            self.i += 2 if after in ("\n", "\r") and after != here else 1

    def _close(self) -> None:
        opened = self.stack.pop()
        self.i += len(_MDV2_CLOSERS[opened.kind])
        if opened.kind in ("text_link", "custom_emoji"):
            opened.argument = self._link_target(opened)
        self.emit(opened.kind, opened.offset, opened.argument)

    def _link_target(self, opened: _Open) -> str:
        """After a link's "]": the "(url)" that follows, else the link's own text as its address."""
        if self.at(self.i) != "(":
            return "".join(self.out.parts[opened.part :])
        self.i += 1
        url_begin = self.i
        chars: list[str] = []
        while self.i < self.n and self.text[self.i] != ")":
            if self._escaped(self.i):
                self.i += 1
            chars.append(self.text[self.i])
            self.i += 1
        if self.i >= self.n:
            raise entities_error(
                f"Can't find end of a URL at byte offset {_byte_offset(self.text, url_begin)}"
            )
        self.i += 1
        url = "".join(chars)
        return url.removeprefix("tg://emoji?id=") if opened.kind == "custom_emoji" else url


_MARKDOWN_DELIMITERS = "_*`["


class _MarkdownParser(_EntityParser):
    """Legacy ``Markdown`` parse mode: no nesting, so each entity is read from its opening to its end."""

    def parse(self) -> tuple[str, list[JSON]]:
        while self.i < self.n:
            char = self.text[self.i]
            if char == "\\" and self.i + 1 < self.n and self.text[self.i + 1] in _MARKDOWN_DELIMITERS:
                self.out.add(self.text[self.i + 1])
                self.i += 2
            elif char not in _MARKDOWN_DELIMITERS:
                self.keep(char)
            else:
                self._entity(char)
        return self.result()

    def _entity(self, char: str) -> None:
        begin_bytes = _byte_offset(self.text, self.i)
        self.i += 1
        is_pre = char == "`" and self.text[self.i : self.i + 2] == "``"
        language = ""
        if is_pre:
            self.i += 2
            language = self.take_language()
        offset = self.out.u16
        end_char = "]" if char == "[" else char
        while self.i < self.n and (
            self.text[self.i] != end_char or (is_pre and self.text[self.i + 1 : self.i + 3] != "``")
        ):
            self.keep(self.text[self.i])
        if self.i >= self.n:
            raise entities_error(f"Can't find end of the entity starting at byte offset {begin_bytes}")
        self.i += 3 if is_pre else 1
        if char == "[":
            self._link_target(offset)
        else:
            kind = {"_": "italic", "*": "bold"}.get(char, "pre" if is_pre else "code")
            self.emit(kind, offset, language)

    def _link_target(self, offset: int) -> None:
        """After a link's "]": its "(url)"; a link without one is no entity at all."""
        url = ""
        if self.at(self.i) == "(":
            close = self.text.find(")", self.i)
            if close != -1:
                url = self.text[self.i + 1 : close]
                self.i = close + 1
        if url:
            self.emit("text_link", offset, url)


def _parse_html(text: str) -> tuple[str, list[JSON]]:
    return _HtmlParser(text).parse()


def _parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    return _MarkdownV2Parser(text).parse()


def _parse_markdown(text: str) -> tuple[str, list[JSON]]:
    """Legacy ``Markdown`` parse mode."""
    return _MarkdownParser(text).parse()


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
