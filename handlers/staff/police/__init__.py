"""Monthly notifications to the police: specialists file "nothing detected" or signals for their
organisation; the police liaison acknowledges the digest and gets past months' again; coordinators see who
filed.

Three roles, each checked by the service (access.py answers its refusals, audited); an unknown action
does not parse (bot.callbacks.PoliceAction): the fallback router answers it as a stale button."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter

from bot.callbacks import PoliceAction, PoliceReports
from handlers.staff.police import filing, oversight
from handlers.staff.police.access import answer_refusals, reporting_only
from handlers.staff.police.states import SignalForm


def _oversight() -> Router:
    router = Router(name="police.oversight")
    action = PoliceReports.filter
    router.callback_query.register(oversight.on_acknowledge, action(F.action == PoliceAction.ACK))
    router.callback_query.register(oversight.on_compliance, action(F.action == PoliceAction.COMPLIANCE))
    router.callback_query.register(oversight.on_digests, action(F.action == PoliceAction.DIGESTS))
    router.callback_query.register(oversight.on_digest, action(F.action == PoliceAction.DIGEST))
    return router


def _filing() -> Router:
    router = Router(name="police.filing")
    router.callback_query.middleware(reporting_only)
    on = router.callback_query.register
    action = PoliceReports.filter
    on(filing.on_start, action(F.action == PoliceAction.START))
    on(filing.on_month, action(F.action == PoliceAction.MONTH))
    on(filing.on_cancel, action(F.action == PoliceAction.CANCEL))
    on(filing.on_signal, action(F.action == PoliceAction.SIGNAL))
    on(filing.on_kind, action(F.action == PoliceAction.KIND))
    on(filing.on_exploitation, action(F.action == PoliceAction.EXPLOITATION))
    on(filing.on_district, action(F.action == PoliceAction.DISTRICT))
    on(filing.on_file, action(F.action.in_({PoliceAction.NIL, PoliceAction.SUBMIT})))
    return router


def _typed() -> Router:
    """The dialog's messages (handlers/staff_guard.py ends the dialog when the specialist role goes)."""
    router = Router(name="police.typed")
    router.message.register(filing.on_description, StateFilter(SignalForm.description), F.text)
    router.message.register(filing.on_other, StateFilter(SignalForm.description, SignalForm.choosing))
    return router


def create_router() -> Router:
    buttons = Router(name="police.buttons")
    buttons.callback_query.middleware(answer_refusals)  # around the two below: the service's refusals
    buttons.include_routers(_oversight(), _filing())

    router = Router(name="police")
    router.include_routers(buttons, _typed())
    return router
