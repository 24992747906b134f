"""The admin's dialog states (handlers/staff_guard.py ends them when the admin role goes)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class AddOrganisation(StatesGroup):
    name = State()
    place = State()  # name given; kind and place are chosen with buttons


class LetterUpload(StatesGroup):
    file = State()  # the oblast chosen; its new letter template (a DOCX) awaited
