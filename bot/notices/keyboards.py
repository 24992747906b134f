"""The buttons under the messages the bot sends on its own (bot/notices/): the flows' callback data
(bot/callbacks.py) without the flows' handlers, which notices may not import."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import (
    CaseAction,
    Cases,
    EntryCheckAction,
    EntryChecks,
    MyRequests,
    ReferralChat,
    ReferralChatAction,
)
from bot.keyboards import back_to_menu_row, button, markup
from bot.services.cases import CaseSummary, Status


def one_button(label: str, data: CallbackData) -> InlineKeyboardMarkup:
    return markup([button(label, data)])


def new_case_notice(case_id: int) -> InlineKeyboardMarkup:
    return markup(
        [
            button(_("staff.accept"), Cases(action=CaseAction.ACCEPT, id=case_id)),
            button(_("staff.open"), Cases(action=CaseAction.OPEN, id=case_id)),
        ]
    )


def reply_to_citizen(case_id: int) -> InlineKeyboardMarkup:
    return markup(
        [
            button(_("staff.reply"), Cases(action=CaseAction.WRITE, id=case_id)),
            button(_("staff.open"), Cases(action=CaseAction.OPEN, id=case_id)),
        ]
    )


def referral_answered(case_id: int, referral_id: int) -> InlineKeyboardMarkup:
    """Under an organisation's answer to a referral: writing goes to that organisation, not the person."""
    return markup(
        [
            button(
                _("referrals.write_to_organisation"),
                ReferralChat(action=ReferralChatAction.TO_ORGANISATION, id=referral_id),
            )
        ],
        [button(_("staff.open"), Cases(action=CaseAction.OPEN, id=case_id))],
    )


def reply_to_coordinator(referral_id: int) -> InlineKeyboardMarkup:
    reply = ReferralChat(action=ReferralChatAction.TO_COORDINATOR, id=referral_id)
    return markup([button(_("referrals.reply_to_coordinator"), reply)])


def directory_check(entry_id: str) -> InlineKeyboardMarkup:
    """Under a directory entry sent to be checked: still correct, correct it, or withdraw it."""
    return markup(
        [
            button(
                _("directory.button.ok"), EntryChecks(action=EntryCheckAction.STILL_CORRECT, entry=entry_id)
            )
        ],
        [
            button(_("directory.button.fix"), EntryChecks(action=EntryCheckAction.FIX, entry=entry_id)),
            button(
                _("directory.button.withdraw"), EntryChecks(action=EntryCheckAction.WITHDRAW, entry=entry_id)
            ),
        ],
    )


def my_case(case: CaseSummary) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if case.status != Status.CLOSED:
        if case.relay_open:
            # Before anyone accepted, what the person writes is added to the request, for whoever takes it.
            label = _("mycase.add") if case.status == Status.NEW else _("mycase.write")
            rows.append([button(label, MyRequests(action="write", id=case.id))])
            rows.append([button(_("mycase.end_chat"), MyRequests(action="endchat", id=case.id))])
        else:
            rows.append([button(_("mycase.resume_chat"), MyRequests(action="resume", id=case.id))])
        rows.append([button(_("mycase.withdraw"), MyRequests(action="withdraw", id=case.id))])
    rows.append([button(_("menu.my_request"), MyRequests(action="list"))])
    rows.append(back_to_menu_row())
    return markup(*rows)
