"""Specialists (and coordinators): log a programme event in under a minute, list, correct and
withdraw their own events. The common case: type -> measure -> date -> district -> participants
(the one typed number) -> save: six taps."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import Events
from bot.keyboards import button
from bot.services.catalogue import EventType
from bot.services.directory import Directory
from bot.services.events import (
    BREAKDOWN_GROUPS,
    FUNDING_SOURCES,
    HUMANITARIAN_GROUPS,
    MAX_PARTICIPANTS,
    EventDraft,
    EventError,
    EventService,
    breakdown_fits,
)
from bot.services.staff import AccessDenied, Role, StaffService
from bot.services.users import UserProfile
from handlers.ui import show, stale_button

LOGGING_ROLES = {Role.SPECIALIST.value, Role.COORDINATOR.value}
MAX_ATTACHMENT = 20 * 1024 * 1024  # what a bot can download from Telegram
MEASURES_SHOWN = 6


class EventForm(StatesGroup):
    kind = State()
    measure = State()
    search = State()
    date = State()
    typed_date = State()
    district = State()
    participants = State()
    extras = State()
    breakdown = State()
    cost = State()
    funding = State()
    attachment = State()


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


def _cancel() -> list[InlineKeyboardButton]:
    return [button(_("event.cancel"), Events(a="cancel"))]


def _kinds() -> InlineKeyboardMarkup:
    items = [button(_(f"event_type.{t.value}"), Events(a="kind", v=t.value)) for t in EventType]
    return _markup(*[items[i : i + 2] for i in range(0, len(items), 2)], _cancel())


def _parse_date(text: str) -> date | None:
    match = re.fullmatch(r"\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})\s*", text)
    if not match:
        return None
    try:
        return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        return None


def _db_id(value: str) -> int | None:
    """An id from callback data, or None when it is not one a database could hold (forged)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _parse_count(text: str) -> int | None:
    cleaned = text.strip().replace(" ", "")
    return int(cleaned) if re.fullmatch(r"-?\d{1,9}", cleaned) else None


