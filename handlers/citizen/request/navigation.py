"""Into, through and out of the help request: starting, Back, Cancel, changing an answer from the
review, and what is said to anything but the expected answer."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import RequestStep
from bot.services.cases import CaseService
from bot.services.directory import Directory
from bot.settings import Settings
from handlers.citizen.request import keyboards as kb
from handlers.citizen.request.screens import ask, go
from handlers.citizen.request.sending import over_limit
from handlers.citizen.request.states import RequestForm
from handlers.citizen.request.steps import ANSWERS, EDITABLE, place_first, previous_step, step_of
from handlers.ui import chat_id_of, show, stale_button


async def on_start(
    callback: CallbackQuery, bot: Bot, state: FSMContext, cases: CaseService, settings: Settings
) -> None:
    await state.clear()
    refusal = await over_limit(cases, chat_id_of(callback), settings)
    if refusal is not None:
        await show(callback, bot, refusal, keyboards.main_menu())
        return
    await state.set_state(RequestForm.situation)
    await show(callback, bot, _("request.intro") + "\n\n" + _("request.ask_situation"), kb.situations(None))


async def on_cancel(callback: CallbackQuery, bot: Bot, state: FSMContext) -> None:
    await state.clear()
    await show(callback, bot, _("request.cancelled"), keyboards.main_menu())


async def on_back(
    callback: CallbackQuery,
    bot: Bot,
    state: FSMContext,
    raw_state: str | None,
    directory: Directory,
    i18n: I18n,
) -> None:
    step = step_of(raw_state)
    data = await state.get_data()
    to = previous_step(step, data, directory)
    if to is None:  # before the first question: out of the dialog, nothing kept
        await state.clear()
        await show(callback, bot, _("request.left"), keyboards.main_menu())
        return
    if step == "review":  # walking back through the questions, not changing one from the review
        await state.update_data(editing=False, before_edit=None)
    elif to == "review" and data.get("editing") and isinstance(data.get("before_edit"), dict):
        # Backing out of a change begun on the review: the answers as they were, not half a change
        # (a phone contact with no number, an oblast with no district).
        await state.update_data(**data["before_edit"])
    await go(callback, bot, state, to, directory, i18n.current_locale)


async def on_edit(
    callback: CallbackQuery,
    callback_data: RequestStep,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
) -> None:
    if callback_data.value not in EDITABLE:
        await stale_button(callback, bot)
        return
    data = await state.get_data()
    await state.update_data(editing=True, before_edit={key: data.get(key) for key in ANSWERS})
    step = place_first(directory) if callback_data.value == "place" else callback_data.value
    await go(callback, bot, state, step, directory, i18n.current_locale)


# Anything but the expected answer while the dialog runs: say what is expected, ask again.
async def on_not_text(
    message: Message, state: FSMContext, raw_state: str | None, directory: Directory, i18n: I18n
) -> None:
    _question, markup = ask(step_of(raw_state), await state.get_data(), directory, i18n.current_locale)
    await message.answer(_("request.text_expected"), reply_markup=markup)


async def on_button_expected(
    message: Message, state: FSMContext, raw_state: str | None, directory: Directory, i18n: I18n
) -> None:
    if message.text and message.text.startswith("/"):
        await message.answer(_("request.finish_or_cancel"))
    question, markup = ask(step_of(raw_state), await state.get_data(), directory, i18n.current_locale)
    await message.answer(_("request.use_buttons") + "\n\n" + question, reply_markup=markup)


async def on_stale(callback: CallbackQuery, bot: Bot) -> None:
    await stale_button(callback, bot)
