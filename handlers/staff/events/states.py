"""The event dialog's states (handlers/staff_guard.py ends them when the logging role goes).

The states' names ("EventForm:kind", ...) are stored with the dialog: the class keeps its name."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class EventForm(StatesGroup):
    kind = State()
    measure = State()
    search = State()  # typing words to find the measure
    date = State()
    typed_date = State()
    district = State()
    participants = State()
    extras = State()  # the summary: add a breakdown, cost, attachment, or save
    breakdown = State()
    cost = State()
    funding = State()
    attachment = State()


def step_of(raw_state: str | None) -> str:
    """The dialog's step ("kind", "measure", ...): a button is taken only at the step that showed it."""
    return (raw_state or "").split(":")[-1]
