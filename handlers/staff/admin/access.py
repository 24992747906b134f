"""Who may use the admin screens, and how a refusal is answered.

/admin and the dialog's messages are gated by handlers/staff/access.py's `gate`. A button is refused
differently (as before the restructure): someone without /admin learns no more than that the button is out
of date; an admin or coordinator is told they lack the right. `ButtonGate` does that for a whole router,
and `refuse` for the finer checks inside a handler (an admin-only step; the service's AccessDenied)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.services.staff import Role, StaffService
from bot.services.users import UserProfile
from handlers.staff.admin.keyboards import back_only
from handlers.ui import chat_id_of, stale_button

ADMINS = frozenset({Role.ADMIN.value})
MANAGERS = frozenset({Role.ADMIN.value, Role.COORDINATOR.value})  # who may open /admin


def is_admin(profile: UserProfile) -> bool:
    return profile.has(Role.ADMIN)


def is_manager(profile: UserProfile) -> bool:
    """Who may open /admin: admins and coordinators."""
    return bool(MANAGERS & profile.roles)


async def refuse(
    callback: CallbackQuery,
    bot: Bot,
    staff: StaffService,
    profile: UserProfile,
    action: str,
    detail: str | None = None,
) -> None:
    """A staff button this person may not use: audited as `denied.<action>`."""
    await staff.audit(
        profile.id,
        f"denied.{action}"[:40],
        detail=(detail or callback.data or "")[:200],
        actor_key=profile.key,
    )
    if not is_manager(profile):
        await stale_button(callback, bot)
        return
    # A new message, like a stale button's answer: a refusal repeated on the same screen is seen too.
    await callback.answer(_("admin.forbidden_toast"))
    await bot.send_message(chat_id_of(callback), _("admin.forbidden"), reply_markup=back_only())


class ButtonGate(BaseMiddleware):
    """On a router's presses: only someone holding one of `roles` reaches its handlers; anyone else is
    refused (`refuse`, audited as `denied.<action>`)."""

    def __init__(self, action: str, roles: frozenset[str]) -> None:
        self.action = action
        self.roles = roles

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        profile: UserProfile = data["profile"]
        if self.roles & profile.roles or not isinstance(event, CallbackQuery):
            return await handler(event, data)
        await refuse(event, data["bot"], data["staff"], profile, self.action)
        return None


async def end_dialog(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """A command that ends whatever dialog the person was in, allowed or not (before the gate)."""
    if data.get("raw_state") is not None:
        state: FSMContext = data["state"]
        await state.clear()
    return await handler(event, data)
