"""The dialog states of the help request. The class name is part of each state's stored name
(`RequestForm:phone`): kept, so that a request half answered before a deploy goes on after it."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class RequestForm(StatesGroup):
    situation = State()
    oblast = State()
    district = State()
    community = State()
    urgency = State()
    contact = State()
    phone = State()
    consent = State()
    review = State()
    # optional additions, reached from the review and back to it
    needs = State()
    description = State()
    sex = State()
    age = State()
