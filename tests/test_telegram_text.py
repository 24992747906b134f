"""Lengths as Telegram counts them (bot/telegram_text.py); screens cut only past what it accepts."""

from __future__ import annotations

from html import escape

import pytest

from bot.render import fit
from bot.telegram_text import telegram_length, visible_length

pytestmark = pytest.mark.same_on_every_backend  # its own SQLite file, or none


def test_escaped_text_counts_what_it_shows() -> None:
    assert visible_length(escape("&" * 1008)) == 1008  # 5,040 characters of source
    assert visible_length("<b>Код</b>: A&lt;B") == len("Код: A<B")
    assert telegram_length("🆘") == 2  # outside the basic plane: two UTF-16 units


def test_a_screen_of_escaped_text_within_the_limit_is_not_cut() -> None:
    screen = "<b>Опис:</b>\n" + escape("&" * 4000)
    assert fit(screen) == screen


def test_a_screen_over_the_limit_is_cut_at_a_line_and_says_so() -> None:
    screen = "\n".join(f"рядок {i} " + "x" * 90 for i in range(60))
    cut = fit(screen)
    assert cut.endswith("\n…") and visible_length(cut) <= 4096
    assert screen.startswith(cut[:-2])
