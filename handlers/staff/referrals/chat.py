"""A referral's two sides write to each other through the bot: the case's owner to the organisation, the
organisation back. Only text, through the outbox: nothing of the case is kept at rest outside it."""

from __future__ import annotations

from html import escape

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards as menus
from bot import render
from bot.callbacks import ReferralChat, ReferralChatAction
from bot.notices import cases as notices
from bot.notices.delivery import compose_with, tell
from bot.notices.outgoing import Queue
from bot.services.cases import CaseError, CaseService, TooLong
from bot.services.users import UserProfile, UserService
from handlers.staff import workspace
from handlers.staff.referrals.keyboards import stop_referral_writing
from handlers.staff.referrals.states import ReferralWriting
from handlers.ui import chat_id_of, refusal_text, show


async def on_write(
    callback: CallbackQuery,
    callback_data: ReferralChat,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    cases: CaseService,
) -> None:
    to_organisation = callback_data.action == ReferralChatAction.TO_ORGANISATION
    thread = await cases.referral_thread(
        profile.staff_id, profile.staff, callback_data.id, to_organisation=to_organisation
    )
    await state.set_state(
        ReferralWriting.to_organisation if to_organisation else ReferralWriting.to_coordinator
    )
    await state.update_data(referral_id=thread.referral_id)
    await callback.answer()
    said = {"organisation": escape(thread.organisation), "code": render.code(thread.case.code)}
    prompt = "referrals.prompt_organisation" if to_organisation else "referrals.prompt_coordinator"
    await bot.send_message(
        chat_id_of(callback), _(prompt).format(**said), reply_markup=stop_referral_writing()
    )


async def on_stop(callback: CallbackQuery, bot: Bot, state: FSMContext, profile: UserProfile) -> None:
    await state.clear()
    if profile.is_staff:
        await show(callback, bot, _("staff.workspace"), workspace.keyboard())
    else:
        await show(callback, bot, _("menu.text"), menus.main_menu())


async def pass_on(
    message: Message,
    state: FSMContext,
    profile: UserProfile,
    cases: CaseService,
    users: UserService,
    i18n: I18n,
    outbox: Queue,
    *,
    to_organisation: bool,
) -> None:
    """One message to the other side of the referral, through the outbox; the sender is told it is being
    passed on (the outbox sends it shortly), not that it arrived."""
    referral_id = int((await state.get_data()).get("referral_id", 0))
    text = message.text or ""
    try:
        thread = await cases.referral_message(
            profile.staff_id, profile.staff, referral_id, text, to_organisation=to_organisation
        )
    except CaseError as exc:
        if not isinstance(exc, TooLong):  # a shorter one may follow; the rest end the mode
            await state.clear()
        await message.answer(refusal_text(exc), reply_markup=stop_referral_writing())
        return
    # Each message its own purpose: the outbox sends one per recipient and purpose.
    purpose = f"referral.message:{referral_id}:{profile.telegram_id}:{message.message_id}"
    compose = compose_with(notices.referral_message, thread, text, to_organisation=to_organisation)
    await tell(outbox, users, i18n, thread.recipients, purpose, compose)
    done = "referrals.passing_to_organisation" if to_organisation else "referrals.passing_to_coordinator"
    await message.answer(_(done), reply_markup=stop_referral_writing())


async def on_message_to_organisation(
    message: Message,
    state: FSMContext,
    profile: UserProfile,
    cases: CaseService,
    users: UserService,
    i18n: I18n,
    outbox: Queue,
) -> None:
    await pass_on(message, state, profile, cases, users, i18n, outbox, to_organisation=True)


async def on_message_to_coordinator(
    message: Message,
    state: FSMContext,
    profile: UserProfile,
    cases: CaseService,
    users: UserService,
    i18n: I18n,
    outbox: Queue,
) -> None:
    await pass_on(message, state, profile, cases, users, i18n, outbox, to_organisation=False)


async def on_other(message: Message) -> None:
    # Only text goes between a coordinator and an organisation: the outbox carries text, and nothing of
    # the case is kept at rest outside it.
    await message.answer(_("referrals.text_only"), reply_markup=stop_referral_writing())
