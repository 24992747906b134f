"""Inline keyboards and the callback data they carry.

Callback data can be forged by any client: handlers re-check every value they get from it
(unknown ids are treated as a stale button), and nothing here is trusted for authorisation.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import Language, Menu, MenuItem
from bot.services.directory import Need

# Short codes keep callback data well under Telegram's 64 bytes.
NEED_CODES: dict[Need, str] = {
    Need.LEGAL_AID: "la",
    Need.SHELTER: "sh",
    Need.PSYCHOLOGICAL: "ps",
    Need.MEDICAL: "md",
    Need.SOCIAL_SERVICES: "ss",
    Need.EMPLOYMENT: "em",
    Need.HUMANITARIAN: "hu",
    Need.CHILD_PROTECTION: "cp",
}
NEED_BY_CODE = {code: need for need, code in NEED_CODES.items()}
WHOLE = "*"  # "the whole oblast" / "the whole district"
ADVICE_TOPICS = ("jobs_abroad", "documents", "online_recruitment", "idps")


# Keyboards built once and shared by every reply (never changed after they are built); kept here
# by id so the session can encode each to JSON once, too (bot/session.py).
_SHARED: dict[int, InlineKeyboardMarkup] = {}


def is_shared_markup(markup: object) -> bool:
    return _SHARED.get(id(markup)) is markup


def per_locale(build: Callable[[], InlineKeyboardMarkup]) -> Callable[[], InlineKeyboardMarkup]:
    """Build a fixed keyboard once per language: building one costs more than the rest of a reply."""

    @cache
    def cached(_locale: str) -> InlineKeyboardMarkup:
        markup = build()
        _SHARED[id(markup)] = markup
        return markup

    @wraps(build)
    def current() -> InlineKeyboardMarkup:
        return cached(get_i18n().current_locale)

    return current


def markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    """A keyboard of the rows given; an empty row (a button that does not apply) is left out."""
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


def pairs(buttons: list[InlineKeyboardButton], size: int = 2) -> list[list[InlineKeyboardButton]]:
    """Buttons `size` to a row."""
    return [buttons[i : i + size] for i in range(0, len(buttons), size)]


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def back_to_menu_row() -> list[InlineKeyboardButton]:
    return [button(_("button.menu"), Menu(to=MenuItem.MAIN))]


def _main_rows() -> list[list[InlineKeyboardButton]]:
    return [
        [button(_("menu.danger"), Menu(to=MenuItem.DANGER))],
        [
            button(_("menu.request"), Menu(to=MenuItem.REQUEST)),
            button(_("menu.my_request"), Menu(to=MenuItem.MY_REQUESTS)),
        ],
        [button(_("menu.hotlines"), Menu(to=MenuItem.HOTLINES))],
        [button(_("menu.where"), Menu(to=MenuItem.WHERE))],
        [
            button(_("menu.advice"), Menu(to=MenuItem.ADVICE)),
            button(_("menu.check"), Menu(to=MenuItem.CHECK)),
        ],
        [
            button(_("menu.privacy"), Menu(to=MenuItem.PRIVACY)),
            button(_("menu.language"), Menu(to=MenuItem.LANGUAGE)),
        ],
    ]


@per_locale
def main_menu() -> InlineKeyboardMarkup:
    return markup(*_main_rows())


@per_locale
def staff_main_menu() -> InlineKeyboardMarkup:
    """The same menu with the way into the staff workspace; citizens never see it."""
    return markup(*_main_rows(), [button(_("menu.staff"), Menu(to=MenuItem.STAFF))])


def menu_for(is_staff: bool) -> InlineKeyboardMarkup:
    return staff_main_menu() if is_staff else main_menu()


@per_locale
def only_menu() -> InlineKeyboardMarkup:
    return markup(back_to_menu_row())


@per_locale
def after_danger() -> InlineKeyboardMarkup:
    return markup(
        [button(_("menu.hotlines"), Menu(to=MenuItem.HOTLINES))],
        [button(_("menu.where"), Menu(to=MenuItem.WHERE))],
        back_to_menu_row(),
    )


def languages(first: str) -> InlineKeyboardMarkup:
    """English first for English clients, Ukrainian first otherwise."""
    order = ["en", "uk"] if first == "en" else ["uk", "en"]
    names = {"uk": "Українська", "en": "English"}
    return markup([button(names[code], Language(code=code)) for code in order], back_to_menu_row())
