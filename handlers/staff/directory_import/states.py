"""Importing directory entries. The class name is part of the stored state ("DirectoryImportForm:file")."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class DirectoryImportForm(StatesGroup):
    file = State()  # the CSV awaited
    confirm = State()  # the plan shown; the file's text is in the dialog data until confirmed or cancelled
