"""The reconciliation dialog's states. The class name is part of the stored state ("ReconcileForm:figure"):
a dialog open across a restart finds its handler only if it keeps this name."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class ReconcileForm(StatesGroup):
    figure = State()
    note = State()
