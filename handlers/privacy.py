"""Citizen privacy controls: clear this chat, and /forget (erase everything stored about me)."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.keyboards import Menu, Privacy
from bot.redis_storage import EncryptedRedisStorage
from bot.services.cases import CaseService
from bot.services.privacy import ids_to_clear
from bot.services.throttle import Throttles
from bot.services.users import ADMIN, UserProfile, UserService
from bot.storage import SQLStorage
from handlers.ui import chat_id_of, show, stale_button

log = logging.getLogger("dovira")


def _staff_kept(profile: UserProfile) -> str:
    """Why a member of staff is not erased, and what to do (an admin's role is in the settings)."""
    return _("privacy.forget_admin") if profile.has(ADMIN) else _("privacy.forget_staff")


def create_router() -> Router:
    router = Router(name="citizen-privacy")

    @router.callback_query(Menu.filter(F.to == "privacy"))
    async def on_privacy(callback: CallbackQuery, bot: Bot) -> None:
        await show(callback, bot, _("privacy.text"), keyboards.privacy())

    @router.message(Command("forget"))
    async def on_forget_command(message: Message, profile: UserProfile) -> None:
        if profile.is_staff:
            await message.answer(_staff_kept(profile), reply_markup=keyboards.only_menu())
            return
        await message.answer(_("privacy.forget_confirm"), reply_markup=keyboards.forget_confirm())

    @router.callback_query(Privacy.filter(F.action == "forget"))
    async def on_forget(callback: CallbackQuery, bot: Bot, profile: UserProfile) -> None:
        if profile.is_staff:
            await show(callback, bot, _staff_kept(profile), keyboards.only_menu())
            return
        await show(callback, bot, _("privacy.forget_confirm"), keyboards.forget_confirm())

    @router.callback_query(Privacy.filter(F.action == "forget_yes"))
    async def on_forget_yes(
        callback: CallbackQuery,
        bot: Bot,
        profile: UserProfile,
        users: UserService,
        fsm_storage: SQLStorage | EncryptedRedisStorage,
        cases: CaseService,
        throttles: Throttles,
    ) -> None:
        # Staff are refused (an old confirmation pressed after a role was granted, too): erasing a
        # member of staff would drop their roles unaudited and the name on their audit entries.
        if profile.is_staff or not await users.forget(callback.from_user.id):
            await show(callback, bot, _staff_kept(profile), keyboards.only_menu())
            return
        await cases.forget_citizen(callback.from_user.id)
        await fsm_storage.forget(callback.from_user.id)
        await throttles.forget(callback.from_user.id)
        await show(callback, bot, _("privacy.forgotten"), keyboards.after_forget())

    @router.callback_query(Privacy.filter(F.action == "clear"))
    async def on_clear(callback: CallbackQuery, bot: Bot, profile: UserProfile, users: UserService) -> None:
        chat_id = chat_id_of(callback)
        last_seen = max(users.last_message_id(callback.from_user.id), _message_id(callback))
        deleted_any = False
        for batch in ids_to_clear(last_seen):
            try:
                deleted_any = await bot.delete_messages(chat_id, batch) or deleted_any
            except TelegramAPIError as exc:
                log.warning("clear chat: a batch was refused (%s)", type(exc).__name__)
        # A toast, not a message: a cleared chat should show nothing at all.
        await callback.answer(_("privacy.cleared") if deleted_any else _("privacy.clear_failed"))

    @router.callback_query(Privacy.filter())
    async def on_unknown(callback: CallbackQuery, bot: Bot) -> None:
        await stale_button(callback, bot)

    return router


def _message_id(callback: CallbackQuery) -> int:
    return callback.message.message_id if callback.message is not None else 0
