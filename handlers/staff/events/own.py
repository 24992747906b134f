"""The author's own events (list, history, correct, withdraw) and the events in a coordinator's area.

The service lets an author see and change only their own events (AccessDenied otherwise: a stale button)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import Events
from bot.services.directory import Directory
from bot.services.events import EventError, EventService
from bot.services.staff import AccessDenied
from bot.services.users import UserProfile
from handlers.staff.events import keyboards as kb
from handlers.staff.events import texts
from handlers.staff.events.parse import db_id
from handlers.staff.events.states import EventForm
from handlers.staff.events.steps import ask_participants
from handlers.ui import show, stale_button


async def on_mine(callback: CallbackQuery, bot: Bot, profile: UserProfile, events: EventService) -> None:
    items = await events.of_author(profile.staff_id)
    await show(callback, bot, _("event.mine_title") if items else _("event.none"), kb.mine(items))


async def on_scope(
    callback: CallbackQuery,
    bot: Bot,
    profile: UserProfile,
    events: EventService,
    directory: Directory,
    i18n: I18n,
) -> None:
    try:
        items, total = await events.in_scope(profile.staff)
    except AccessDenied:  # a specialist: the area's events are the coordinators'
        await callback.answer(_("staff.denied"), show_alert=True)
        return
    text = texts.in_scope(items, total, directory, i18n.current_locale)
    await show(callback, bot, text, keyboards.only_menu())


async def view_event(
    callback: CallbackQuery,
    bot: Bot,
    profile: UserProfile,
    events: EventService,
    event_id: int,
    alert: str | None = None,
) -> None:
    """The event's history, and (while it counts) correcting and withdrawing it."""
    try:
        await events.draft_of(profile.staff_id, event_id)  # the author's own events only
    except AccessDenied:
        await stale_button(callback, bot)
        return
    history = await events.history(event_id)
    active = history[-1][2].get("status") == "active" if history else False
    markup = kb.event_actions(event_id, active)
    await show(callback, bot, texts.history(event_id, history), markup, alert=alert)


async def on_view(
    callback: CallbackQuery, callback_data: Events, bot: Bot, profile: UserProfile, events: EventService
) -> None:
    event_id = db_id(callback_data.value)
    if event_id is None:
        await stale_button(callback, bot)
        return
    await view_event(callback, bot, profile, events, event_id)


async def on_withdraw(callback: CallbackQuery, callback_data: Events, bot: Bot) -> None:
    """One tap takes an event out of every indicator: asked first."""
    event_id = db_id(callback_data.value)
    if event_id is None:
        await stale_button(callback, bot)
        return
    await show(callback, bot, _("event.withdraw_confirm"), kb.withdraw_confirm(event_id))


async def on_withdraw_yes(
    callback: CallbackQuery, callback_data: Events, bot: Bot, profile: UserProfile, events: EventService
) -> None:
    event_id = db_id(callback_data.value)
    if event_id is None:
        await stale_button(callback, bot)
        return
    try:
        await events.withdraw(profile.staff_id, event_id)
    except AccessDenied:
        await stale_button(callback, bot)
        return
    except EventError:  # the confirmation pressed again: already withdrawn, nothing changes
        await view_event(callback, bot, profile, events, event_id, alert=_("event.already_withdrawn"))
        return
    await view_event(callback, bot, profile, events, event_id)


async def on_fix(
    callback: CallbackQuery,
    callback_data: Events,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    events: EventService,
) -> None:
    """Correcting an event: the dialog again from the participants, with its answers kept."""
    event_id = db_id(callback_data.value)
    if event_id is None:
        await stale_button(callback, bot)
        return
    try:
        draft = await events.draft_of(profile.staff_id, event_id)
    except AccessDenied:
        await stale_button(callback, bot)
        return
    await state.clear()
    await state.set_state(EventForm.participants)
    await state.update_data(correcting=event_id, **EventService.as_dict(draft), kind=draft.event_type)
    await ask_participants(callback, bot)
