"""The dialog's screens that follow a button or a typed answer alike: on a button the screen it was on is
replaced, after a message a new one is sent."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.services.directory import Directory
from bot.services.events import MAX_PARTICIPANTS, EventService
from bot.services.users import UserProfile
from handlers.staff.events import keyboards as kb
from handlers.staff.events.access import area
from handlers.staff.events.states import EventForm
from handlers.staff.events.texts import summary
from handlers.ui import show

MEASURES_SHOWN = 6


async def reply(target: CallbackQuery | Message, bot: Bot, text: str, markup: InlineKeyboardMarkup) -> None:
    if isinstance(target, CallbackQuery):
        await show(target, bot, text, markup)
    else:
        await target.answer(text, reply_markup=markup)


async def ask_measure(
    target: CallbackQuery | Message,
    bot: Bot,
    events: EventService,
    profile: UserProfile,
    kind: str,
    query: str | None = None,
) -> None:
    """The measures that fit the type (and the words typed), the organisation's first."""
    oblast, _district = area(profile)
    organisation = next((r.organisation_id for r in profile.staff if r.organisation_id), None)
    found = (await events.measures(oblast, kind, query, organisation))[:MEASURES_SHOWN]
    text = _("event.ask_measure") if found else _("event.no_measures")
    await reply(target, bot, text, kb.measures(found))


async def ask_district(
    target: CallbackQuery | Message,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    profile: UserProfile,
    lang: str,
) -> None:
    oblast, own_district = area(profile)
    await state.set_state(EventForm.district)
    place = directory.oblast(oblast)
    districts = list(place.districts) if place else []
    districts.sort(key=lambda d: d.id != own_district)  # the specialist's own district first
    await reply(target, bot, _("event.ask_district"), kb.districts(districts, lang))


async def ask_participants(target: CallbackQuery | Message, bot: Bot) -> None:
    await reply(target, bot, _("event.ask_participants").format(max=MAX_PARTICIPANTS), kb.cancel_only())


async def show_extras(
    target: CallbackQuery | Message, bot: Bot, state: FSMContext, directory: Directory, lang: str
) -> None:
    """The summary so far, with the optional additions and "save"."""
    await state.set_state(EventForm.extras)
    data = await state.get_data()
    text = summary(data, directory, lang) + "\n\n" + _("event.extras_hint")
    await reply(target, bot, text, kb.extras())
