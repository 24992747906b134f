"""Both catalogues are complete: every key the code uses exists in uk and en, with the same placeholders."""

from __future__ import annotations

import re
import string
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.app import COMMANDS
from bot.i18n import load_catalog
from bot.keyboards import ADVICE_TOPICS
from bot.services.directory import Need
from bot.services.selfcheck import QUESTIONS, Risk

ROOT = Path(__file__).resolve().parent.parent
LITERAL_KEY = re.compile(r"""\b_\(\s*["']([a-z_]+(?:\.[a-z_0-9]+)+)["']\s*\)""")
DYNAMIC_KEY = re.compile(r"""\b_\(\s*f["']([^"']*\{[^"']*)["']""")


def _catalog(language: str) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in load_catalog(language) if m.id}


def _keys_in_code() -> set[str]:
    keys: set[str] = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            keys.update(LITERAL_KEY.findall(path.read_text("utf-8")))
    return keys


def _dynamic_keys() -> set[str]:
    """Keys built at run time from domain values; the test below checks no other f-string key exists."""
    keys = {f"need.{n.value}" for n in Need}
    keys |= {f"advice.button.{t}" for t in ADVICE_TOPICS}
    keys |= {f"advice.{t}.{part}" for t in ADVICE_TOPICS for part in ("title", "body")}
    keys |= {f"selfcheck.{kind}.{q}" for q in QUESTIONS for kind in ("q", "tip")}
    keys |= {f"selfcheck.result.{r.value}" for r in Risk}
    keys |= {f"command.{c}" for c in COMMANDS}
    return keys


KNOWN_DYNAMIC_PREFIXES = {
    "need.{",
    "advice.button.{",
    "advice.{",
    "selfcheck.q.{",
    "selfcheck.tip.{",
    "selfcheck.tip.{q}",
    "selfcheck.result.{",
    "command.{",
}


def test_every_dynamic_key_pattern_is_enumerated() -> None:
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            for pattern in DYNAMIC_KEY.findall(path.read_text("utf-8")):
                prefix = pattern[: pattern.index("{") + 1]
                assert prefix in KNOWN_DYNAMIC_PREFIXES, f"{path.name}: add {pattern!r} to _dynamic_keys()"


@pytest.mark.parametrize("language", ["uk", "en"])
def test_every_key_used_is_translated(language: str) -> None:
    catalog = _catalog(language)
    used = _keys_in_code() | _dynamic_keys()
    missing = sorted(k for k in used if not catalog.get(k, "").strip())
    assert not missing, f"{language} catalogue lacks: {missing}"


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    uk, en = _catalog("uk"), _catalog("en")
    assert set(uk) == set(en), f"only in uk: {set(uk) - set(en)}; only in en: {set(en) - set(uk)}"
    fields = string.Formatter()
    for key in uk:
        uk_fields = {f for _, f, _, _ in fields.parse(uk[key]) if f}
        en_fields = {f for _, f, _, _ in fields.parse(en[key]) if f}
        assert uk_fields == en_fields, f"{key}: placeholders differ ({uk_fields} vs {en_fields})"


class _TagChecker(HTMLParser):
    ALLOWED = frozenset({"b", "i", "u", "s", "code", "pre", "a"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.ALLOWED:
            self.errors.append(f"tag <{tag}> is not one Telegram accepts")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"</{tag}> closes nothing")


@pytest.mark.parametrize("language", ["uk", "en"])
def test_texts_are_valid_telegram_html_and_fit(language: str) -> None:
    for key, text in _catalog(language).items():
        checker = _TagChecker()
        checker.feed(text)
        assert not checker.errors and not checker.stack, (
            f"{language} {key}: {checker.errors or checker.stack}"
        )
        assert len(text) < 3500, f"{language} {key} is too long for one message with its buttons"
        if key.startswith("command."):
            assert 3 <= len(text) <= 256, f"{language} {key}: Telegram wants 3-256 characters"
        if key.startswith(
            (
                "menu.",
                "button.",
                "need.",
                "advice.button.",
                "privacy.forget_yes",
                "privacy.forget_no",
                "where.whole",
            )
        ):
            assert len(text) <= 40, f"{language} {key}: a button label this long is cut on a phone"
