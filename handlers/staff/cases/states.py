"""A coordinator typing on a case. The class name is part of the stored state ("StaffWriting:message"): a
dialog open when the bot is updated goes on."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class StaffWriting(StatesGroup):
    message = State()  # to the person who asked
    reason = State()  # break-glass: the reason, typed
