"""Citizen entry points: /start, the menu, danger now, hotlines, /help, /cancel, /language."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards, render
from bot.callbacks import Language, Menu, MenuItem
from bot.services.directory import Directory
from bot.services.staff import INVITE_PREFIX
from bot.services.users import UserProfile, UserService
from bot.settings import SUPPORTED_LANGUAGES
from handlers.ui import show, stale_button


def create_router() -> Router:
    router = Router(name="citizen-common")
    # An invite link (`/start inv_<token>`) is the admin router's; every other /start is the menu.
    router.message.register(on_start, CommandStart(magic=~F.args.startswith(INVITE_PREFIX)))
    router.message.register(on_help, Command("help", ignore_case=True))
    router.message.register(on_cancel, Command("cancel", ignore_case=True))
    router.message.register(on_sos, Command("sos", ignore_case=True))
    router.message.register(on_language, Command("language", ignore_case=True))
    router.callback_query.register(on_menu, Menu.filter(F.to == MenuItem.MAIN))
    router.callback_query.register(on_danger, Menu.filter(F.to == MenuItem.DANGER))
    router.callback_query.register(on_hotlines, Menu.filter(F.to == MenuItem.HOTLINES))
    router.callback_query.register(on_language_menu, Menu.filter(F.to == MenuItem.LANGUAGE))
    router.callback_query.register(on_language_chosen, Language.filter())
    return router


async def on_start(message: Message, state: FSMContext, raw_state: str | None, profile: UserProfile) -> None:
    if raw_state is not None:  # /start leaves any dialog; most people are in none
        await state.clear()
    await message.answer(_("start.text"), reply_markup=keyboards.menu_for(profile.is_staff))


async def on_help(message: Message, profile: UserProfile) -> None:
    await message.answer(_("help.text"), reply_markup=keyboards.menu_for(profile.is_staff))


async def on_cancel(message: Message, state: FSMContext, profile: UserProfile) -> None:
    had_dialog = await state.get_state() is not None
    await state.clear()
    text = _("cancel.done") if had_dialog else _("cancel.nothing")
    await message.answer(text, reply_markup=keyboards.menu_for(profile.is_staff))


async def on_sos(message: Message) -> None:
    await message.answer(_("danger.text"), reply_markup=keyboards.after_danger())


async def on_language(message: Message, i18n: I18n) -> None:
    await message.answer(_("language.choose"), reply_markup=keyboards.languages(i18n.current_locale))


async def on_menu(callback: CallbackQuery, bot: Bot, state: FSMContext, profile: UserProfile) -> None:
    await state.clear()
    await show(callback, bot, _("menu.text"), keyboards.menu_for(profile.is_staff))


async def on_danger(callback: CallbackQuery, bot: Bot) -> None:
    # A new message, not an edit: the numbers must appear at once at the bottom of the chat.
    await callback.answer()
    await bot.send_message(callback.from_user.id, _("danger.text"), reply_markup=keyboards.after_danger())


async def on_hotlines(callback: CallbackQuery, bot: Bot, directory: Directory, i18n: I18n) -> None:
    text = render.hotlines_text(directory.hotlines(), i18n.current_locale)
    await show(callback, bot, text, keyboards.only_menu())


async def on_language_menu(callback: CallbackQuery, bot: Bot, i18n: I18n) -> None:
    # The current language is the person's choice, else their client's: offer it first.
    await show(callback, bot, _("language.choose"), keyboards.languages(i18n.current_locale))


async def on_language_chosen(
    callback: CallbackQuery,
    callback_data: Language,
    bot: Bot,
    users: UserService,
    i18n: I18n,
    profile: UserProfile,
) -> None:
    if callback_data.code not in SUPPORTED_LANGUAGES:
        await stale_button(callback, bot)
        return
    await users.set_language(callback.from_user.id, callback_data.code)
    i18n.current_locale = callback_data.code  # the rest of this answer is in the new language
    text = _("language.done") + "\n\n" + _("menu.text")
    await show(callback, bot, text, keyboards.menu_for(profile.is_staff))
