"""The dialog states of "my request". The class name is part of each state's stored name (`MyCase:writing`):
kept, so that a dialog stored before a deploy goes on after it."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class MyCase(StatesGroup):
    code = State()  # the person is asked for a request's code
    writing = State()  # what the person writes goes to the request (data: case_id)
