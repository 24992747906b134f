"""Whatever no other router took: text where a button was expected, media, unknown commands,
buttons from old screens or forged callback data. Each gets a short answer and the menu (with the
way into the workspace for staff)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.services.users import UserProfile
from handlers.ui import stale_button


def create_router() -> Router:
    router = Router(name="fallback")

    @router.message(F.text.startswith("/"))
    async def on_unknown_command(message: Message, profile: UserProfile) -> None:
        await message.answer(_("fallback.unknown_command"), reply_markup=keyboards.menu_for(profile.is_staff))

    @router.message(F.text)
    async def on_text(message: Message, profile: UserProfile) -> None:
        await message.answer(_("fallback.text"), reply_markup=keyboards.menu_for(profile.is_staff))

    @router.message()
    async def on_other(message: Message, profile: UserProfile) -> None:
        await message.answer(_("fallback.media"), reply_markup=keyboards.menu_for(profile.is_staff))

    @router.callback_query()
    async def on_unknown_button(callback: CallbackQuery, bot: Bot) -> None:
        await stale_button(callback, bot)

    return router
