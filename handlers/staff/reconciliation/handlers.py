"""One handler per reconciliation action, and the figure and note typed in its dialog. Who may act and
what a quarter allows is the service's to decide; refusals are answered by the router's middleware
(handlers/staff/reconciliation/__init__.py)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import Reconciliations
from bot.keyboards import markup
from bot.notices import reconciliation as notices
from bot.notices.delivery import compose_with, tell
from bot.notices.outgoing import Queue
from bot.services.reconciliation import (
    FIELDS,
    MAX_FIGURE,
    NOTE_LIMIT,
    QuarterView,
    ReconciliationError,
    ReconciliationService,
    other_side,
    reconciling_oblast,
    side_of,
    speaks_for,
)
from bot.services.staff import AccessDenied, StaffRole, StaffService
from bot.services.users import UserProfile, UserService
from handlers.staff.reconciliation import keyboards as kb
from handlers.staff.reconciliation.states import ReconcileForm
from handlers.ui import show, stale_button

NUMBER = re.compile(r"^\d[\d\s]{0,8}$")  # "1 200" is a number people type
Screen = Callable[[str, InlineKeyboardMarkup], Awaitable[Any]]


def _where(
    profile: UserProfile, reconciliation: ReconciliationService, data: Reconciliations
) -> tuple[str, str, str]:
    """(the oblast the person reconciles, their side, the quarter: the one due unless a button names one)."""
    oblast = reconciling_oblast(profile.staff)
    return oblast, side_of(profile.staff, oblast), data.quarter or reconciliation.due().quarter


async def _tell_other_side(
    outbox: Queue,
    users: UserService,
    staff: StaffService,
    i18n: I18n,
    reconciliation: ReconciliationService,
    view: QuarterView,
    side: str,
    event: str,
) -> None:
    """The other side hears of new figures, an explanation, a confirmation: through the outbox."""
    other = other_side(side)

    def on_other_side(r: StaffRole) -> bool:
        return speaks_for(r, other, view.oblast)

    stamp = reconciliation.clock().strftime("%Y%m%d%H%M%S%f")
    await tell(
        outbox,
        users,
        i18n,
        await staff.telegram_ids(on_other_side),
        f"reconcile.{event}:{view.quarter}:{side}:{stamp}",
        compose_with(notices.told_other_side, view, side, event),
    )


async def on_view(
    callback: CallbackQuery,
    callback_data: Reconciliations,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    reconciliation: ReconciliationService,
) -> None:
    """The quarter; also what Cancel leads back to."""
    oblast, side, q = _where(profile, reconciliation, callback_data)
    await state.clear()
    await show(callback, bot, *kb.quarter_screen(await reconciliation.view(oblast, q), side))


async def on_history(
    callback: CallbackQuery,
    callback_data: Reconciliations,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    reconciliation: ReconciliationService,
) -> None:
    oblast, side, _q = _where(profile, reconciliation, callback_data)
    await state.clear()
    await show(callback, bot, *kb.history(await reconciliation.history(oblast), side))


async def on_enter(
    callback: CallbackQuery,
    callback_data: Reconciliations,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    reconciliation: ReconciliationService,
) -> None:
    """Enter (or correct) this side's figures, one at a time, the ones entered before offered to keep."""
    oblast, side, q = _where(profile, reconciliation, callback_data)
    view = await reconciliation.view(oblast, q)
    if view.reconciled:
        raise ReconciliationError("reconcile.already_reconciled")
    data = {"quarter": q, "index": 0, "values": {}, "previous": getattr(view, side)}
    await state.set_state(ReconcileForm.figure)
    await state.set_data(data)
    await show(callback, bot, *kb.ask_figure(data))


async def on_explain(
    callback: CallbackQuery,
    callback_data: Reconciliations,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    reconciliation: ReconciliationService,
) -> None:
    _oblast, _side, q = _where(profile, reconciliation, callback_data)
    await state.set_state(ReconcileForm.note)
    await state.set_data({"quarter": q})
    await show(callback, bot, _("reconcile.ask_note").format(limit=NOTE_LIMIT), markup(kb.cancel_row(q)))


async def on_confirm(
    callback: CallbackQuery,
    callback_data: Reconciliations,
    bot: Bot,
    profile: UserProfile,
    reconciliation: ReconciliationService,
    staff: StaffService,
    users: UserService,
    outbox: Queue,
    i18n: I18n,
) -> None:
    oblast, side, q = _where(profile, reconciliation, callback_data)
    view = await reconciliation.confirm(profile.staff_id, profile.staff, oblast, q)
    await _tell_other_side(outbox, users, staff, i18n, reconciliation, view, side, "confirmed")
    await show(callback, bot, *kb.quarter_screen(view, side))


