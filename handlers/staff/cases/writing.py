"""The case's owner writes to the person who asked, through the bot: the person never sees who wrote, and
the message is kept encrypted with the case (bot/services/cases.py)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.callbacks import Cases
from bot.notices import cases as notices
from bot.notices.delivery import language_of, relay
from bot.notices.outgoing import Queue
from bot.services.cases import CaseError, CaseService, Status, TooLong
from bot.services.users import UserProfile, UserService
from handlers.staff.cases import keyboards
from handlers.staff.cases.states import StaffWriting
from handlers.ui import chat_id_of, refusal_text

SAID = {"sent": "relay.sent", "queued": "relay.queued"}  # anything else: relay.not_delivered


async def on_write(
    callback: CallbackQuery,
    callback_data: Cases,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    cases: CaseService,
) -> None:
    card = await cases.card(profile.staff_id, profile.staff, callback_data.id)
    if not card.owner_is_me or card.summary.status == Status.CLOSED:
        await callback.answer(_("relay.closed"), show_alert=True)
        return
    await state.set_state(StaffWriting.message)
    await state.update_data(case_id=callback_data.id)
    await callback.answer()
    prompt = _("relay.staff_prompt").format(code=render.code(card.summary.code))
    await bot.send_message(
        chat_id_of(callback), prompt, reply_markup=keyboards.stop_staff_writing(callback_data.id)
    )


async def on_staff_message(
    message: Message,
    state: FSMContext,
    bot: Bot,
    profile: UserProfile,
    cases: CaseService,
    users: UserService,
    i18n: I18n,
    outbox: Queue,
) -> None:
    case_id = int((await state.get_data()).get("case_id", 0))
    stop = keyboards.stop_staff_writing(case_id)
    photo = message.photo[-1].file_id if message.photo else None
    text = message.text or message.caption
    try:
        sent = await cases.staff_message(
            profile.staff_id, profile.staff, case_id, text, photo, message.message_id
        )
    except CaseError as exc:
        if not isinstance(exc, TooLong):  # a shorter one may follow; the rest end the mode
            await state.clear()
        await message.answer(refusal_text(exc), reply_markup=stop)
        return
    if sent.duplicate:  # the same message again (an update handled twice): passed on before
        await message.answer(_("relay.already"), reply_markup=stop)
        return
    # The person reads it in the language they use with the bot.
    with i18n.use_locale(await language_of(users, i18n, sent.citizen)):
        header, markup = notices.relay_to_citizen(sent.case)
    outcome = await relay(bot, outbox, sent.citizen, f"relay:{sent.message_id}", header, text, photo, markup)
    await message.answer(_(SAID.get(outcome, "relay.not_delivered")), reply_markup=stop)


async def on_staff_other(message: Message, state: FSMContext) -> None:
    case_id = int((await state.get_data()).get("case_id", 0))
    await message.answer(_("relay.text_or_photo"), reply_markup=keyboards.stop_staff_writing(case_id))
