"""Citizen: the anonymous help request dialog -> a case with a code; coordinators are notified.

The dialog's answers live in the FSM state (stored in the database, encrypted) until the person
sends the request, so a restart of the bot in the middle does not lose them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import case_keyboards as ck
from bot import keyboards, render
from bot.case_keyboards import Rq
from bot.keyboards import NEED_BY_CODE, Menu
from bot.services.cases import (
    AGE_GROUPS,
    DESCRIPTION_LIMIT,
    SEXES,
    CaseDraft,
    CaseError,
    CaseService,
    Situation,
)
from bot.services.directory import Directory
from bot.services.throttle import next_request_at
from bot.services.users import UserService
from bot.settings import Settings
from handlers.notify import notify_new_case
from handlers.ui import chat_id_of, show, stale_button
from scheduler.outbox import Outbox


class RequestForm(StatesGroup):
    situation = State()
    needs = State()
    place = State()
    urgency = State()
    description = State()
    contact = State()
    phone = State()
    consent_orgs = State()
    consent_police = State()
    sex = State()
    age = State()
    confirm = State()


PHONE_RE = re.compile(r"^(?:\+?38)?(0\d{9})$")


def normalise_phone(raw: str) -> str | None:
    """A Ukrainian phone number as typed -> +380XXXXXXXXX, or None when it is not one."""
    digits = re.sub(r"[\s\-()]", "", raw)
    match = PHONE_RE.match(digits)
    return f"+38{match.group(1)}" if match else None


def _ask(
    state_name: str | None, data: dict[str, Any], directory: Directory, lang: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The question (and keyboard) of a dialog step: asked first, and again after a wrong answer."""
    step = (state_name or "").split(":")[-1]
    if step == "needs":
        return _("request.ask_needs"), ck.needs(data.get("needs", []))
    if step == "place":
        if not data.get("oblast"):
            return _("request.ask_oblast"), ck.oblasts(directory.oblasts, lang)
        oblast = directory.oblast(data["oblast"])
        assert oblast is not None
        if data.get("district") and data["district"] != "*":
            return _("request.ask_community"), ck.communities(directory, data["district"], lang)
        return _("request.ask_district"), ck.districts(oblast, lang)
    if step == "urgency":
        return _("request.ask_urgency"), ck.urgency()
    if step == "description":
        return _("request.ask_description").format(limit=DESCRIPTION_LIMIT), ck.skip_description()
    if step == "contact":
        return _("request.ask_contact"), ck.contact()
    if step == "phone":
        return _("request.ask_phone"), ck.InlineKeyboardMarkup(inline_keyboard=[ck.cancel_row()])
    if step == "consent_orgs":
        return _("request.ask_consent_orgs"), ck.consent_orgs()
    if step == "consent_police":
        return _("request.ask_consent_police"), ck.consent_police()
    if step == "sex":
        return _("request.ask_sex"), ck.sex()
    if step == "age":
        return _("request.ask_age"), ck.age()
    if step == "confirm":
        return render.request_summary(data, directory, lang), ck.confirm()
    return _("request.ask_situation"), ck.situations()


