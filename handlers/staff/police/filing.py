"""A specialist files the month for their organisation: month -> signals (each: kind -> exploitation ->
district -> description typed) -> file them, or "nothing detected". A month filed already is amended (its
signals are added to it).

Every button here is for a specialist of an organisation (`reporting_only`, access.py); the steps of a
signal are taken only while the draft is open (SignalForm.choosing), anything else is a stale button."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards, render
from bot.callbacks import PoliceReports
from bot.keyboards import WHOLE
from bot.services.directory import Directory
from bot.services.police_reports import (
    DESCRIPTION_LIMIT,
    EXPLOITATION_TYPES,
    SIGNAL_KINDS,
    PoliceReportService,
    Signal,
    month_key,
    parse_month,
    previous_month,
)
from bot.services.staff import StaffRole
from bot.services.users import UserProfile
from handlers.staff.police import keyboards as kb
from handlers.staff.police.states import SignalForm
from handlers.ui import show, stale_button


def draft_view(data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    """The month's draft (the dialog's data): its signals so far, and what can be done with it."""
    signals = data.get("signals", [])
    lines = [_("police.draft_title").format(month=render.month(data["month"]))]
    lines += [f"{i}. {_(f'signal.{s[0]}')}; {_(f'exploitation.{s[1]}')}" for i, s in enumerate(signals, 1)]
    return "\n".join(lines), kb.draft(bool(signals), bool(data.get("filed")))


def _drafting(raw_state: str | None) -> bool:
    return raw_state == SignalForm.choosing.state


async def on_start(callback: CallbackQuery, bot: Bot, state: FSMContext, police: PoliceReportService) -> None:
    """Last month or this one."""
    await state.clear()
    today = police.today()
    await show(callback, bot, _("police.choose_month"), kb.months(previous_month(today), month_key(today)))


async def on_month(
    callback: CallbackQuery,
    callback_data: PoliceReports,
    bot: Bot,
    state: FSMContext,
    police: PoliceReportService,
    reporting: StaffRole,
) -> None:
    month = callback_data.value
    if parse_month(month) != month:
        await stale_button(callback, bot)
        return
    assert reporting.organisation_id is not None
    filed = await police.versions(reporting.organisation_id, month) > 0
    await state.set_state(SignalForm.choosing)
    await state.set_data({"month": month, "signals": [], "filed": filed})
    text, markup = draft_view(await state.get_data())
    note = _("police.already_filed_note") if filed else _("police.file_intro")
    await show(callback, bot, note + "\n\n" + text, markup)


async def on_cancel(callback: CallbackQuery, bot: Bot, state: FSMContext) -> None:
    await state.clear()
    await show(callback, bot, _("event.cancelled"), keyboards.menu_for(True))


async def on_signal(callback: CallbackQuery, bot: Bot, raw_state: str | None) -> None:
    if not _drafting(raw_state):
        await stale_button(callback, bot)
        return
    await show(callback, bot, _("police.ask_kind"), kb.kinds())


async def on_kind(
    callback: CallbackQuery, callback_data: PoliceReports, bot: Bot, state: FSMContext, raw_state: str | None
) -> None:
    if not _drafting(raw_state) or callback_data.value not in SIGNAL_KINDS:
        await stale_button(callback, bot)
        return
    await state.update_data(kind=callback_data.value)
    await show(callback, bot, _("police.ask_exploitation"), kb.exploitation())


async def on_exploitation(
    callback: CallbackQuery,
    callback_data: PoliceReports,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
    raw_state: str | None,
    reporting: StaffRole,
) -> None:
    if not _drafting(raw_state) or callback_data.value not in EXPLOITATION_TYPES:
        await stale_button(callback, bot)
        return
    await state.update_data(exploitation=callback_data.value)
    place = directory.oblast(reporting.oblast or "")
    markup = kb.districts(place.districts if place else (), i18n.current_locale)
    await show(callback, bot, _("police.ask_district"), markup)


async def on_district(
    callback: CallbackQuery,
    callback_data: PoliceReports,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    raw_state: str | None,
) -> None:
    chosen = callback_data.value
    known = chosen == WHOLE or directory.district(chosen) is not None
    if not _drafting(raw_state) or not known or not {"kind", "exploitation"} <= set(await state.get_data()):
        await stale_button(callback, bot)
        return
    await state.update_data(district=None if chosen == WHOLE else chosen)
    await state.set_state(SignalForm.description)
    await show(callback, bot, _("police.ask_description").format(limit=DESCRIPTION_LIMIT), kb.cancel_only())


async def on_file(
    callback: CallbackQuery,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    police: PoliceReportService,
    raw_state: str | None,
) -> None:
    """The draft's signals (none: "nothing detected") filed, or added to the month filed already."""
    if not _drafting(raw_state):
        await stale_button(callback, bot)
        return
    data = await state.get_data()
    signals = [Signal(k, e, d, t) for k, e, d, t in data.get("signals", [])]
    if data.get("filed"):
        await police.amend(profile.staff_id, profile.staff, data["month"], signals)
    else:
        await police.file(profile.staff_id, profile.staff, data["month"], signals)
    await state.clear()
    key = "police.filed_nil" if not signals else "police.filed"
    text = _(key).format(month=render.month(data["month"]), count=len(signals))
    await show(callback, bot, text, keyboards.menu_for(True))


async def on_description(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if not text or len(text) > DESCRIPTION_LIMIT:
        await message.answer(
            _("police.description_length").format(limit=DESCRIPTION_LIMIT, length=len(text)),
            reply_markup=kb.cancel_only(),
        )
        return
    data = await state.get_data()
    signals = [*data.get("signals", []), [data["kind"], data["exploitation"], data.get("district"), text]]
    await state.update_data(signals=signals)
    await state.set_state(SignalForm.choosing)
    view, markup = draft_view(await state.get_data())
    await message.answer(view, reply_markup=markup)


async def on_other(message: Message) -> None:
    """Anything but the description's text: the draft is worked with buttons."""
    await message.answer(_("event.use_buttons"), reply_markup=kb.cancel_only())
