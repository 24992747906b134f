"""Quarterly reconciliation with the police (Kharkiv task 2, measure 10): the police liaison and the
regional coordinator each enter their figures, see the two sides lined up with every discrepancy
marked, correct or explain, and confirm. The service decides; this router asks and shows.

A refusal (AccessDenied) or what a quarter does not allow (ReconciliationError) is answered here, once for
every button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ReconciliationAction, Reconciliations
from bot.keyboards import back_to_menu_row, markup
from bot.services.reconciliation import ReconciliationError
from handlers.staff.access import Refusals
from handlers.staff.reconciliation import handlers
from handlers.staff.reconciliation.keyboards import step
from handlers.staff.reconciliation.states import ReconcileForm

ACTIONS: dict[ReconciliationAction, Callable[..., Awaitable[None]]] = {
    ReconciliationAction.VIEW: handlers.on_view,
    ReconciliationAction.HISTORY: handlers.on_history,
    ReconciliationAction.ENTER: handlers.on_enter,
    ReconciliationAction.EXPLAIN: handlers.on_explain,
    ReconciliationAction.CANCEL: handlers.on_view,  # back to the quarter, the dialog ended
    ReconciliationAction.CONFIRM: handlers.on_confirm,
    ReconciliationAction.KEEP: handlers.on_keep,
    ReconciliationAction.SAVE: handlers.on_save,
}


async def _not_allowed(callback: CallbackQuery, data: dict[str, Any], error: ReconciliationError) -> None:
    """What the quarter does not allow: the dialog ends, the quarter is one tap away."""
    state: FSMContext = data["state"]
    bot: Bot = data["bot"]
    await state.clear()
    await callback.answer()
    back = [step(_("reconcile.open"), ReconciliationAction.VIEW, data["callback_data"].quarter)]
    await bot.send_message(
        callback.from_user.id, _(str(error)), reply_markup=markup(back, back_to_menu_row())
    )


def create_router() -> Router:
    router = Router(name="reconciliation")
    router.callback_query.middleware(Refusals(answers={ReconciliationError: _not_allowed}))
    for action, handler in ACTIONS.items():
        router.callback_query.register(handler, Reconciliations.filter(F.action == action))
    router.message.register(handlers.on_figure, StateFilter(ReconcileForm.figure), F.text)
    router.message.register(handlers.on_note, StateFilter(ReconcileForm.note), F.text)
    router.message.register(handlers.on_other, StateFilter(ReconcileForm.figure, ReconcileForm.note))
    return router
