"""Specialists (and coordinators): log a programme event in under a minute, list, correct and withdraw
their own events; coordinators see the events in their area. The common case: type -> measure -> date ->
district -> participants (the one typed number) -> save: six taps.

/event and the buttons are gated to the logging roles (access.py); the service checks the organisation and
area again. An unknown action does not parse (bot.callbacks.EventAction): the fallback router answers it as
a stale button."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from bot.callbacks import EventAction, Events
from handlers.staff.events import dialog, own, typed
from handlers.staff.events.access import EventGate
from handlers.staff.events.states import EventForm

# Where a button is expected; and where text (or at the attachment, a photo or document) is.
BUTTON_STEPS = StateFilter(
    EventForm.kind, EventForm.measure, EventForm.date, EventForm.district, EventForm.extras, EventForm.funding
)
TYPED_STEPS = StateFilter(
    EventForm.typed_date,
    EventForm.participants,
    EventForm.breakdown,
    EventForm.cost,
    EventForm.search,
    EventForm.attachment,
)


def _buttons() -> Router:
    router = Router(name="events.buttons")
    router.callback_query.middleware(EventGate())
    on = router.callback_query.register
    action = Events.filter
    on(dialog.on_start, action(F.action == EventAction.START))
    on(dialog.on_cancel, action(F.action == EventAction.CANCEL))
    on(dialog.on_kind, action(F.action == EventAction.KIND))
    on(dialog.on_search, action(F.action == EventAction.SEARCH))
    on(dialog.on_measure, action(F.action == EventAction.MEASURE))
    on(dialog.on_date, action(F.action == EventAction.DATE))
    on(dialog.on_district, action(F.action == EventAction.DISTRICT))
    on(dialog.on_extra, action(F.action.in_(dialog.EXTRAS)))
    on(dialog.on_funding, action(F.action == EventAction.FUNDING))
    on(dialog.on_save, action(F.action == EventAction.SAVE))
    on(own.on_mine, action(F.action == EventAction.MINE))
    on(own.on_scope, action(F.action == EventAction.SCOPE))
    on(own.on_view, action(F.action == EventAction.VIEW))
    on(own.on_withdraw, action(F.action == EventAction.WITHDRAW))
    on(own.on_withdraw_yes, action(F.action == EventAction.WITHDRAW_YES))
    on(own.on_fix, action(F.action == EventAction.FIX))
    return router


def _typed() -> Router:
    """The dialog's messages: not gated (handlers/staff_guard.py ends the dialog when the role goes)."""
    router = Router(name="events.typed")
    on = router.message.register
    on(typed.on_search, StateFilter(EventForm.search), F.text)
    on(typed.on_typed_date, StateFilter(EventForm.typed_date), F.text)
    on(typed.on_participants, StateFilter(EventForm.participants), F.text)
    on(typed.on_breakdown, StateFilter(EventForm.breakdown), F.text)
    on(typed.on_cost, StateFilter(EventForm.cost), F.text)
    on(typed.on_attachment, StateFilter(EventForm.attachment), F.photo | F.document)
    on(typed.on_button_expected, BUTTON_STEPS)
    on(typed.on_wrong_kind, TYPED_STEPS)
    return router


def create_router() -> Router:
    command = Router(name="events.command")
    command.message.middleware(EventGate())
    command.message.register(dialog.on_event_command, Command("event"))

    router = Router(name="events")
    router.include_routers(command, _buttons(), _typed())
    return router
