"""Coordinators' case work: take, refer, move on and close the cases in their scope, write to the person
who asked; an oblast-wide coordinator may also hand a case over or open it by break-glass.

Only a coordinator reaches these buttons (anyone else is refused as `denied.case.<action>`, audited, and
shown the menu); the service checks scope and ownership again on every action, and its refusals
(AccessDenied) and the moves it does not allow (CaseError) are answered here, once for every button. An
action no keyboard of ours makes does not parse (bot.callbacks.CaseAction): the fallback router answers it
as a stale button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import F, Router
from aiogram.filters import StateFilter

from bot.callbacks import CaseAction, Cases
from bot.services.cases import CaseError
from bot.services.staff import AccessDenied, Role
from handlers.staff.access import Refusals, RoleRequired, alert
from handlers.staff.cases import oversight, work, writing
from handlers.staff.cases.states import StaffWriting

CASE_ROLES = {Role.COORDINATOR.value}

ACTIONS: dict[CaseAction, Callable[..., Awaitable[None]]] = {
    CaseAction.LIST: work.on_list,
    CaseAction.OPEN: work.on_open,
    CaseAction.ACCEPT: work.on_accept,
    CaseAction.REFER: work.on_refer,
    CaseAction.REFER_TO: work.on_refer_to,
    CaseAction.PROGRESS: work.on_progress,
    CaseAction.CLOSE: work.on_close,
    CaseAction.CLOSE_WITH: work.on_close_with,
    CaseAction.VICTIM_STATUS: work.on_victim_status,
    CaseAction.VICTIM_STATUS_SET: work.on_victim_status_set,
    CaseAction.WRITE: writing.on_write,
    CaseAction.BREAK_GLASS: oversight.on_break_glass,
    CaseAction.REASSIGN: oversight.on_reassign,
    CaseAction.REASSIGN_TO: oversight.on_reassign_to,
}


def _denied(pressed: Cases) -> AccessDenied:
    return AccessDenied(f"case.{pressed.action}", pressed.id or None)


def create_router() -> Router:
    router = Router(name="staff-cases")
    router.callback_query.middleware(Refusals(then_menu=True, answers={CaseError: alert}))
    router.callback_query.middleware(RoleRequired(CASE_ROLES, _denied))
    for action, handler in ACTIONS.items():
        router.callback_query.register(handler, Cases.filter(F.action == action))

    router.message.middleware(Refusals())
    not_a_command = ~F.text.startswith("/")
    router.message.register(
        oversight.on_break_glass_reason, StateFilter(StaffWriting.reason), F.text & not_a_command
    )
    router.message.register(oversight.on_break_glass_other, StateFilter(StaffWriting.reason), not_a_command)
    router.message.register(
        writing.on_staff_message, StateFilter(StaffWriting.message), (F.text & not_a_command) | F.photo
    )
    router.message.register(writing.on_staff_other, StateFilter(StaffWriting.message), not_a_command)
    return router
