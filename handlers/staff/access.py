"""A staff flow's gate and its refusals.

`gate`/`RoleGate`: only someone holding one of the flow's roles reaches its handlers. `RoleRequired`: the
same, refused as the services refuse (AccessDenied), for a flow whose refusals name the action pressed.
`Refusals`: what a flow's handlers or services refuse, audited and answered once for every handler.

Installed on a router as inner middlewares, so they run only for the updates that router's filters took:
another flow's buttons are not their business. The services still check role and scope on every action (a
role can go between the gate and the rule)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiogram import BaseMiddleware, Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.services.staff import AccessDenied, StaffService
from bot.services.users import UserProfile
from handlers.ui import chat_id_of

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# How a flow answers one kind of error of its own: (the update, the handler's data, the error).
Answer = Callable[[Any, dict[str, Any], Any], Awaitable[None]]


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


class RoleRequired(BaseMiddleware):
    """Lets through the people holding one of `roles`; for anyone else, raises what `denial` makes of the
    button pressed (an AccessDenied naming the action), for the `Refusals` around it to answer."""

    def __init__(self, roles: Iterable[str], denial: Callable[[Any], AccessDenied]) -> None:
        self.roles = frozenset(roles)
        self.denial = denial

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        profile: UserProfile = data["profile"]
        if self.roles & profile.roles:
            return await handler(event, data)
        raise self.denial(data.get("callback_data"))


class Refusals(BaseMiddleware):
    """Answers, once for all of a flow's handlers, what they or the services refused.

    AccessDenied is audited (`denied.<what was refused>`, with `detail` of the update if given; not twice if
    the service wrote it) and answered: under a button with `denied` in an alert, followed by the menu as a
    message when `then_menu`; a typed message ends the dialog with the menu. Each error type in `answers`
    (the first that matches) gets its own answer; anything else goes on to the error handler."""

    def __init__(
        self,
        denied: str = "staff.denied",
        *,
        then_menu: bool = False,
        detail: Callable[[Any, dict[str, Any]], str] | None = None,
        answers: Mapping[type[Exception], Answer] | None = None,
    ) -> None:
        self.denied = denied
        self.then_menu = then_menu
        self.detail = detail
        self.answers = dict(answers or {})

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except AccessDenied as denial:
            await self.refuse(event, data, denial)
        except tuple(self.answers) as error:
            answer = next(a for kind, a in self.answers.items() if isinstance(error, kind))
            await answer(event, data, error)
        return None

    async def refuse(self, event: TelegramObject, data: dict[str, Any], denial: AccessDenied) -> None:
        profile: UserProfile = data["profile"]
        staff: StaffService = data["staff"]
        detail = self.detail(event, data) if self.detail else None
        await staff.record_denial(profile.id, denial, detail, actor_key=profile.key)
        menu = keyboards.menu_for(profile.is_staff)
        if isinstance(event, CallbackQuery):
            await event.answer(_(self.denied), show_alert=True)
            if self.then_menu:
                bot: Bot = data["bot"]
                await bot.send_message(chat_id_of(event), _("staff.denied_text"), reply_markup=menu)
        elif isinstance(event, Message):
            state: FSMContext = data["state"]
            await state.clear()
            await event.answer(_("staff.denied_text"), reply_markup=menu)


async def alert(callback: CallbackQuery, _data: dict[str, Any], error: Exception) -> None:
    """A refusal whose message is its text's key, said in an alert under the button pressed."""
    await callback.answer(_(str(error)), show_alert=True)
