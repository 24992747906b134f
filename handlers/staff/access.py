"""A staff flow's gate: only someone holding one of the flow's roles reaches its handlers.

Installed on a router as an inner middleware, so it runs only for the updates that router's filters took:
another flow's buttons are not its business. A refusal is audited and answered in the flow's own words;
the services still check role and scope on every action (a role can go between the gate and the rule)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.services.staff import StaffService
from bot.services.users import UserProfile


class RoleGate(BaseMiddleware):
    """Lets through the people holding one of `roles`; anyone else gets `denied` (an alert under a
    button, a message with the menu otherwise) and an audit entry `denied.<flow>`."""

    def __init__(self, flow: str, roles: Iterable[str], denied: str) -> None:
        self.flow = flow
        self.roles = frozenset(roles)
        self.denied = denied

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        profile: UserProfile = data["profile"]
        if self.roles & profile.roles:
            return await handler(event, data)
        staff: StaffService = data["staff"]
        await staff.audit(profile.id, f"denied.{self.flow}"[:40], actor_key=profile.key)
        if isinstance(event, CallbackQuery):
            await event.answer(_(self.denied), show_alert=True)
        elif isinstance(event, Message):
            await event.answer(_(self.denied), reply_markup=keyboards.menu_for(profile.is_staff))
        return None


def gate(router: Router, flow: str, roles: Iterable[str], denied: str) -> Router:
    """`router`, with its messages and presses gated to `roles`."""
    router.message.middleware(RoleGate(flow, roles, denied))
    router.callback_query.middleware(RoleGate(flow, roles, denied))
    return router
