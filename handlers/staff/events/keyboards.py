"""The event flow's keyboards. The buttons into it from elsewhere stay where those screens are: the
workspace (handlers/staff/workspace.py) and the reminders (bot/notices/reminders.py)."""

from __future__ import annotations

from datetime import date

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import EventAction, Events
from bot.keyboards import WHOLE, back_to_menu_row, button, markup, pairs
from bot.services.catalogue import EventType
from bot.services.directory import District
from bot.services.events import FUNDING_SOURCES, MeasureView


def cancel_row() -> list[InlineKeyboardButton]:
    return [button(_("event.cancel"), Events(action=EventAction.CANCEL))]


def cancel_only() -> InlineKeyboardMarkup:
    return markup(cancel_row())


def kinds() -> InlineKeyboardMarkup:
    items = [
        button(_(f"event_type.{t.value}"), Events(action=EventAction.KIND, value=t.value)) for t in EventType
    ]
    return markup(*pairs(items), cancel_row())


def measures(found: list[MeasureView]) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                f"{m.task_number}.{m.number} {m.title}"[:60],
                Events(action=EventAction.MEASURE, value=str(m.id)),
            )
        ]
        for m in found
    ]
    return markup(*rows, [button(_("event.search"), Events(action=EventAction.SEARCH))], cancel_row())


def dates() -> InlineKeyboardMarkup:
    return markup(
        [
            button(_("event.today"), Events(action=EventAction.DATE, value="0")),
            button(_("event.yesterday"), Events(action=EventAction.DATE, value="1")),
        ],
        [button(_("event.other_date"), Events(action=EventAction.DATE, value="other"))],
        cancel_row(),
    )


def districts(choices: list[District], lang: str) -> InlineKeyboardMarkup:
    items = [button(d.name.get(lang), Events(action=EventAction.DISTRICT, value=d.id)) for d in choices]
    return markup(
        *pairs(items),
        [button(_("event.whole_oblast"), Events(action=EventAction.DISTRICT, value=WHOLE))],
        cancel_row(),
    )


def extras() -> InlineKeyboardMarkup:
    return markup(
        [button(_("event.add_breakdown"), Events(action=EventAction.BREAKDOWN))],
        [button(_("event.add_cost"), Events(action=EventAction.COST))],
        [button(_("event.add_attachment"), Events(action=EventAction.ATTACH))],
        [button(_("event.save"), Events(action=EventAction.SAVE))],
        cancel_row(),
    )


def funding() -> InlineKeyboardMarkup:
    rows = [[button(_(f"funding.{f}"), Events(action=EventAction.FUNDING, value=f))] for f in FUNDING_SOURCES]
    return markup(*rows, cancel_row())


def another_row() -> list[InlineKeyboardButton]:
    return [button(_("event.another"), Events(action=EventAction.START))]


def mine_row() -> list[InlineKeyboardButton]:
    return [button(_("event.mine"), Events(action=EventAction.MINE))]


def saved(event_id: int) -> InlineKeyboardMarkup:
    return markup(
        [*another_row(), *mine_row()],
        [button(_("event.view"), Events(action=EventAction.VIEW, value=str(event_id)))],
        back_to_menu_row(),
    )


def mine(items: list[tuple[int, date, str, int, str]]) -> InlineKeyboardMarkup:
    """The author's events (id, date, type, participants, status): a withdrawn one is marked ✖."""
    rows = [
        [
            button(
                f"{d:%d.%m} · {_(f'event_type.{k}')} · {n}" + (" ✖" if s != "active" else ""),
                Events(action=EventAction.VIEW, value=str(i)),
            )
        ]
        for i, d, k, n, s in items[:20]
    ]
    return markup(*rows, another_row(), back_to_menu_row())


def event_actions(event_id: int, active: bool) -> InlineKeyboardMarkup:
    fix_or_withdraw = [
        button(_("event.fix"), Events(action=EventAction.FIX, value=str(event_id))),
        button(_("event.withdraw"), Events(action=EventAction.WITHDRAW, value=str(event_id))),
    ]
    return markup(fix_or_withdraw if active else [], mine_row())


def withdraw_confirm(event_id: int) -> InlineKeyboardMarkup:
    return markup(
        [button(_("event.withdraw_yes"), Events(action=EventAction.WITHDRAW_YES, value=str(event_id)))],
        [button(_("event.withdraw_no"), Events(action=EventAction.VIEW, value=str(event_id)))],
    )
