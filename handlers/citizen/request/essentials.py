"""The essential answers besides the place: the situation, urgency, how to reach the person (and the
number, typed), consent."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RequestStep
from bot.services.cases import Situation
from bot.services.directory import Directory
from handlers.citizen.request import keyboards as kb
from handlers.citizen.request.answers import normalise_phone
from handlers.citizen.request.keyboards import CONSENTS
from handlers.citizen.request.screens import answered, ask, go
from handlers.citizen.request.states import RequestForm
from handlers.citizen.request.steps import next_step
from handlers.ui import chat_id_of, stale_button


async def on_situation(
    callback: CallbackQuery,
    callback_data: RequestStep,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
) -> None:
    if callback_data.value not in {s.value for s in Situation}:
        await stale_button(callback, bot)
        return
    await answered(
        callback, bot, state, "situation", directory, i18n.current_locale, situation=callback_data.value
    )


async def on_urgency(
    callback: CallbackQuery,
    callback_data: RequestStep,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
) -> None:
    urgent = callback_data.value == "1"
    if urgent:  # 102/112 first, before any further question
        await bot.send_message(chat_id_of(callback), _("danger.text"))
    await answered(callback, bot, state, "urgency", directory, i18n.current_locale, urgent=urgent)


async def on_contact(
    callback: CallbackQuery,
    callback_data: RequestStep,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
) -> None:
    if callback_data.value not in ("bot", "phone"):
        await stale_button(callback, bot)
        return
    # A number given before stays offered while the person may come back to "call me".
    await answered(
        callback, bot, state, "contact", directory, i18n.current_locale, contact=callback_data.value
    )


async def on_phone(message: Message, state: FSMContext, directory: Directory, i18n: I18n) -> None:
    phone = normalise_phone(message.text or "")
    data = await state.get_data()
    if phone is None:
        await message.answer(_("request.bad_phone"), reply_markup=kb.phone(data.get("phone")))
        return
    data = await state.update_data(phone=phone)
    to = next_step("phone", data, directory)
    if to == "review":
        await state.update_data(editing=False)
    await state.set_state(getattr(RequestForm, to))
    question, markup = ask(to, data, directory, i18n.current_locale)
    await message.answer(question, reply_markup=markup)


async def on_phone_kept(
    callback: CallbackQuery, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
) -> None:
    data = await state.get_data()
    if not data.get("phone"):
        await stale_button(callback, bot)
        return
    await go(callback, bot, state, next_step("phone", data, directory), directory, i18n.current_locale)


async def on_consent(
    callback: CallbackQuery,
    callback_data: RequestStep,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
) -> None:
    if callback_data.value not in CONSENTS:
        await stale_button(callback, bot)
        return
    await answered(
        callback, bot, state, "consent", directory, i18n.current_locale, consent=callback_data.value
    )
