"""An organisation's specialists and police liaison answer the referrals it received: the list, a referral's
card, accepting or declining with a reason (the case's owner is told). The service checks that the referral
went to the person's organisation."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.callbacks import ReferralAction, Referrals
from bot.notices import cases as notices
from bot.notices.delivery import compose_with, tell
from bot.notices.outgoing import Queue
from bot.services.cases import DECLINE_REASONS, PAGE_SIZE, CaseService, ReferralView
from bot.services.directory import Directory
from bot.services.staff import AccessDenied
from bot.services.users import UserProfile, UserService
from handlers.staff.referrals import keyboards
from handlers.ui import chat_id_of, show


async def send_referral(
    callback: CallbackQuery, bot: Bot, view: ReferralView, directory: Directory, i18n: I18n
) -> None:
    text = render.referral_card(view, directory, i18n.current_locale)
    await callback.answer()
    markup = keyboards.referral_actions(view.id, view.status == "pending")
    await bot.send_message(chat_id_of(callback), text, protect_content=True, reply_markup=markup)


async def on_list(
    callback: CallbackQuery, callback_data: Referrals, bot: Bot, profile: UserProfile, cases: CaseService
) -> None:
    page = callback_data.page
    items, total = await cases.referrals_for(profile.staff, page)
    pages = max(1, -(-total // PAGE_SIZE))
    labels = [(r.id, f"{render.code(r.case.code)} · {_(f'referral.status.{r.status}')}") for r in items]
    text = _("referral.list_title").format(count=total) if total else _("referral.none")
    await show(callback, bot, text, keyboards.referral_list(labels, page, pages))


async def on_open(
    callback: CallbackQuery,
    callback_data: Referrals,
    bot: Bot,
    profile: UserProfile,
    cases: CaseService,
    directory: Directory,
    i18n: I18n,
) -> None:
    view = await cases.referral(profile.staff_id, profile.staff, callback_data.id)
    await send_referral(callback, bot, view, directory, i18n)


async def on_decline(
    callback: CallbackQuery, callback_data: Referrals, bot: Bot, profile: UserProfile, cases: CaseService
) -> None:
    await cases.referral(profile.staff_id, profile.staff, callback_data.id)  # scope check before offering
    await show(callback, bot, _("referral.choose_reason"), keyboards.decline_reasons(callback_data.id))


async def on_answer(
    callback: CallbackQuery,
    callback_data: Referrals,
    bot: Bot,
    profile: UserProfile,
    cases: CaseService,
    directory: Directory,
    users: UserService,
    i18n: I18n,
    outbox: Queue,
) -> None:
    """Accepting, or declining with the reason pressed; the case's owner hears which."""
    reason = None if callback_data.action == ReferralAction.ACCEPT else callback_data.value
    if reason is not None and reason not in DECLINE_REASONS:
        raise AccessDenied("referral.answer")
    view, owner = await cases.answer_referral(
        profile.staff_id, profile.staff, callback_data.id, reason is None, reason
    )
    if owner is not None:
        told = compose_with(notices.referral_answer, view, reason)
        await tell(outbox, users, i18n, [owner], f"referral.answer:{view.id}", told)
    await send_referral(callback, bot, view, directory, i18n)
