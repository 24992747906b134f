"""Lengths as Telegram counts them: the text after its HTML is parsed (tags gone, `&amp;` one
character), in UTF-16 code units (an emoji outside the basic plane counts two). Limits checked on the
text as typed or on its escaped HTML undercount or overcount: a message of 1,008 `&` is 1,008
characters to Telegram but 5,040 once escaped."""

from __future__ import annotations

import html
import re

TEXT_LIMIT = 4096  # a message
CAPTION_LIMIT = 1024  # a photo's or document's caption

_TAG = re.compile(r"<[^>]*>")


def telegram_length(text: str) -> int:
    """The length of plain text (what a person typed) as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def visible_length(html_text: str) -> int:
    """The length of a message in our HTML as Telegram counts it once parsed."""
    return telegram_length(html.unescape(_TAG.sub("", html_text)))
