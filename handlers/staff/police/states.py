"""The filing dialog's states (handlers/staff_guard.py ends them when the specialist role goes).

The states' names ("SignalForm:choosing", ...) are stored with the dialog: the class keeps its name."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class SignalForm(StatesGroup):
    choosing = State()  # the month's draft: add a signal, file it, or "nothing detected"
    description = State()  # a signal's description, typed