def create_router() -> Router:
    router = Router(name="specialist-events")

    def allowed(profile: UserProfile) -> bool:
        return bool(LOGGING_ROLES & profile.roles)

    def area(profile: UserProfile) -> tuple[str, str | None]:
        role = next(r for r in profile.staff if r.role in LOGGING_ROLES and r.oblast)
        return role.oblast or "", role.district

    async def ask_measure(
        target: CallbackQuery | Message,
        bot: Bot,
        events: EventService,
        profile: UserProfile,
        kind: str,
        query: str | None = None,
    ) -> None:
        oblast, _district = area(profile)
        organisation = next((r.organisation_id for r in profile.staff if r.organisation_id), None)
        measures = (await events.measures(oblast, kind, query, organisation))[:MEASURES_SHOWN]
        rows = [
            [button(f"{m.task_number}.{m.number} {m.title}"[:60], Events(a="measure", v=str(m.id)))]
            for m in measures
        ]
        markup = _markup(*rows, [button(_("event.search"), Events(a="search"))], _cancel())
        text = _("event.ask_measure") if measures else _("event.no_measures")
        if isinstance(target, CallbackQuery):
            await show(target, bot, text, markup)
        else:
            await target.answer(text, reply_markup=markup)

    async def ask_participants(target: CallbackQuery | Message, bot: Bot) -> None:
        text = _("event.ask_participants").format(max=MAX_PARTICIPANTS)
        if isinstance(target, CallbackQuery):
            await show(target, bot, text, _markup(_cancel()))
        else:
            await target.answer(text, reply_markup=_markup(_cancel()))

    def extras_markup(data: dict[str, Any]) -> InlineKeyboardMarkup:
        return _markup(
            [button(_("event.add_breakdown"), Events(a="breakdown"))],
            [button(_("event.add_cost"), Events(a="cost"))],
            [button(_("event.add_attachment"), Events(a="attach"))],
            [button(_("event.save"), Events(a="save"))],
            _cancel(),
        )

    def summary(data: dict[str, Any], directory: Directory, lang: str) -> str:
        district = directory.district(data["district"]) if data.get("district") else None
        lines = [
            _("event.summary_title"),
            _("event.line_type").format(value=_(f"event_type.{data['kind']}")),
            _("event.line_measure").format(value=escape(data.get("measure_title", ""))),
            _("event.line_date").format(value=date.fromisoformat(data["held_on"]).strftime("%d.%m.%Y")),
            _("event.line_district").format(
                value=escape(district.name.get(lang)) if district else _("event.whole_oblast")
            ),
            _("event.line_participants").format(value=data["participants"]),
        ]
        if data.get("breakdown"):
            lines.append(
                _("event.line_breakdown").format(
                    value=", ".join(f"{_(f'group.{g}')}: {n}" for g, n in data["breakdown"].items())
                )
            )
        if data.get("cost"):
            lines.append(_("event.line_cost").format(value=data["cost"]))
        if data.get("attachment_kind"):
            lines.append(_("event.line_attachment"))
        return "\n".join(lines)

    async def show_extras(
        target: CallbackQuery | Message, bot: Bot, state: FSMContext, directory: Directory, lang: str
    ) -> None:
        await state.set_state(EventForm.extras)
        data = await state.get_data()
        text = summary(data, directory, lang) + "\n\n" + _("event.extras_hint")
        if isinstance(target, CallbackQuery):
            await show(target, bot, text, extras_markup(data))
        else:
            await target.answer(text, reply_markup=extras_markup(data))

    @router.message(Command("event"))
    async def on_event_command(message: Message, state: FSMContext, profile: UserProfile) -> None:
        if not allowed(profile):
            await message.answer(_("fallback.unknown_command"), reply_markup=keyboards.main_menu())
            return
        await state.clear()
        await state.set_state(EventForm.kind)
        await message.answer(_("event.ask_type"), reply_markup=_kinds())

    @router.callback_query(Events.filter())
    async def on_event_button(
        callback: CallbackQuery,
        callback_data: Events,
        bot: Bot,
        state: FSMContext,
        profile: UserProfile,
        events: EventService,
        directory: Directory,
        i18n: I18n,
        raw_state: str | None,
        staff: StaffService,
    ) -> None:
        if not allowed(profile):
            await staff.audit(profile.id, "denied.event." + callback_data.a[:20], actor_key=profile.key)
            await callback.answer(_("staff.denied"), show_alert=True)
            return
        a, v = callback_data.a, callback_data.v
        step = (raw_state or "").split(":")[-1]
        lang = i18n.current_locale
        oblast, own_district = area(profile)
        if a == "start":
            await state.clear()
            await state.set_state(EventForm.kind)
            await show(callback, bot, _("event.ask_type"), _kinds())
        elif a == "cancel":
            await state.clear()
            await show(callback, bot, _("event.cancelled"), keyboards.menu_for(True))
        elif a == "kind" and step == "kind" and v in {t.value for t in EventType}:
            await state.update_data(kind=v)
            await state.set_state(EventForm.measure)
            await ask_measure(callback, bot, events, profile, v)
        elif a == "search" and step in ("measure", "search"):
            await state.set_state(EventForm.search)
            await show(callback, bot, _("event.ask_search"), _markup(_cancel()))
        elif a == "measure" and step in ("measure", "search") and _db_id(v) is not None:
            measure = next((m for m in await events.measures(oblast) if m.id == int(v)), None)
            if measure is None:
                await stale_button(callback, bot)
                return
            await state.update_data(
                measure_id=measure.id,
                measure_title=f"{measure.task_number}.{measure.number} {measure.title}"[:200],
            )
            await state.set_state(EventForm.date)
            await show(
                callback,
                bot,
                _("event.ask_date"),
                _markup(
                    [
                        button(_("event.today"), Events(a="date", v="0")),
                        button(_("event.yesterday"), Events(a="date", v="1")),
                    ],
                    [button(_("event.other_date"), Events(a="date", v="other"))],
                    _cancel(),
                ),
            )
        elif a == "date" and step == "date" and v in ("0", "1", "other"):
            if v == "other":
                await state.set_state(EventForm.typed_date)
                await show(callback, bot, _("event.ask_typed_date"), _markup(_cancel()))
                return
            held_on = events.today() - timedelta(days=int(v))
            await state.update_data(held_on=held_on.isoformat())
            await ask_district(callback, bot, state, directory, oblast, own_district, lang)
        elif a == "district" and step == "district":
            district = directory.district(v) if v != "*" else None
            if v != "*" and (
                district is None or (directory.oblast_of(v) or directory.oblasts[0]).id != oblast
            ):
                await stale_button(callback, bot)
                return
            await state.update_data(district=None if v == "*" else v)
            await state.set_state(EventForm.participants)
            await ask_participants(callback, bot)
        elif a == "breakdown" and step == "extras":
            await state.set_state(EventForm.breakdown)
            await show(callback, bot, _("event.ask_breakdown"), _markup(_cancel()))
        elif a == "cost" and step == "extras":
            await state.set_state(EventForm.cost)
            await show(callback, bot, _("event.ask_cost"), _markup(_cancel()))
        elif a == "funding" and step == "funding" and v in FUNDING_SOURCES:
            await state.update_data(funding_source=v)
            await show_extras(callback, bot, state, directory, lang)
        elif a == "attach" and step == "extras":
            await state.set_state(EventForm.attachment)
            await show(callback, bot, _("event.ask_attachment"), _markup(_cancel()))
        elif a == "save" and step == "extras":
            await save(callback, bot, state, profile, events, directory, lang)
        elif a == "mine":
            await list_mine(callback, bot, profile, events)
        elif a == "scope":
            try:
                items, total = await events.in_scope(profile.staff)
            except AccessDenied:
                await callback.answer(_("staff.denied"), show_alert=True)
                return
            lines = [_("event.scope_title").format(count=total)]
            for held_on, kind, participants, district_id, number in items:
                place = directory.district(district_id) if district_id else None
                where = place.name.get(lang) if place else _("event.whole_oblast")
                lines.append(
                    f"{held_on:%d.%m.%Y} · {_(f'event_type.{kind}')} · {number} · {where} · {participants}"
                )
            await show(callback, bot, "\n".join(lines), _markup(keyboards.back_to_menu_row()))
        elif a == "view" and _db_id(v) is not None:
            await view_event(callback, bot, profile, events, int(v))
        elif a == "withdraw" and _db_id(v) is not None:
            # One tap takes an event out of every indicator: asked first.
            await show(
                callback,
                bot,
                _("event.withdraw_confirm"),
                _markup(
                    [button(_("event.withdraw_yes"), Events(a="withdraw_yes", v=v))],
                    [button(_("event.withdraw_no"), Events(a="view", v=v))],
                ),
            )
        elif a == "withdraw_yes" and _db_id(v) is not None:
            try:
                await events.withdraw(profile.staff_id, int(v))
            except AccessDenied:
                await stale_button(callback, bot)
                return
            except EventError:  # the confirmation pressed again: already withdrawn, nothing changes
                await view_event(callback, bot, profile, events, int(v), alert=_("event.already_withdrawn"))
                return
            await view_event(callback, bot, profile, events, int(v))
        elif a == "fix" and _db_id(v) is not None:
            try:
                draft = await events.draft_of(profile.staff_id, int(v))
            except AccessDenied:
                await stale_button(callback, bot)
                return
            await state.clear()
            await state.set_state(EventForm.participants)
            await state.update_data(correcting=int(v), **EventService.as_dict(draft), kind=draft.event_type)
            await ask_participants(callback, bot)
        else:
            await stale_button(callback, bot)

    async def ask_district(
        target: CallbackQuery | Message,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        oblast: str,
        own_district: str | None,
        lang: str,
    ) -> None:
        await state.set_state(EventForm.district)
        place = directory.oblast(oblast)
        districts = list(place.districts) if place else []
        districts.sort(key=lambda d: d.id != own_district)  # the specialist's own district first
        items = [button(d.name.get(lang), Events(a="district", v=d.id)) for d in districts]
        markup = _markup(
            *[items[i : i + 2] for i in range(0, len(items), 2)],
            [button(_("event.whole_oblast"), Events(a="district", v="*"))],
            _cancel(),
        )
        if isinstance(target, CallbackQuery):
            await show(target, bot, _("event.ask_district"), markup)
        else:
            await target.answer(_("event.ask_district"), reply_markup=markup)

    async def save(
        callback: CallbackQuery,
        bot: Bot,
        state: FSMContext,
        profile: UserProfile,
        events: EventService,
        directory: Directory,
        lang: str,
    ) -> None:
        data = await state.get_data()
        draft = EventDraft(
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
        try:
            if data.get("correcting"):
                await events.correct(profile.staff_id, profile.staff, int(data["correcting"]), draft)
                event_id = int(data["correcting"])
            else:
                event_id = await events.log(profile.staff_id, profile.staff, draft)
        except EventError as exc:
            await show(callback, bot, _(str(exc)), extras_markup(data))
            return
        except AccessDenied:
            await state.clear()
            await stale_button(callback, bot)
            return
        await state.clear()
        await show(
            callback,
            bot,
            _("event.saved") + "\n\n" + summary(data, directory, lang),
            _markup(
                [button(_("event.another"), Events(a="start")), button(_("event.mine"), Events(a="mine"))],
                [button(_("event.view"), Events(a="view", v=str(event_id)))],
                keyboards.back_to_menu_row(),
            ),
        )

    async def list_mine(
        callback: CallbackQuery, bot: Bot, profile: UserProfile, events: EventService
    ) -> None:
        items = await events.of_author(profile.staff_id)
        rows = [
            [
                button(
                    f"{d:%d.%m} · {_(f'event_type.{k}')} · {n}" + (" ✖" if s != "active" else ""),
                    Events(a="view", v=str(i)),
                )
            ]
            for i, d, k, n, s in items[:20]
        ]
        await show(
            callback,
            bot,
            _("event.mine_title") if items else _("event.none"),
            _markup(*rows, [button(_("event.another"), Events(a="start"))], keyboards.back_to_menu_row()),
        )

    async def view_event(
        callback: CallbackQuery,
        bot: Bot,
        profile: UserProfile,
        events: EventService,
        event_id: int,
        alert: str | None = None,
    ) -> None:
        try:
            await events.draft_of(profile.staff_id, event_id)  # the author's own events only
        except AccessDenied:
            await stale_button(callback, bot)
            return
        history = await events.history(event_id)
        lines = [_("event.view_title").format(id=event_id)]
        for version, action, snap in history:
            lines.append(
                _("event.history_line").format(
                    version=version,
                    action=_(f"event_action.{action}"),
                    date=snap["held_on"],
                    participants=snap["participants"],
                )
            )
        active = history[-1][2].get("status") == "active" if history else False
        rows = []
        if active:
            rows.append(
                [
                    button(_("event.fix"), Events(a="fix", v=str(event_id))),
                    button(_("event.withdraw"), Events(a="withdraw", v=str(event_id))),
                ]
            )
        rows.append([button(_("event.mine"), Events(a="mine"))])
        await show(callback, bot, "\n".join(lines), _markup(*rows), alert=alert)

    @router.message(StateFilter(EventForm.search), F.text)
    async def on_search(
        message: Message, bot: Bot, state: FSMContext, profile: UserProfile, events: EventService
    ) -> None:
        data = await state.get_data()
        await state.set_state(EventForm.measure)
        await ask_measure(message, bot, events, profile, data.get("kind", ""), (message.text or "")[:100])

    @router.message(StateFilter(EventForm.typed_date), F.text)
    async def on_typed_date(
        message: Message,
        bot: Bot,
        state: FSMContext,
        profile: UserProfile,
        events: EventService,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        held_on = _parse_date(message.text or "")
        if held_on is None:
            await message.answer(_("event.bad_date"), reply_markup=_markup(_cancel()))
            return
        if held_on > events.clock().date():
            await message.answer(_("event.date_future"), reply_markup=_markup(_cancel()))
            return
        first_year = await events.first_year_of(int((await state.get_data()).get("measure_id", 0)))
        if first_year is not None and held_on.year < first_year:
            # Refused here, where the date can still be typed again, not at the end.
            await message.answer(_("event.date_before_programme"), reply_markup=_markup(_cancel()))
            return
        await state.update_data(held_on=held_on.isoformat())
        oblast, own_district = area(profile)
        await ask_district(message, bot, state, directory, oblast, own_district, i18n.current_locale)

    @router.message(StateFilter(EventForm.participants), F.text)
    async def on_participants(
        message: Message, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
    ) -> None:
        count = _parse_count(message.text or "")
        if count is None or not 0 <= count <= MAX_PARTICIPANTS:
            await message.answer(
                _("event.participants_bad").format(max=MAX_PARTICIPANTS), reply_markup=_markup(_cancel())
            )
            return
        await state.update_data(participants=count)
        await show_extras(message, bot, state, directory, i18n.current_locale)

    @router.message(StateFilter(EventForm.breakdown), F.text)
    async def on_breakdown(
        message: Message, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
    ) -> None:
        parts = [_parse_count(p) for p in re.split(r"[\s,;]+", (message.text or "").strip()) if p]
        data = await state.get_data()
        # Four numbers: the programme's groups; seven: the humanitarian breakdown.
        groups = {len(BREAKDOWN_GROUPS): BREAKDOWN_GROUPS, len(HUMANITARIAN_GROUPS): HUMANITARIAN_GROUPS}.get(
            len(parts)
        )
        counts = [p for p in parts if p is not None]
        breakdown = dict(zip(groups, counts, strict=True)) if groups and len(counts) == len(parts) else None
        if breakdown is None or not breakdown_fits(breakdown, int(data.get("participants", 0))):
            await message.answer(
                _("event.bad_breakdown").format(total=data.get("participants", 0)),
                reply_markup=_markup(_cancel()),
            )
            return
        await state.update_data(breakdown=breakdown)
        await show_extras(message, bot, state, directory, i18n.current_locale)

    @router.message(StateFilter(EventForm.cost), F.text)
    async def on_cost(message: Message, state: FSMContext) -> None:
        text = (message.text or "").strip().replace(" ", "").replace(",", ".")
        if not re.fullmatch(r"\d{1,9}(\.\d{1,2})?", text):
            await message.answer(_("event.bad_cost"), reply_markup=_markup(_cancel()))
            return
        await state.update_data(cost=text)
        await state.set_state(EventForm.funding)
        await message.answer(
            _("event.ask_funding"),
            reply_markup=_markup(
                *[[button(_(f"funding.{f}"), Events(a="funding", v=f))] for f in FUNDING_SOURCES], _cancel()
            ),
        )

    @router.message(StateFilter(EventForm.attachment), F.photo | F.document)
    async def on_attachment(
        message: Message, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
    ) -> None:
        if message.document is not None and (message.document.file_size or 0) > MAX_ATTACHMENT:
            await message.answer(_("event.attachment_too_big"), reply_markup=_markup(_cancel()))
            return
        if message.photo:
            await state.update_data(attachment_file_id=message.photo[-1].file_id, attachment_kind="photo")
        elif message.document is not None:
            await state.update_data(attachment_file_id=message.document.file_id, attachment_kind="document")
        await show_extras(message, bot, state, directory, i18n.current_locale)

    @router.message(StateFilter(EventForm.kind))
    @router.message(StateFilter(EventForm.measure))
    @router.message(StateFilter(EventForm.date))
    @router.message(StateFilter(EventForm.district))
    @router.message(StateFilter(EventForm.extras))
    @router.message(StateFilter(EventForm.funding))
    async def on_button_expected(message: Message) -> None:
        await message.answer(_("event.use_buttons"), reply_markup=_markup(_cancel()))

    @router.message(StateFilter(EventForm.typed_date))
    @router.message(StateFilter(EventForm.participants))
    @router.message(StateFilter(EventForm.breakdown))
    @router.message(StateFilter(EventForm.cost))
    @router.message(StateFilter(EventForm.search))
    @router.message(StateFilter(EventForm.attachment))
    async def on_wrong_kind(message: Message, raw_state: str | None) -> None:
        key = "event.photo_or_document" if (raw_state or "").endswith("attachment") else "event.text_expected"
        await message.answer(_(key), reply_markup=_markup(_cancel()))

    return router
