"""Monthly notifications to the police: specialists file "nothing detected" or signals for their
organisation; the police liaison acknowledges the digest; coordinators see who filed."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards, render
from bot.callbacks import PoliceReports
from bot.keyboards import button
from bot.services.directory import Directory
from bot.services.police_reports import (
    DESCRIPTION_LIMIT,
    EXPLOITATION_TYPES,
    SIGNAL_KINDS,
    PoliceReportService,
    ReportError,
    Signal,
    month_key,
    parse_month,
    previous_month,
)
from bot.services.staff import AccessDenied, Role, StaffService
from bot.services.users import UserProfile
from handlers.ui import show, stale_button


class SignalForm(StatesGroup):
    choosing = State()
    description = State()


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


def _cancel() -> list[InlineKeyboardButton]:
    return [button(_("event.cancel"), PoliceReports(a="cancel"))]


def create_router() -> Router:
    router = Router(name="police-reports")

    def months(police: PoliceReportService) -> tuple[str, str]:
        today = police.today()
        return previous_month(today), month_key(today)

    def draft_view(data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
        signals = data.get("signals", [])
        lines = [_("police.draft_title").format(month=render.month(data["month"]))]
        lines += [
            f"{i}. {_(f'signal.{s[0]}')}; {_(f'exploitation.{s[1]}')}" for i, s in enumerate(signals, 1)
        ]
        rows = [[button(_("police.add_signal"), PoliceReports(a="signal"))]]
        if signals:
            rows.append([button(_("police.submit"), PoliceReports(a="submit"))])
        elif not data.get("filed"):
            rows.append([button(_("police.nil"), PoliceReports(a="nil"))])
        return "\n".join(lines), _markup(*rows, _cancel())

    @router.callback_query(PoliceReports.filter())
    async def on_button(
        callback: CallbackQuery,
        callback_data: PoliceReports,
        bot: Bot,
        state: FSMContext,
        profile: UserProfile,
        police: PoliceReportService,
        directory: Directory,
        i18n: I18n,
        raw_state: str | None,
        staff: StaffService,
    ) -> None:
        a, v = callback_data.a, callback_data.v
        lang = i18n.current_locale
        try:
            if a == "ack":
                oblast, _sep, month = v.partition("|")
                first = await police.acknowledge(profile.staff_id, profile.staff, oblast, month)
                await callback.answer(
                    _("police.ack_done") if first else _("police.ack_already"), show_alert=True
                )
                return
            if a == "compliance":
                coordinator = next(
                    (r for r in profile.staff if r.role == Role.COORDINATOR and r.oblast), None
                )
                if coordinator is None or coordinator.oblast is None:
                    raise AccessDenied("police.compliance")
                prev, current = months(police)
                month = v if parse_month(v) == v else prev
                table = render.compliance_table(
                    await police.compliance(coordinator.oblast, month),
                    month,
                    await police.acknowledged(coordinator.oblast, month) is not None,
                )
                # Any of the last twelve months, three to a row.
                recent = [current]
                for _i in range(11):
                    recent.append(previous_month(date.fromisoformat(f"{recent[-1]}-01")))
                items = [
                    button(("• " if m == month else "") + render.month(m), PoliceReports(a="compliance", v=m))
                    for m in recent
                ]
                await show(
                    callback,
                    bot,
                    table,
                    _markup(
                        *[items[i : i + 3] for i in range(0, len(items), 3)],
                        keyboards.back_to_menu_row(),
                    ),
                )
                return
            police.reporting_organisation(profile.staff)  # specialists of an organisation from here on
            if a == "start":
                await state.clear()
                prev, current = months(police)
                await show(
                    callback,
                    bot,
                    _("police.choose_month"),
                    _markup(
                        [
                            button(render.month(prev), PoliceReports(a="month", v=prev)),
                            button(render.month(current), PoliceReports(a="month", v=current)),
                        ],
                        _cancel(),
                    ),
                )
            elif a == "month" and parse_month(v) == v:
                role = police.reporting_organisation(profile.staff)
                assert role.organisation_id is not None
                filed = await police.versions(role.organisation_id, v) > 0
                await state.set_state(SignalForm.choosing)
                await state.set_data({"month": v, "signals": [], "filed": filed})
                text, markup = draft_view(await state.get_data())
                note = _("police.already_filed_note") if filed else _("police.file_intro")
                await show(callback, bot, note + "\n\n" + text, markup)
            elif a == "cancel":
                await state.clear()
                await show(callback, bot, _("event.cancelled"), keyboards.menu_for(True))
            elif raw_state != SignalForm.choosing.state:
                await stale_button(callback, bot)
            elif a == "signal":
                await show(
                    callback,
                    bot,
                    _("police.ask_kind"),
                    _markup(
                        *[[button(_(f"signal.{k}"), PoliceReports(a="kind", v=k))] for k in SIGNAL_KINDS],
                        _cancel(),
                    ),
                )
            elif a == "kind" and v in SIGNAL_KINDS:
                await state.update_data(kind=v)
                await show(
                    callback,
                    bot,
                    _("police.ask_exploitation"),
                    _markup(
                        *[
                            [button(_(f"exploitation.{e}"), PoliceReports(a="expl", v=e))]
                            for e in EXPLOITATION_TYPES
                        ],
                        _cancel(),
                    ),
                )
            elif a == "expl" and v in EXPLOITATION_TYPES:
                await state.update_data(exploitation=v)
                place = directory.oblast(police.reporting_organisation(profile.staff).oblast or "")
                items = [
                    button(d.name.get(lang), PoliceReports(a="district", v=d.id))
                    for d in (place.districts if place else ())
                ]
                await show(
                    callback,
                    bot,
                    _("police.ask_district"),
                    _markup(
                        *[items[i : i + 2] for i in range(0, len(items), 2)],
                        [button(_("event.whole_oblast"), PoliceReports(a="district", v="*"))],
                        _cancel(),
                    ),
                )
            elif (
                a == "district"
                and (v == "*" or directory.district(v) is not None)
                and {"kind", "exploitation"} <= set(await state.get_data())
            ):
                await state.update_data(district=None if v == "*" else v)
                await state.set_state(SignalForm.description)
                await show(
                    callback,
                    bot,
                    _("police.ask_description").format(limit=DESCRIPTION_LIMIT),
                    _markup(_cancel()),
                )
            elif a in ("nil", "submit"):
                data = await state.get_data()
                signals = [Signal(k, e, d, t) for k, e, d, t in data.get("signals", [])]
                if data.get("filed"):
                    await police.amend(profile.staff_id, profile.staff, data["month"], signals)
                else:
                    await police.file(profile.staff_id, profile.staff, data["month"], signals)
                await state.clear()
                key = "police.filed_nil" if not signals else "police.filed"
                await show(
                    callback,
                    bot,
                    _(key).format(month=render.month(data["month"]), count=len(signals)),
                    keyboards.menu_for(True),
                )
            else:
                await stale_button(callback, bot)
        except AccessDenied as denial:
            await staff.audit(profile.id, "denied." + str(denial)[:30], actor_key=profile.key)
            await callback.answer(_("staff.denied"), show_alert=True)
        except ReportError as exc:
            await state.clear()
            await show(callback, bot, _(str(exc)), keyboards.menu_for(True))

    @router.message(StateFilter(SignalForm.description), F.text)
    async def on_description(message: Message, state: FSMContext) -> None:
        text = (message.text or "").strip()
        if not text or len(text) > DESCRIPTION_LIMIT:
            await message.answer(
                _("police.description_length").format(limit=DESCRIPTION_LIMIT, length=len(text)),
                reply_markup=_markup(_cancel()),
            )
            return
        data = await state.get_data()
        signals = [*data.get("signals", []), [data["kind"], data["exploitation"], data.get("district"), text]]
        await state.update_data(signals=signals)
        await state.set_state(SignalForm.choosing)
        view, markup = draft_view(await state.get_data())
        await message.answer(view, reply_markup=markup)

    @router.message(StateFilter(SignalForm.description))
    @router.message(StateFilter(SignalForm.choosing))
    async def on_other(message: Message) -> None:
        await message.answer(_("event.use_buttons"), reply_markup=_markup(_cancel()))

    return router
