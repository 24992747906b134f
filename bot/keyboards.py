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

from bot.callbacks import Advice, Language, Menu, Privacy, SelfCheck, Where
from bot.services.directory import Directory, Need, Oblast
from bot.services.places import OUTSIDE

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
    return [button(_("button.menu"), Menu(to="main"))]


def _main_rows() -> list[list[InlineKeyboardButton]]:
    return [
        [button(_("menu.danger"), Menu(to="danger"))],
        [button(_("menu.request"), Menu(to="request")), button(_("menu.my_request"), Menu(to="mycase"))],
        [button(_("menu.hotlines"), Menu(to="hotlines"))],
        [button(_("menu.where"), Menu(to="where"))],
        [button(_("menu.advice"), Menu(to="advice")), button(_("menu.check"), Menu(to="check"))],
        [button(_("menu.privacy"), Menu(to="privacy")), button(_("menu.language"), Menu(to="language"))],
    ]


@per_locale
def main_menu() -> InlineKeyboardMarkup:
    return markup(*_main_rows())


@per_locale
def staff_main_menu() -> InlineKeyboardMarkup:
    """The same menu with the way into the staff workspace; citizens never see it."""
    return markup(*_main_rows(), [button(_("menu.staff"), Menu(to="staff"))])


def menu_for(is_staff: bool) -> InlineKeyboardMarkup:
    return staff_main_menu() if is_staff else main_menu()


@per_locale
def only_menu() -> InlineKeyboardMarkup:
    return markup(back_to_menu_row())


@per_locale
def after_danger() -> InlineKeyboardMarkup:
    return markup(
        [button(_("menu.hotlines"), Menu(to="hotlines"))],
        [button(_("menu.where"), Menu(to="where"))],
        back_to_menu_row(),
    )


def languages(first: str) -> InlineKeyboardMarkup:
    """English first for English clients, Ukrainian first otherwise."""
    order = ["en", "uk"] if first == "en" else ["uk", "en"]
    names = {"uk": "Українська", "en": "English"}
    return markup([button(names[code], Language(code=code)) for code in order], back_to_menu_row())


def _outside_rows() -> list[list[InlineKeyboardButton]]:
    """Another oblast, abroad, rather not say: answered with the national lines."""
    return [[button(_(f"place.button.{code}"), Where(o=code))] for code in OUTSIDE]


def oblasts(oblast_list: tuple[Oblast, ...], language: str) -> InlineKeyboardMarkup:
    rows = [[button(o.name.get(language), Where(o=o.id))] for o in oblast_list]
    return markup(*rows, *_outside_rows(), back_to_menu_row())


def districts(directory: Directory, oblast: Oblast, language: str) -> InlineKeyboardMarkup:
    rows = [[button(d.name.get(language), Where(o=oblast.id, d=d.id))] for d in oblast.districts]
    rows.append([button(_("where.whole_oblast"), Where(o=oblast.id, d=WHOLE))])
    if len(directory.oblasts) > 1:
        rows.append([button(_("button.back"), Where())])
    else:  # the oblast step is skipped: its other choices are here
        rows.extend(_outside_rows())
    rows.append(back_to_menu_row())
    return markup(*rows)


@per_locale
def after_outside_help() -> InlineKeyboardMarkup:
    return markup(
        [button(_("button.back"), Where())],
        [button(_("menu.request"), Menu(to="request"))],
        back_to_menu_row(),
    )


def communities(directory: Directory, step: Where, language: str) -> InlineKeyboardMarkup:
    district = directory.district(step.d)
    assert district is not None
    rows = [
        [button(c.name.get(language), Where(o=step.o, d=step.d, c=str(i)))]
        for i, c in enumerate(district.communities)
    ]
    rows.append([button(_("where.whole_district"), Where(o=step.o, d=step.d, c=WHOLE))])
    rows.append([button(_("button.back"), Where(o=step.o))])
    rows.append(back_to_menu_row())
    return markup(*rows)


def needs(step: Where) -> InlineKeyboardMarkup:
    items = [
        button(_(f"need.{need.value}"), Where(o=step.o, d=step.d, c=step.c, n=code))
        for need, code in NEED_CODES.items()
    ]
    rows = [items[i : i + 2] for i in range(0, len(items), 2)]
    rows.append([button(_("button.back"), Where(o=step.o, d="" if step.c in ("", WHOLE) else step.d))])
    rows.append(back_to_menu_row())
    return markup(*rows)


def results(step: Where, page: int, pages: int) -> InlineKeyboardMarkup:
    nav = []
    if page > 0:
        nav.append(button(_("button.prev"), Where(o=step.o, d=step.d, c=step.c, n=step.n, p=page - 1)))
    if page + 1 < pages:
        nav.append(button(_("button.next"), Where(o=step.o, d=step.d, c=step.c, n=step.n, p=page + 1)))
    return markup(
        nav,
        [button(_("where.other_need"), Where(o=step.o, d=step.d, c=step.c))],
        [button(_("menu.danger"), Menu(to="danger"))],
        back_to_menu_row(),
    )


@per_locale
def advice_topics() -> InlineKeyboardMarkup:
    return markup(
        *[[button(_(f"advice.button.{t}"), Advice(topic=t))] for t in ADVICE_TOPICS],
        [button(_("menu.check"), Menu(to="check"))],
        back_to_menu_row(),
    )


@per_locale
def after_advice() -> InlineKeyboardMarkup:
    return markup([button(_("advice.other"), Menu(to="advice"))], back_to_menu_row())


def check_question(index: int, mask: int) -> InlineKeyboardMarkup:
    return markup(
        [
            button(_("button.yes"), SelfCheck(q=index, m=mask, yes=True)),
            button(_("button.no"), SelfCheck(q=index, m=mask, yes=False)),
        ],
        [button(_("check.stop"), Menu(to="main"))],
    )


@per_locale
def check_result() -> InlineKeyboardMarkup:
    return markup(
        [button(_("menu.hotlines"), Menu(to="hotlines"))],
        [button(_("menu.where"), Menu(to="where"))],
        [button(_("menu.advice"), Menu(to="advice"))],
        back_to_menu_row(),
    )


@per_locale
def privacy() -> InlineKeyboardMarkup:
    return markup(
        [button(_("privacy.clear"), Privacy(action="clear"))],
        [button(_("privacy.forget"), Privacy(action="forget"))],
        back_to_menu_row(),
    )


@per_locale
def forget_confirm() -> InlineKeyboardMarkup:
    return markup(
        [button(_("privacy.forget_yes"), Privacy(action="forget_yes"))],
        [button(_("privacy.forget_no"), Menu(to="main"))],
    )


@per_locale
def forget_open_requests() -> InlineKeyboardMarkup:
    """/forget with open requests: withdraw them and erase their content, or keep them open."""
    return markup(
        [button(_("forget.button.withdraw"), Privacy(action="forget_withdraw"))],
        [button(_("forget.button.keep"), Privacy(action="forget_keep"))],
        [button(_("forget.button.cancel"), Menu(to="main"))],
    )


@per_locale
def after_forget() -> InlineKeyboardMarkup:
    return markup([button(_("privacy.clear"), Privacy(action="clear"))], back_to_menu_row())