async def _figure_dialog(state: FSMContext, raw_state: str | None, quarter: str) -> dict[str, Any] | None:
    """The figure dialog's data if open on `quarter`; None for a step button of a dialog that is over."""
    if raw_state != ReconcileForm.figure.state:
        return None
    data = await state.get_data()
    return data if data.get("quarter") == quarter else None


async def on_keep(
    callback: CallbackQuery,
    callback_data: Reconciliations,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    reconciliation: ReconciliationService,
    raw_state: str | None,
) -> None:
    _oblast, _side, q = _where(profile, reconciliation, callback_data)
    data = await _figure_dialog(state, raw_state, q)
    # An old "keep" pressed once every figure is in (the summary is showing): nothing to keep.
    index = data["index"] if data is not None else len(FIELDS)
    previous = (
        (data.get("previous") or {}).get(FIELDS[index]) if data is not None and index < len(FIELDS) else None
    )
    if data is None or previous is None:
        await stale_button(callback, bot)
        return

    async def answer(text: str, keyboard: InlineKeyboardMarkup) -> None:
        await show(callback, bot, text, keyboard)

    await _next_figure(state, data, int(previous), answer)


async def on_save(
    callback: CallbackQuery,
    callback_data: Reconciliations,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    reconciliation: ReconciliationService,
    staff: StaffService,
    users: UserService,
    outbox: Queue,
    i18n: I18n,
    raw_state: str | None,
) -> None:
    oblast, side, q = _where(profile, reconciliation, callback_data)
    data = await _figure_dialog(state, raw_state, q)
    if data is None or len(data.get("values", {})) != len(FIELDS):
        await stale_button(callback, bot)
        return
    view = await reconciliation.enter(profile.staff_id, profile.staff, oblast, q, data["values"])
    await state.clear()
    await _tell_other_side(outbox, users, staff, i18n, reconciliation, view, side, "entered")
    text, keyboard = kb.quarter_screen(view, side)
    await show(callback, bot, _("reconcile.saved") + "\n\n" + text, keyboard)


async def _next_figure(state: FSMContext, data: dict[str, Any], value: int, answer: Screen) -> None:
    data["values"][FIELDS[data["index"]]] = value
    data["index"] += 1
    await state.set_data(data)
    await answer(*(kb.ask_figure(data) if data["index"] < len(FIELDS) else kb.summary(data)))


async def on_figure(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    raw = (message.text or "").strip()
    if data.get("index", len(FIELDS)) >= len(FIELDS):
        text, keyboard = kb.summary(data)
        await message.answer(text, reply_markup=keyboard)
        return
    if not NUMBER.match(raw) or int(re.sub(r"\s", "", raw)) > MAX_FIGURE:
        text, keyboard = kb.ask_figure(data)
        await message.answer(
            _("reconcile.not_a_number").format(max=MAX_FIGURE) + "\n\n" + text, reply_markup=keyboard
        )
        return

    async def answer(text: str, keyboard: InlineKeyboardMarkup) -> None:
        await message.answer(text, reply_markup=keyboard)

    await _next_figure(state, data, int(re.sub(r"\s", "", raw)), answer)


async def on_note(
    message: Message,
    state: FSMContext,
    profile: UserProfile,
    reconciliation: ReconciliationService,
    staff: StaffService,
    users: UserService,
    outbox: Queue,
    i18n: I18n,
) -> None:
    q = (await state.get_data()).get("quarter", "")
    note = (message.text or "").strip()
    if not note or len(note) > NOTE_LIMIT:
        text = _("reconcile.note_length").format(limit=NOTE_LIMIT, length=len(note))
        await message.answer(text, reply_markup=markup(kb.cancel_row(q)))
        return
    try:
        oblast = reconciling_oblast(profile.staff)
        side = side_of(profile.staff, oblast)
        view = await reconciliation.explain(profile.staff_id, profile.staff, oblast, q, note)
    except (AccessDenied, ReconciliationError):
        await state.clear()
        await message.answer(_("staff.denied"), reply_markup=keyboards.menu_for(profile.is_staff))
        return
    await state.clear()
    await _tell_other_side(outbox, users, staff, i18n, reconciliation, view, side, "explained")
    text, keyboard = kb.quarter_screen(view, side)
    await message.answer(text, reply_markup=keyboard)


async def on_other(message: Message, state: FSMContext) -> None:
    """A photo, a sticker, a voice message where a number or a note was expected."""
    q = (await state.get_data()).get("quarter", "")
    await message.answer(_("reconcile.text_expected"), reply_markup=markup(kb.cancel_row(q)))
