"""The optional additions, reached from the review and back to it: needs, a description (typed),
sex, age group."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RequestStep
from bot.keyboards import NEED_BY_CODE
from bot.services.cases import AGE_GROUPS, DESCRIPTION_LIMIT, SEXES
from bot.services.directory import Directory
from handlers.citizen.request import keyboards as kb
from handlers.citizen.request.screens import answered, ask, go
from handlers.citizen.request.states import RequestForm
from handlers.ui import show, stale_button


async def on_need(callback: CallbackQuery, callback_data: RequestStep, bot: Bot, state: FSMContext) -> None:
    need = NEED_BY_CODE.get(callback_data.value)
    if need is None:
        await stale_button(callback, bot)
        return
    chosen = list((await state.get_data()).get("needs") or [])
    chosen.remove(need.value) if need.value in chosen else chosen.append(need.value)
    await state.update_data(needs=chosen)
    await show(callback, bot, _("request.ask_needs"), kb.needs(chosen))


async def on_needs_done(
    callback: CallbackQuery, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
) -> None:
    await go(callback, bot, state, "review", directory, i18n.current_locale)


async def on_description(message: Message, state: FSMContext, directory: Directory, i18n: I18n) -> None:
    text = (message.text or "").strip()
    if len(text) > DESCRIPTION_LIMIT:
        await message.answer(
            _("request.too_long").format(limit=DESCRIPTION_LIMIT, length=len(text)),
            reply_markup=kb.description(bool((await state.get_data()).get("description"))),
        )
        return
    data = await state.update_data(description=text or None, editing=False)
    await state.set_state(RequestForm.review)
    summary, markup = ask("review", data, directory, i18n.current_locale)
    await message.answer(_("request.noted") + "\n\n" + summary, reply_markup=markup)


async def on_description_cleared(
    callback: CallbackQuery, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
) -> None:
    await state.update_data(description=None)
    await go(callback, bot, state, "review", directory, i18n.current_locale)


async def on_sex(
    callback: CallbackQuery,
    callback_data: RequestStep,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
) -> None:
    value = callback_data.value if callback_data.value in SEXES else "-"
    await answered(callback, bot, state, "sex", directory, i18n.current_locale, sex=value)


async def on_age(
    callback: CallbackQuery,
    callback_data: RequestStep,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
) -> None:
    value = callback_data.value if callback_data.value in AGE_GROUPS else "-"
    await answered(callback, bot, state, "age", directory, i18n.current_locale, age_group=value)
