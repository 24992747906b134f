"""Logging an event, the steps answered in a message: the words to find a measure, another date, the
participants, the breakdown, the cost, the attachment; and the answer to a message where a button (or
something else) was expected."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.services.directory import Directory
from bot.services.events import MAX_PARTICIPANTS, EventError, EventService, breakdown_fits
from bot.services.users import UserProfile
from handlers.staff.events import keyboards as kb
from handlers.staff.events.parse import parse_breakdown, parse_cost, parse_count, parse_date
from handlers.staff.events.states import EventForm
from handlers.staff.events.steps import ask_district, ask_measure, show_extras

MAX_ATTACHMENT = 20 * 1024 * 1024  # what a bot can download from Telegram


async def on_search(
    message: Message, bot: Bot, state: FSMContext, profile: UserProfile, events: EventService
) -> None:
    data = await state.get_data()
    await state.set_state(EventForm.measure)
    await ask_measure(message, bot, events, profile, data.get("kind", ""), (message.text or "")[:100])


async def on_typed_date(
    message: Message,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    events: EventService,
    directory: Directory,
    i18n: I18n,
) -> None:
    held_on = parse_date(message.text or "")
    if held_on is None:
        await message.answer(_("event.bad_date"), reply_markup=kb.cancel_only())
        return
    try:
        # Refused here, where the date can still be typed again, not at the end.
        await events.check_held_on(int((await state.get_data()).get("measure_id", 0)), held_on)
    except EventError as refusal:
        await message.answer(_(str(refusal)), reply_markup=kb.cancel_only())
        return
    await state.update_data(held_on=held_on.isoformat())
    await ask_district(message, bot, state, directory, profile, i18n.current_locale)


async def on_participants(
    message: Message, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
) -> None:
    count = parse_count(message.text or "")
    if count is None or not 0 <= count <= MAX_PARTICIPANTS:
        await message.answer(
            _("event.participants_bad").format(max=MAX_PARTICIPANTS), reply_markup=kb.cancel_only()
        )
        return
    await state.update_data(participants=count)
    await show_extras(message, bot, state, directory, i18n.current_locale)


async def on_breakdown(
    message: Message, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
) -> None:
    breakdown = parse_breakdown(message.text or "")
    data = await state.get_data()
    if breakdown is None or not breakdown_fits(breakdown, int(data.get("participants", 0))):
        await message.answer(
            _("event.bad_breakdown").format(total=data.get("participants", 0)), reply_markup=kb.cancel_only()
        )
        return
    await state.update_data(breakdown=breakdown)
    await show_extras(message, bot, state, directory, i18n.current_locale)


async def on_cost(message: Message, state: FSMContext) -> None:
    cost = parse_cost(message.text or "")
    if cost is None:
        await message.answer(_("event.bad_cost"), reply_markup=kb.cancel_only())
        return
    await state.update_data(cost=cost)
    await state.set_state(EventForm.funding)
    await message.answer(_("event.ask_funding"), reply_markup=kb.funding())


async def on_attachment(
    message: Message, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
) -> None:
    if message.document is not None and (message.document.file_size or 0) > MAX_ATTACHMENT:
        await message.answer(_("event.attachment_too_big"), reply_markup=kb.cancel_only())
        return
    if message.photo:
        await state.update_data(attachment_file_id=message.photo[-1].file_id, attachment_kind="photo")
    elif message.document is not None:
        await state.update_data(attachment_file_id=message.document.file_id, attachment_kind="document")
    await show_extras(message, bot, state, directory, i18n.current_locale)


async def on_button_expected(message: Message) -> None:
    await message.answer(_("event.use_buttons"), reply_markup=kb.cancel_only())


async def on_wrong_kind(message: Message, raw_state: str | None) -> None:
    """Not text where text was asked for (or, at the attachment, not a photo or document)."""
    key = "event.photo_or_document" if (raw_state or "").endswith("attachment") else "event.text_expected"
    await message.answer(_(key), reply_markup=kb.cancel_only())
