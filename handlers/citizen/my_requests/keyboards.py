"""The buttons of "my request" (the buttons under a request's own view are the notices', in
bot/notices/keyboards.py; the one-tap offer of a message typed at the menu is handlers/fallback.py's)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MyRequestAction, MyRequests
from bot.keyboards import back_to_menu_row, button, markup
from bot.services.cases import CaseSummary


def my_cases(cases: list[CaseSummary]) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                f"{c.code[:4]}-{c.code[4:]} · {_(f'status.{c.status.value}')}",
                MyRequests(action=MyRequestAction.VIEW, id=c.id),
            )
        ]
        for c in cases
    ]
    enter_code = [button(_("mycase.enter_code"), MyRequests(action=MyRequestAction.CODE))]
    return markup(*rows, enter_code, back_to_menu_row())


def withdraw_confirm(case_id: int) -> InlineKeyboardMarkup:
    return markup(
        [button(_("mycase.withdraw_yes"), MyRequests(action=MyRequestAction.WITHDRAW_YES, id=case_id))],
        [button(_("mycase.withdraw_no"), MyRequests(action=MyRequestAction.VIEW, id=case_id))],
    )


def end_chat_confirm(case_id: int) -> InlineKeyboardMarkup:
    return markup(
        [button(_("mycase.end_chat_yes"), MyRequests(action=MyRequestAction.END_CHAT_YES, id=case_id))],
        [button(_("mycase.end_chat_no"), MyRequests(action=MyRequestAction.VIEW, id=case_id))],
    )


def stop_writing(case_id: int) -> InlineKeyboardMarkup:
    return markup([button(_("relay.back_to_request"), MyRequests(action=MyRequestAction.VIEW, id=case_id))])
