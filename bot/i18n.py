"""Gettext i18n over aiogram's I18n, with catalogues compiled from the .po files in memory.

Message ids are symbolic keys ("menu.danger"); uk and en must each translate every key, and
tests/test_i18n.py fails when one is missing. All *.po files of a language are merged, so long
content (advice.po) lives apart from the interface strings (dovira.po).
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.settings import SUPPORTED_LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "dovira"


def load_catalog(language: str, locales_dir: Path = LOCALES_DIR) -> Catalog:
    """All .po files of one language merged into one catalogue."""
    merged = Catalog(locale=language, domain=DOMAIN)
    for po in sorted((locales_dir / language / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=language)
        for message in catalog:
            if message.id:
                # One key, one text: a key in two files would silently keep the first file's text.
                if message.id in merged:
                    raise ValueError(f"{language}: {message.id!r} is defined twice (again in {po.name})")
                merged[message.id] = message
    return merged


def compile_translations(locales_dir: Path = LOCALES_DIR) -> dict[str, gettext.GNUTranslations]:
    """Every supported language's .po files compiled in memory (no .mo files to keep in step)."""
    translations: dict[str, gettext.GNUTranslations] = {}
    for language in SUPPORTED_LANGUAGES:
        buf = io.BytesIO()
        write_mo(buf, load_catalog(language, locales_dir))
        buf.seek(0)
        translations[language] = gettext.GNUTranslations(buf)
    return translations


_compiled: dict[tuple[tuple[str, int], ...], dict[str, gettext.GNUTranslations]] = {}


def _compiled_once() -> dict[str, gettext.GNUTranslations]:
    """Compiled once per process while the .po files are unchanged (the catalogues are read-only;
    the tests and the CLI build the application many times)."""
    stamp = tuple(sorted((str(p), p.stat().st_mtime_ns) for p in LOCALES_DIR.glob("*/LC_MESSAGES/*.po")))
    if stamp not in _compiled:
        _compiled.clear()
        _compiled[stamp] = compile_translations()
    return _compiled[stamp]


def create_i18n(default_language: str) -> I18n:
    # Not a subclass: aiogram's gettext() looks the current instance up on I18n itself, and a
    # subclass gets a context variable of its own. The domain matches no file, so I18n loads
    # nothing from disk and we hand it the catalogues compiled above.
    i18n = I18n(path=LOCALES_DIR, default_locale=default_language, domain="compiled-in-memory")
    i18n.locales = dict(_compiled_once())
    return i18n


def language_from_client(language_code: str | None, default: str) -> str:
    """The first language to offer someone who has not picked one: English for English clients."""
    if language_code and language_code.lower().startswith("en"):
        return "en"
    return default


class UserLocaleMiddleware(I18nMiddleware):
    """The user's chosen language, else their Telegram client's (uk or en), else the default."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        profile = data.get("profile")
        if profile is not None and profile.language in SUPPORTED_LANGUAGES:
            return str(profile.language)
        tg_user: User | None = data.get("event_from_user")
        return language_from_client(tg_user.language_code if tg_user else None, self.i18n.default_locale)
