"""Correcting a directory entry. The class name is part of the stored state ("EntryFix:phones"): a dialog
open across a restart finds its handler only if it keeps this name."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class EntryFix(StatesGroup):
    phones = State()
    address = State()
    source = State()
    confirm = State()


def in_dialog(raw_state: str | None) -> bool:
    return raw_state in {s.state for s in EntryFix.__all_states__}
