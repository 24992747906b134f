"""Logging an event, the steps taken with buttons: /event (or the workspace's button) -> type -> measure ->
date -> district, then (after the participants are typed) the optional additions and "save".

A button is taken only at the step that showed it (`step_of`); anything else is a stale button."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import EventAction, Events
from bot.keyboards import WHOLE
from bot.services.catalogue import EventType
from bot.services.directory import Directory
from bot.services.events import FUNDING_SOURCES, EventDraft, EventError, EventService
from bot.services.staff import AccessDenied
from bot.services.users import UserProfile
from handlers.staff.events import keyboards as kb
from handlers.staff.events.access import area
from handlers.staff.events.parse import db_id
from handlers.staff.events.states import EventForm, step_of
from handlers.staff.events.steps import ask_district, ask_measure, ask_participants, show_extras
from handlers.staff.events.texts import summary
from handlers.ui import show, stale_button

EVENT_TYPES = frozenset(t.value for t in EventType)
DAYS_AGO = ("0", "1")  # today, yesterday
TYPED = "other"  # another date, typed
# The optional additions asked for in a message: the state that takes it and the question.
EXTRAS: dict[EventAction, tuple[State, str]] = {
    EventAction.BREAKDOWN: (EventForm.breakdown, "event.ask_breakdown"),
    EventAction.COST: (EventForm.cost, "event.ask_cost"),
    EventAction.ATTACH: (EventForm.attachment, "event.ask_attachment"),
}


async def on_event_command(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(EventForm.kind)
    await message.answer(_("event.ask_type"), reply_markup=kb.kinds())


async def on_start(callback: CallbackQuery, bot: Bot, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(EventForm.kind)
    await show(callback, bot, _("event.ask_type"), kb.kinds())


async def on_cancel(callback: CallbackQuery, bot: Bot, state: FSMContext) -> None:
    await state.clear()
    await show(callback, bot, _("event.cancelled"), keyboards.menu_for(True))


async def on_kind(
    callback: CallbackQuery,
    callback_data: Events,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    events: EventService,
    raw_state: str | None,
) -> None:
    kind = callback_data.value
    if step_of(raw_state) != "kind" or kind not in EVENT_TYPES:
        await stale_button(callback, bot)
        return
    await state.update_data(kind=kind)
    await state.set_state(EventForm.measure)
    await ask_measure(callback, bot, events, profile, kind)


async def on_search(callback: CallbackQuery, bot: Bot, state: FSMContext, raw_state: str | None) -> None:
    if step_of(raw_state) not in ("measure", "search"):
        await stale_button(callback, bot)
        return
    await state.set_state(EventForm.search)
    await show(callback, bot, _("event.ask_search"), kb.cancel_only())


async def on_measure(
    callback: CallbackQuery,
    callback_data: Events,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    events: EventService,
    raw_state: str | None,
) -> None:
    measure_id = db_id(callback_data.value)
    if step_of(raw_state) not in ("measure", "search") or measure_id is None:
        await stale_button(callback, bot)
        return
    oblast, _district = area(profile)
    measure = next((m for m in await events.measures(oblast) if m.id == measure_id), None)
    if measure is None:
        await stale_button(callback, bot)
        return
    title = f"{measure.task_number}.{measure.number} {measure.title}"[:200]
    await state.update_data(measure_id=measure.id, measure_title=title)
    await state.set_state(EventForm.date)
    await show(callback, bot, _("event.ask_date"), kb.dates())


async def on_date(
    callback: CallbackQuery,
    callback_data: Events,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    events: EventService,
    directory: Directory,
    i18n: I18n,
    raw_state: str | None,
) -> None:
    chosen = callback_data.value
    if step_of(raw_state) != "date" or chosen not in (*DAYS_AGO, TYPED):
        await stale_button(callback, bot)
        return
    if chosen == TYPED:
        await state.set_state(EventForm.typed_date)
        await show(callback, bot, _("event.ask_typed_date"), kb.cancel_only())
        return
    held_on = events.today() - timedelta(days=int(chosen))
    await state.update_data(held_on=held_on.isoformat())
    await ask_district(callback, bot, state, directory, profile, i18n.current_locale)


def _in_oblast(directory: Directory, district_id: str, oblast: str) -> bool:
    """The whole oblast, or one of its districts."""
    if district_id == WHOLE:
        return True
    district = directory.district(district_id)
    return district is not None and (directory.oblast_of(district_id) or directory.oblasts[0]).id == oblast


async def on_district(
    callback: CallbackQuery,
    callback_data: Events,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    directory: Directory,
    raw_state: str | None,
) -> None:
    chosen = callback_data.value
    if step_of(raw_state) != "district" or not _in_oblast(directory, chosen, area(profile)[0]):
        await stale_button(callback, bot)
        return
    await state.update_data(district=None if chosen == WHOLE else chosen)
    await state.set_state(EventForm.participants)
    await ask_participants(callback, bot)


async def on_extra(
    callback: CallbackQuery, callback_data: Events, bot: Bot, state: FSMContext, raw_state: str | None
) -> None:
    """Breakdown, cost or attachment: asked for in a message."""
    if step_of(raw_state) != "extras":
        await stale_button(callback, bot)
        return
    asked, question = EXTRAS[callback_data.action]
    await state.set_state(asked)
    await show(callback, bot, _(question), kb.cancel_only())


async def on_funding(
    callback: CallbackQuery,
    callback_data: Events,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
    raw_state: str | None,
) -> None:
    if step_of(raw_state) != "funding" or callback_data.value not in FUNDING_SOURCES:
        await stale_button(callback, bot)
        return
    await state.update_data(funding_source=callback_data.value)
    await show_extras(callback, bot, state, directory, i18n.current_locale)


def draft_of(data: dict[str, Any]) -> EventDraft:
    """The event as the dialog's data has it."""
    return EventDraft(
        measure_id=int(data["measure_id"]),
        event_type=data["kind"],
        held_on=date.fromisoformat(data["held_on"]),
        district=data.get("district"),
        participants=int(data["participants"]),
        breakdown={k: int(n) for k, n in (data.get("breakdown") or {}).items()},
        cost=data.get("cost"),
        funding_source=data.get("funding_source"),
        attachment_file_id=data.get("attachment_file_id"),
        attachment_kind=data.get("attachment_kind"),
    )


async def _log_or_correct(events: EventService, profile: UserProfile, data: dict[str, Any]) -> int:
    """A new event, or the correction of the one being corrected: the event's id."""
    draft = draft_of(data)
    if data.get("correcting"):
        await events.correct(profile.staff_id, profile.staff, int(data["correcting"]), draft)
        return int(data["correcting"])
    return await events.log(profile.staff_id, profile.staff, draft)


async def on_save(
    callback: CallbackQuery,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    events: EventService,
    directory: Directory,
    i18n: I18n,
    raw_state: str | None,
) -> None:
    if step_of(raw_state) != "extras":
        await stale_button(callback, bot)
        return
    data = await state.get_data()
    try:
        event_id = await _log_or_correct(events, profile, data)
    except EventError as exc:
        await show(callback, bot, _(str(exc)), kb.extras())
        return
    except AccessDenied:
        await state.clear()
        await stale_button(callback, bot)
        return
    await state.clear()
    text = _("event.saved") + "\n\n" + summary(data, directory, i18n.current_locale)
    await show(callback, bot, text, kb.saved(event_id))