def create_router() -> Router:
    router = Router(name="citizen-request")

    async def next_step(
        callback: CallbackQuery,
        bot: Bot,
        state: FSMContext,
        to: State,
        directory: Directory,
        lang: str,
        **updates: Any,
    ) -> None:
        data = await state.update_data(**updates)
        await state.set_state(to)
        text, markup = _ask(to.state, data, directory, lang)
        await show(callback, bot, text, markup)

    async def over_limit(cases: CaseService, chat_id: int, settings: Settings) -> str | None:
        """The refusal to show when this chat filed its day's share of requests; None when it may file."""
        filed = [c.created_at for c in await cases.of_citizen(chat_id)]
        at = next_request_at(filed, cases.clock())
        if at is None:
            return None
        return _("security.request_limit").format(when=at.astimezone(settings.tz).strftime("%d.%m %H:%M"))

    @router.callback_query(Menu.filter(F.to == "request"))
    async def on_start(
        callback: CallbackQuery, bot: Bot, state: FSMContext, cases: CaseService, settings: Settings
    ) -> None:
        await state.clear()
        refusal = await over_limit(cases, chat_id_of(callback), settings)
        if refusal is not None:
            await show(callback, bot, refusal, keyboards.main_menu())
            return
        await state.set_state(RequestForm.situation)
        await show(callback, bot, _("request.intro") + "\n\n" + _("request.ask_situation"), ck.situations())

    @router.callback_query(Rq.filter(F.step == "cancel"))
    async def on_cancel(callback: CallbackQuery, bot: Bot, state: FSMContext) -> None:
        await state.clear()
        await show(callback, bot, _("request.cancelled"), keyboards.main_menu())

    @router.callback_query(StateFilter(RequestForm.situation), Rq.filter(F.step == "sit"))
    async def on_situation(
        callback: CallbackQuery,
        callback_data: Rq,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        if callback_data.v not in {s.value for s in Situation}:
            await stale_button(callback, bot)
            return
        await next_step(
            callback,
            bot,
            state,
            RequestForm.needs,
            directory,
            i18n.current_locale,
            situation=callback_data.v,
            needs=[],
        )

    @router.callback_query(StateFilter(RequestForm.needs), Rq.filter(F.step == "need"))
    async def on_need(callback: CallbackQuery, callback_data: Rq, bot: Bot, state: FSMContext) -> None:
        need = NEED_BY_CODE.get(callback_data.v)
        if need is None:
            await stale_button(callback, bot)
            return
        chosen = list((await state.get_data()).get("needs", []))
        chosen.remove(need.value) if need.value in chosen else chosen.append(need.value)
        await state.update_data(needs=chosen)
        await show(callback, bot, _("request.ask_needs"), ck.needs(chosen))

    @router.callback_query(StateFilter(RequestForm.needs), Rq.filter(F.step == "needs_done"))
    async def on_needs_done(
        callback: CallbackQuery, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
    ) -> None:
        update: dict[str, Any] = {"oblast": directory.oblasts[0].id} if len(directory.oblasts) == 1 else {}
        await next_step(callback, bot, state, RequestForm.place, directory, i18n.current_locale, **update)

    @router.callback_query(StateFilter(RequestForm.place), Rq.filter(F.step == "obl"))
    async def on_oblast(
        callback: CallbackQuery,
        callback_data: Rq,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        if directory.oblast(callback_data.v) is None:
            await stale_button(callback, bot)
            return
        await next_step(
            callback, bot, state, RequestForm.place, directory, i18n.current_locale, oblast=callback_data.v
        )

    @router.callback_query(StateFilter(RequestForm.place), Rq.filter(F.step == "dis"))
    async def on_district(
        callback: CallbackQuery,
        callback_data: Rq,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        data = await state.get_data()
        district = directory.district(callback_data.v)
        unknown = callback_data.v == "*"
        oblast = directory.oblast(data.get("oblast", ""))
        if oblast is None or not (unknown or (district and directory.oblast_of(callback_data.v) is oblast)):
            await stale_button(callback, bot)
            return
        lang = i18n.current_locale
        if district is not None and district.communities:
            await next_step(callback, bot, state, RequestForm.place, directory, lang, district=district.id)
        else:
            await next_step(
                callback,
                bot,
                state,
                RequestForm.urgency,
                directory,
                lang,
                district=None if unknown else callback_data.v,
                community=None,
            )

    @router.callback_query(StateFilter(RequestForm.place), Rq.filter(F.step == "com"))
    async def on_community(
        callback: CallbackQuery,
        callback_data: Rq,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        data = await state.get_data()
        district = directory.district(data.get("district") or "")
        community = None
        if (
            district is not None
            and callback_data.v.isascii()
            and callback_data.v.isdigit()
            and int(callback_data.v) < len(district.communities)
        ):
            community = district.communities[int(callback_data.v)].id
        elif district is None or callback_data.v != "*":
            await stale_button(callback, bot)
            return
        await next_step(
            callback, bot, state, RequestForm.urgency, directory, i18n.current_locale, community=community
        )

    @router.callback_query(StateFilter(RequestForm.urgency), Rq.filter(F.step == "urg"))
    async def on_urgency(
        callback: CallbackQuery,
        callback_data: Rq,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        urgent = callback_data.v == "1"
        if urgent:  # 102/112 first, before any further question
            await bot.send_message(chat_id_of(callback), _("danger.text"))
        await next_step(
            callback, bot, state, RequestForm.description, directory, i18n.current_locale, urgent=urgent
        )

    @router.callback_query(StateFilter(RequestForm.description), Rq.filter(F.step == "desc_skip"))
    async def on_skip_description(
        callback: CallbackQuery, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
    ) -> None:
        await next_step(
            callback, bot, state, RequestForm.contact, directory, i18n.current_locale, description=None
        )

    @router.message(StateFilter(RequestForm.description), F.text)
    async def on_description(message: Message, state: FSMContext, directory: Directory, i18n: I18n) -> None:
        text = (message.text or "").strip()
        if len(text) > DESCRIPTION_LIMIT:
            await message.answer(
                _("request.too_long").format(limit=DESCRIPTION_LIMIT, length=len(text)),
                reply_markup=ck.skip_description(),
            )
            return
        data = await state.update_data(description=text or None)
        await state.set_state(RequestForm.contact)
        question, markup = _ask(RequestForm.contact.state, data, directory, i18n.current_locale)
        await message.answer(_("request.noted") + "\n\n" + question, reply_markup=markup)

    @router.callback_query(StateFilter(RequestForm.contact), Rq.filter(F.step == "contact"))
    async def on_contact(
        callback: CallbackQuery,
        callback_data: Rq,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        if callback_data.v not in ("bot", "phone"):
            await stale_button(callback, bot)
            return
        to = RequestForm.phone if callback_data.v == "phone" else RequestForm.consent_orgs
        await next_step(
            callback, bot, state, to, directory, i18n.current_locale, contact=callback_data.v, phone=None
        )

    @router.message(StateFilter(RequestForm.phone), F.text)
    async def on_phone(message: Message, state: FSMContext, directory: Directory, i18n: I18n) -> None:
        phone = normalise_phone(message.text or "")
        if phone is None:
            await message.answer(
                _("request.bad_phone"),
                reply_markup=ck.InlineKeyboardMarkup(inline_keyboard=[ck.cancel_row()]),
            )
            return
        data = await state.update_data(phone=phone)
        await state.set_state(RequestForm.consent_orgs)
        question, markup = _ask(RequestForm.consent_orgs.state, data, directory, i18n.current_locale)
        await message.answer(question, reply_markup=markup)

    def choice(to: State, field: str, parse: Callable[[str], object]) -> Callable[..., Awaitable[None]]:
        """A step answered by one button: store its value as `field`, ask the next question."""

        async def handler(
            callback: CallbackQuery,
            callback_data: Rq,
            bot: Bot,
            state: FSMContext,
            directory: Directory,
            i18n: I18n,
        ) -> None:
            await next_step(
                callback, bot, state, to, directory, i18n.current_locale, **{field: parse(callback_data.v)}
            )

        return handler

    # (step, its button, the next step, the field it fills, how the button's value is read)
    choices: tuple[tuple[State, str, State, str, Callable[[str], object]], ...] = (
        (RequestForm.consent_orgs, "c_orgs", RequestForm.consent_police, "consent_orgs", lambda v: v == "1"),
        (RequestForm.consent_police, "c_police", RequestForm.sex, "consent_police", lambda v: v == "1"),
        (RequestForm.sex, "sex", RequestForm.age, "sex", lambda v: v if v in SEXES else None),
        (RequestForm.age, "age", RequestForm.confirm, "age_group", lambda v: v if v in AGE_GROUPS else None),
    )
    for current, button_step, to, field, parse in choices:
        router.callback_query.register(
            choice(to, field, parse), StateFilter(current), Rq.filter(F.step == button_step)
        )

    @router.callback_query(StateFilter(RequestForm.confirm), Rq.filter(F.step == "send"))
    async def on_send(
        callback: CallbackQuery,
        bot: Bot,
        state: FSMContext,
        cases: CaseService,
        directory: Directory,
        users: UserService,
        i18n: I18n,
        settings: Settings,
        outbox: Outbox,
    ) -> None:
        data = await state.get_data()
        try:
            draft = CaseDraft(
                situation=Situation(data["situation"]),
                needs=list(data.get("needs", [])),
                oblast=data["oblast"],
                district=data.get("district"),
                community=data.get("community"),
                urgent=bool(data.get("urgent")),
                contact=data.get("contact", "bot"),
                consent_orgs=bool(data.get("consent_orgs")),
                consent_police=bool(data.get("consent_police")),
                description=data.get("description"),
                phone=data.get("phone"),
                sex=data.get("sex"),
                age_group=data.get("age_group"),
            )
        except (KeyError, ValueError):
            await state.clear()
            await stale_button(callback, bot)
            return
        refusal = await over_limit(cases, chat_id_of(callback), settings)
        if refusal is not None:
            await state.clear()
            await show(callback, bot, refusal, keyboards.main_menu())
            return
        try:
            case = await cases.create(draft, chat_id_of(callback))
        except CaseError as exc:
            await show(callback, bot, _(str(exc)), ck.confirm())
            return
        await state.clear()
        await show(
            callback,
            bot,
            _("request.sent").format(code=escape(render.code(case.code))),
            ck.my_case(case),
        )
        recipients = await cases.coordinators_for(case.oblast, case.district)
        if recipients:
            await notify_new_case(outbox, i18n, users, recipients, case, directory)
        else:  # nobody covers the area yet: the admins must hear of it at once (they cannot take it)
            await notify_new_case(
                outbox, i18n, users, sorted(settings.admin_ids), case, directory, with_buttons=False
            )

    # Anything but the expected answer while the dialog runs: say what is expected, ask again.
    @router.message(StateFilter(RequestForm.description))
    @router.message(StateFilter(RequestForm.phone))
    async def on_not_text(message: Message) -> None:
        await message.answer(
            _("request.text_expected"),
            reply_markup=ck.InlineKeyboardMarkup(inline_keyboard=[ck.cancel_row()]),
        )

    @router.message(StateFilter(RequestForm.situation))
    @router.message(StateFilter(RequestForm.needs))
    @router.message(StateFilter(RequestForm.place))
    @router.message(StateFilter(RequestForm.urgency))
    @router.message(StateFilter(RequestForm.contact))
    @router.message(StateFilter(RequestForm.consent_orgs))
    @router.message(StateFilter(RequestForm.consent_police))
    @router.message(StateFilter(RequestForm.sex))
    @router.message(StateFilter(RequestForm.age))
    @router.message(StateFilter(RequestForm.confirm))
    async def on_button_expected(
        message: Message, state: FSMContext, raw_state: str | None, directory: Directory, i18n: I18n
    ) -> None:
        if message.text and message.text.startswith("/"):
            await message.answer(_("request.finish_or_cancel"))
        question, markup = _ask(raw_state, await state.get_data(), directory, i18n.current_locale)
        await message.answer(_("request.use_buttons") + "\n\n" + question, reply_markup=markup)

    @router.callback_query(Rq.filter())
    async def on_stale(callback: CallbackQuery, bot: Bot) -> None:
        await stale_button(callback, bot)

    return router
