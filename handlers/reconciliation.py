"""Quarterly reconciliation with the police (Kharkiv task 2, measure 10): the police liaison and the
regional coordinator each enter their figures, see the two sides lined up with every discrepancy
marked, correct or explain, and confirm. The service decides; this router asks and shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards, render
from bot.callbacks import Reconciliations
from bot.keyboards import button
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
    check_figures,
    other_side,
    reconciling_oblast,
    side_of,
    speaks_for,
)
from bot.services.staff import AccessDenied, StaffRole, StaffService
from bot.services.users import UserProfile, UserService
from handlers.ui import show, stale_button

NUMBER = re.compile(r"^\d[\d\s]{0,8}$")  # "1 200" is a number people type


class ReconcileForm(StatesGroup):
    figure = State()
    note = State()


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


def _quarter_screen(view: QuarterView, side: str) -> tuple[str, InlineKeyboardMarkup]:
    q = view.quarter
    text = render.reconciliation_table(view) + "\n\n" + render.reconciliation_state(view, side)
    rows: list[list[InlineKeyboardButton]] = []
    if not view.reconciled:
        mine = getattr(view, side)
        rows.append(
            [button(_("reconcile.correct" if mine else "reconcile.enter"), Reconciliations(a="enter", q=q))]
        )
        if view.discrepancies:
            rows.append([button(_("reconcile.explain"), Reconciliations(a="explain", q=q))])
        if view.police and view.region and not getattr(view, f"{side}_confirmed"):
            rows.append([button(_("reconcile.confirm"), Reconciliations(a="confirm", q=q))])
    rows.append([button(_("reconcile.history"), Reconciliations(a="history"))])
    return text, _markup(*rows, keyboards.back_to_menu_row())


def _ask_figure(data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    index = data["index"]
    name = FIELDS[index]
    text = _("reconcile.ask").format(
        quarter=render.quarter(data["quarter"]),
        step=index + 1,
        steps=len(FIELDS),
        field=_(f"reconcile.field.{name}"),
    )
    rows = []
    previous = (data.get("previous") or {}).get(name)
    if previous is not None:
        rows.append(
            [button(_("reconcile.keep").format(value=previous), Reconciliations(a="keep", q=data["quarter"]))]
        )
    rows.append([button(_("reconcile.cancel"), Reconciliations(a="cancel", q=data["quarter"]))])
    return text, _markup(*rows)


def _summary(data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    """All figures typed: either the reason they contradict themselves, or Save."""
    q, values = data["quarter"], data["values"]
    lines = [_("reconcile.review").format(quarter=render.quarter(q))]
    lines += [f"{_(f'reconcile.field.{f}')}: <b>{values[f]}</b>" for f in FIELDS]
    again = [button(_("reconcile.again"), Reconciliations(a="enter", q=q))]
    cancel = [button(_("reconcile.cancel"), Reconciliations(a="cancel", q=q))]
    try:
        check_figures(values)
    except ReconciliationError as exc:
        return "\n".join([*lines, "", "⚠️ " + _(str(exc))]), _markup(again, cancel)
    return "\n".join(lines), _markup(
        [button(_("reconcile.save"), Reconciliations(a="save", q=q))], again, cancel
    )


async def _tell_other_side(
    outbox: Queue,
    users: UserService,
    staff: StaffService,
    i18n: I18n,
    view: QuarterView,
    side: str,
    event: str,
) -> None:
    """The other side hears of new figures, an explanation, a confirmation: through the outbox."""
    other = other_side(side)

    def on_other_side(r: StaffRole) -> bool:
        return speaks_for(r, other, view.oblast)

    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    await tell(
        outbox,
        users,
        i18n,
        await staff.telegram_ids(on_other_side),
        f"reconcile.{event}:{view.quarter}:{side}:{stamp}",
        compose_with(notices.told_other_side, view, side, event),
    )


def create_router() -> Router:
    router = Router(name="reconciliation")

    @router.callback_query(Reconciliations.filter())
    async def on_button(
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
        a = callback_data.a
        try:
            oblast = reconciling_oblast(profile.staff)
            side = side_of(profile.staff, oblast)
            q = callback_data.q or reconciliation.due().quarter
            if a == "view":
                await state.clear()
                await show(callback, bot, *_quarter_screen(await reconciliation.view(oblast, q), side))
            elif a == "history":
                await state.clear()
                history = await reconciliation.history(oblast)
                lines = [_("reconcile.history_title")]
                items = []
                for view in history[:8]:
                    lines.append(f"{render.quarter(view.quarter)}: {render.reconciliation_state(view, side)}")
                    items.append(
                        button(render.quarter(view.quarter), Reconciliations(a="view", q=view.quarter))
                    )
                if not history:
                    lines.append(_("reconcile.history_empty"))
                await show(
                    callback,
                    bot,
                    "\n".join(lines),
                    _markup(
                        *[items[i : i + 2] for i in range(0, len(items), 2)], keyboards.back_to_menu_row()
                    ),
                )
            elif a == "enter":
                view = await reconciliation.view(oblast, q)
                if view.reconciled:
                    raise ReconciliationError("reconcile.already_reconciled")
                data = {"quarter": q, "index": 0, "values": {}, "previous": getattr(view, side)}
                await state.set_state(ReconcileForm.figure)
                await state.set_data(data)
                await show(callback, bot, *_ask_figure(data))
            elif a == "explain":
                await state.set_state(ReconcileForm.note)
                await state.set_data({"quarter": q})
                await show(
                    callback,
                    bot,
                    _("reconcile.ask_note").format(limit=NOTE_LIMIT),
                    _markup([button(_("reconcile.cancel"), Reconciliations(a="cancel", q=q))]),
                )
            elif a == "cancel":
                await state.clear()
                await show(callback, bot, *_quarter_screen(await reconciliation.view(oblast, q), side))
            elif a == "confirm":
                view = await reconciliation.confirm(profile.staff_id, profile.staff, oblast, q)
                await _tell_other_side(outbox, users, staff, i18n, view, side, "confirmed")
                await show(callback, bot, *_quarter_screen(view, side))
            elif raw_state != ReconcileForm.figure.state or (await state.get_data()).get("quarter") != q:
                await stale_button(callback, bot)  # a step button of a dialog that is over
            elif a == "keep":
                data = await state.get_data()
                # An old "keep" pressed once every figure is in (the summary is showing): nothing to keep.
                index = data["index"]
                previous = (data.get("previous") or {}).get(FIELDS[index]) if index < len(FIELDS) else None
                if previous is None:
                    await stale_button(callback, bot)
                    return
                await _next_figure(state, data, int(previous), lambda t, m: show(callback, bot, t, m))
            elif a == "save":
                data = await state.get_data()
                if len(data.get("values", {})) != len(FIELDS):
                    await stale_button(callback, bot)
                    return
                view = await reconciliation.enter(profile.staff_id, profile.staff, oblast, q, data["values"])
                await state.clear()
                await _tell_other_side(outbox, users, staff, i18n, view, side, "entered")
                text, markup = _quarter_screen(view, side)
                await show(callback, bot, _("reconcile.saved") + "\n\n" + text, markup)
            else:
                await stale_button(callback, bot)
        except AccessDenied as denial:
            await staff.audit(profile.id, "denied." + str(denial)[:30], actor_key=profile.key)
            await callback.answer(_("staff.denied"), show_alert=True)
        except ReconciliationError as exc:
            await state.clear()
            await callback.answer()
            await bot.send_message(
                callback.from_user.id,
                _(str(exc)),
                reply_markup=_markup(
                    [button(_("reconcile.open"), Reconciliations(a="view", q=callback_data.q))],
                    keyboards.back_to_menu_row(),
                ),
            )

    async def _next_figure(state: FSMContext, data: dict[str, Any], value: int, answer: Any) -> None:
        data["values"][FIELDS[data["index"]]] = value
        data["index"] += 1
        await state.set_data(data)
        if data["index"] < len(FIELDS):
            await answer(*_ask_figure(data))
        else:
            await answer(*_summary(data))

    @router.message(StateFilter(ReconcileForm.figure), F.text)
    async def on_figure(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        raw = (message.text or "").strip()
        if data.get("index", len(FIELDS)) >= len(FIELDS):
            text, markup = _summary(data)
            await message.answer(text, reply_markup=markup)
            return
        if not NUMBER.match(raw) or int(re.sub(r"\s", "", raw)) > MAX_FIGURE:
            text, markup = _ask_figure(data)
            await message.answer(
                _("reconcile.not_a_number").format(max=MAX_FIGURE) + "\n\n" + text, reply_markup=markup
            )
            return

        async def answer(text: str, markup: InlineKeyboardMarkup) -> None:
            await message.answer(text, reply_markup=markup)

        await _next_figure(state, data, int(re.sub(r"\s", "", raw)), answer)

    @router.message(StateFilter(ReconcileForm.note), F.text)
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
            await message.answer(
                _("reconcile.note_length").format(limit=NOTE_LIMIT, length=len(note)),
                reply_markup=_markup([button(_("reconcile.cancel"), Reconciliations(a="cancel", q=q))]),
            )
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
        await _tell_other_side(outbox, users, staff, i18n, view, side, "explained")
        text, markup = _quarter_screen(view, side)
        await message.answer(text, reply_markup=markup)

    @router.message(StateFilter(ReconcileForm.figure, ReconcileForm.note))
    async def on_other(message: Message, state: FSMContext) -> None:
        """A photo, a sticker, a voice message where a number or a note was expected."""
        q = (await state.get_data()).get("quarter", "")
        await message.answer(
            _("reconcile.text_expected"),
            reply_markup=_markup([button(_("reconcile.cancel"), Reconciliations(a="cancel", q=q))]),
        )

    return router
