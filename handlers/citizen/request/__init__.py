"""Citizen: the anonymous help request dialog -> a case with a code; coordinators are notified.

The essentials first (what happened, where, how urgent, how to reach the person, consent), then a
review screen that sends the request, changes any answer in one tap and offers the optional additions
(needs, a description, sex, age group). Every step has Back, to the previous step with the answers
kept. The answers live in the FSM state (stored encrypted) until the person sends the request, so a
restart of the bot in the middle does not lose them.

Each step takes only its own buttons (the state and the step must match); any other button of the dialog
is a stale button, and an unknown step does not parse (bot.callbacks.RequestAction), so the fallback
router answers it the same way. No role gate: anyone may ask for help.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter

from bot.callbacks import Menu, MenuItem, RequestAction, RequestStep
from handlers.citizen.request import additions, essentials, navigation, place, sending
from handlers.citizen.request.states import RequestForm


def _step(action: RequestAction) -> CallbackQueryFilter:
    return RequestStep.filter(F.step == action)


def create_router() -> Router:
    router = Router(name="citizen-request")
    on = router.callback_query.register
    on(navigation.on_start, Menu.filter(F.to == MenuItem.REQUEST))
    on(navigation.on_cancel, _step(RequestAction.CANCEL))
    on(navigation.on_back, StateFilter(RequestForm), _step(RequestAction.BACK))
    on(navigation.on_edit, StateFilter(RequestForm.review), _step(RequestAction.EDIT))
    on(essentials.on_situation, StateFilter(RequestForm.situation), _step(RequestAction.SITUATION))
    on(place.on_oblast, StateFilter(RequestForm.oblast, RequestForm.district), _step(RequestAction.OBLAST))
    on(place.on_district, StateFilter(RequestForm.district), _step(RequestAction.DISTRICT))
    on(place.on_community, StateFilter(RequestForm.community), _step(RequestAction.COMMUNITY))
    on(essentials.on_urgency, StateFilter(RequestForm.urgency), _step(RequestAction.URGENCY))
    on(essentials.on_contact, StateFilter(RequestForm.contact), _step(RequestAction.CONTACT))
    router.message.register(essentials.on_phone, StateFilter(RequestForm.phone), F.text)
    on(essentials.on_phone_kept, StateFilter(RequestForm.phone), _step(RequestAction.PHONE_KEEP))
    on(essentials.on_consent, StateFilter(RequestForm.consent), _step(RequestAction.CONSENT))
    on(additions.on_need, StateFilter(RequestForm.needs), _step(RequestAction.NEED))
    on(additions.on_needs_done, StateFilter(RequestForm.needs), _step(RequestAction.NEEDS_DONE))
    router.message.register(additions.on_description, StateFilter(RequestForm.description), F.text)
    on(
        additions.on_description_cleared,
        StateFilter(RequestForm.description),
        _step(RequestAction.DESCRIPTION_CLEAR),
    )
    on(additions.on_sex, StateFilter(RequestForm.sex), _step(RequestAction.SEX))
    on(additions.on_age, StateFilter(RequestForm.age), _step(RequestAction.AGE))
    on(sending.on_send, StateFilter(RequestForm.review), _step(RequestAction.SEND))
    # Anything but the expected answer while the dialog runs: say what is expected, ask again.
    router.message.register(navigation.on_not_text, StateFilter(RequestForm.description, RequestForm.phone))
    router.message.register(navigation.on_button_expected, StateFilter(RequestForm))
    on(navigation.on_stale, RequestStep.filter())
    return router
