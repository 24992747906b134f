"""Who logs events: specialists and coordinators (the service checks the organisation and area again).

Anyone else pressing an event button gets an alert and an audit entry `denied.event.<action>`; to them
/event is a command that does not exist, as for a citizen (not audited). The dialog's typed answers are not
gated here: handlers/staff_guard.py ends the dialog of someone whose role went."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import Events
from bot.services.staff import Role, StaffService
from bot.services.users import UserProfile

LOGGING_ROLES = frozenset({Role.SPECIALIST.value, Role.COORDINATOR.value})


def area(profile: UserProfile) -> tuple[str, str | None]:
    """The oblast and district (None: the whole oblast) of the person's logging role."""
    role = next(r for r in profile.staff if r.role in LOGGING_ROLES and r.oblast)
    return role.oblast or "", role.district


class EventGate(BaseMiddleware):
    """On the event routers: only someone holding a logging role reaches the handlers."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        profile: UserProfile = data["profile"]
        if LOGGING_ROLES & profile.roles:
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            pressed: Events = data["callback_data"]
            staff: StaffService = data["staff"]
            await staff.audit(profile.id, "denied.event." + pressed.action[:20], actor_key=profile.key)
            await event.answer(_("staff.denied"), show_alert=True)
        elif isinstance(event, Message):
            await event.answer(_("fallback.unknown_command"), reply_markup=keyboards.main_menu())
        return None
