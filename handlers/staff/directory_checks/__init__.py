"""Coordinators keep the "where to get help" directory fresh.

An entry last checked more than a year ago reaches the coordinator of its area (scheduler/freshness.py)
as citizens see it, with three buttons: "Still correct" (checked today), "Correct" (new phones and
address, with the source they were found in; a short dialog) and "Withdraw" (after a confirmation;
citizens stop seeing it at once). Every press is checked again on the server side: the entry must
still be shown and in the person's scope, whatever the button says; a refusal (AccessDenied) or an entry
that cannot be checked (CheckError) is answered here, once for every button.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import EntryCheckAction, EntryChecks
from bot.keyboards import only_menu  # not `keyboards`: that name is this package's own module
from bot.services.directory import CheckError
from handlers.staff.access import Refusals
from handlers.staff.directory_checks import buttons, typed
from handlers.staff.directory_checks.states import EntryFix, in_dialog
from handlers.ui import chat_id_of, show, stale_button

ACTIONS: dict[EntryCheckAction, Callable[..., Awaitable[None]]] = {
    EntryCheckAction.CANCEL: buttons.on_cancel,
    EntryCheckAction.RESTORE: buttons.on_restore,
    EntryCheckAction.OPEN: buttons.on_open,
    EntryCheckAction.STILL_CORRECT: buttons.on_still_correct,
    EntryCheckAction.WITHDRAW: buttons.on_withdraw,
    EntryCheckAction.WITHDRAW_YES: buttons.on_withdraw_yes,
    EntryCheckAction.FIX: buttons.on_fix,
    EntryCheckAction.KEEP: buttons.on_keep,
    EntryCheckAction.NO_PHONE: buttons.on_no_phone,
    EntryCheckAction.NO_ADDRESS: buttons.on_no_address,
    EntryCheckAction.SAVE: buttons.on_save,
}


def _entry(_callback: CallbackQuery, data: dict[str, Any]) -> str:
    return f"entry={data['callback_data'].entry}"[:200]


async def _check_failed(callback: CallbackQuery, data: dict[str, Any], error: CheckError) -> None:
    why = str(error)
    bot: Bot = data["bot"]
    state: FSMContext = data["state"]
    if in_dialog(data.get("raw_state")):
        await state.clear()
    if why == "unknown":
        await stale_button(callback, bot)
    elif why == "gone":
        await callback.answer(_("directory.gone_toast"))
        await bot.send_message(chat_id_of(callback), _("directory.gone"), reply_markup=only_menu())
    else:  # the dialog checked it already; only a change of the rules in between gets here
        await show(callback, bot, _("directory.cancelled"), only_menu())


def create_router() -> Router:
    router = Router(name="directory-checks")
    router.callback_query.middleware(Refusals(detail=_entry, answers={CheckError: _check_failed}))
    for action, handler in ACTIONS.items():
        router.callback_query.register(handler, EntryChecks.filter(F.action == action))
    router.message.register(typed.on_phones, StateFilter(EntryFix.phones), F.text)
    router.message.register(typed.on_address, StateFilter(EntryFix.address), F.text)
    router.message.register(typed.on_source, StateFilter(EntryFix.source), F.text)
    router.message.register(typed.on_confirm_typed, StateFilter(EntryFix.confirm))
    router.message.register(
        typed.on_not_text, StateFilter(EntryFix.phones, EntryFix.address, EntryFix.source)
    )
    return router
