"""The monthly notifications' keyboards. The buttons into the flow from elsewhere stay where those screens
are: the workspace (handlers/staff/workspace.py), the reminder and the digest (bot/notices/police.py)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.callbacks import PoliceAction, PoliceReports
from bot.keyboards import WHOLE, back_to_menu_row, button, markup, pairs
from bot.services.directory import District
from bot.services.police_reports import EXPLOITATION_TYPES, SIGNAL_KINDS


def cancel_row() -> list[InlineKeyboardButton]:
    return [button(_("event.cancel"), PoliceReports(action=PoliceAction.CANCEL))]


def cancel_only() -> InlineKeyboardMarkup:
    return markup(cancel_row())


def months(previous: str, current: str) -> InlineKeyboardMarkup:
    return markup(
        [
            button(render.month(previous), PoliceReports(action=PoliceAction.MONTH, value=previous)),
            button(render.month(current), PoliceReports(action=PoliceAction.MONTH, value=current)),
        ],
        cancel_row(),
    )


def draft(has_signals: bool, filed: bool) -> InlineKeyboardMarkup:
    """Add a signal; file the signals, or (for a month not filed yet) "nothing detected"."""
    rows = [[button(_("police.add_signal"), PoliceReports(action=PoliceAction.SIGNAL))]]
    if has_signals:
        rows.append([button(_("police.submit"), PoliceReports(action=PoliceAction.SUBMIT))])
    elif not filed:
        rows.append([button(_("police.nil"), PoliceReports(action=PoliceAction.NIL))])
    return markup(*rows, cancel_row())


def kinds() -> InlineKeyboardMarkup:
    rows = [
        [button(_(f"signal.{k}"), PoliceReports(action=PoliceAction.KIND, value=k))] for k in SIGNAL_KINDS
    ]
    return markup(*rows, cancel_row())


def exploitation() -> InlineKeyboardMarkup:
    rows = [
        [button(_(f"exploitation.{e}"), PoliceReports(action=PoliceAction.EXPLOITATION, value=e))]
        for e in EXPLOITATION_TYPES
    ]
    return markup(*rows, cancel_row())


def districts(choices: tuple[District, ...], lang: str) -> InlineKeyboardMarkup:
    items = [
        button(d.name.get(lang), PoliceReports(action=PoliceAction.DISTRICT, value=d.id)) for d in choices
    ]
    return markup(
        *pairs(items),
        [button(_("event.whole_oblast"), PoliceReports(action=PoliceAction.DISTRICT, value=WHOLE))],
        cancel_row(),
    )


def compliance_months(recent: list[str], shown: str) -> InlineKeyboardMarkup:
    """Any of the recent months, three to a row; the one shown is marked."""
    items = [
        button(
            ("• " if m == shown else "") + render.month(m),
            PoliceReports(action=PoliceAction.COMPLIANCE, value=m),
        )
        for m in recent
    ]
    return markup(*pairs(items, 3), back_to_menu_row())


def digest_months(oblast: str, months: list[str]) -> InlineKeyboardMarkup:
    """The past months whose digest the police liaison can get again, three to a row."""
    items = [
        button(render.month(m), PoliceReports(action=PoliceAction.DIGEST, value=f"{oblast}|{m}"))
        for m in months
    ]
    return markup(*pairs(items, 3), back_to_menu_row())
