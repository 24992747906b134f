"""The buttons of the referrals an organisation received, and of writing on one."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ReferralAction, ReferralChat, ReferralChatAction, Referrals
from bot.keyboards import back_to_menu_row, button, markup, per_locale
from bot.services.cases import DECLINE_REASONS


def on_referral(
    label: str, action: ReferralAction, referral_id: int = 0, value: str = ""
) -> InlineKeyboardButton:
    return button(label, Referrals(action=action, id=referral_id, value=value))


def referral_list(items: list[tuple[int, str]], page: int, pages: int) -> InlineKeyboardMarkup:
    rows = [[on_referral(label, ReferralAction.OPEN, rid)] for rid, label in items]
    nav = []
    if page > 0:
        nav.append(button(_("button.prev"), Referrals(action=ReferralAction.LIST, page=page - 1)))
    if page + 1 < pages:
        nav.append(button(_("button.next"), Referrals(action=ReferralAction.LIST, page=page + 1)))
    return markup(*rows, nav, back_to_menu_row())


def referral_actions(referral_id: int, pending: bool) -> InlineKeyboardMarkup:
    answer = [
        on_referral(_("referral.accept"), ReferralAction.ACCEPT, referral_id),
        on_referral(_("referral.decline"), ReferralAction.DECLINE, referral_id),
    ]
    return markup(answer if pending else [], [on_referral(_("referral.list"), ReferralAction.LIST)])


def decline_reasons(referral_id: int) -> InlineKeyboardMarkup:
    rows = [
        [on_referral(_(f"decline.{r}"), ReferralAction.DECLINE_WITH, referral_id, r)] for r in DECLINE_REASONS
    ]
    return markup(*rows, [on_referral(_("button.back"), ReferralAction.OPEN, referral_id)])


@per_locale
def stop_referral_writing() -> InlineKeyboardMarkup:
    return markup([button(_("referrals.stop"), ReferralChat(action=ReferralChatAction.STOP))])
