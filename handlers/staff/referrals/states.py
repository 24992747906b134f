"""Writing on a referral. The class name is part of the stored state ("ReferralWriting:to_organisation"): a
dialog open when the bot is updated goes on."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class ReferralWriting(StatesGroup):
    """The case's owner to the organisation, or the organisation back."""

    to_organisation = State()
    to_coordinator = State()
