"""Citizen: the anonymous help request dialog -> a case with a code; coordinators are notified.

The essentials first (what happened, where, how urgent, how to reach the person, consent), then a
review screen that sends the request, changes any answer in one tap and offers the optional additions
(needs, a description, sex, age group). Every step has Back, to the previous step with the answers
kept. The answers live in the FSM state (stored encrypted) until the person sends the request, so a
restart of the bot in the middle does not lose them.
"""

from __future__ import annotations

from html import escape
from typing import Any

import phonenumbers
from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import case_keyboards as ck
from bot import keyboards, render
from bot.callbacks import Menu, RequestStep
from bot.case_keyboards import CONSENTS
from bot.keyboards import NEED_BY_CODE
from bot.notices import keyboards as notice_keyboards
from bot.notices.cases import notify_area
from bot.notices.outgoing import Queue
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
from bot.services.places import is_outside
from bot.services.throttle import next_request_at
from bot.services.users import UserService
from bot.settings import Settings
from handlers.ui import chat_id_of, show, stale_button


class RequestForm(StatesGroup):
    situation = State()
    oblast = State()
    district = State()
    community = State()
    urgency = State()
    contact = State()
    phone = State()
    consent = State()
    review = State()
    # optional additions, reached from the review and back to it
    needs = State()
    description = State()
    sex = State()
    age = State()


ADDITIONS = ("needs", "description", "sex", "age")
EDITABLE = ("situation", "place", "urgency", "contact", "consent", *ADDITIONS)


def normalise_phone(raw: str) -> str | None:
    """A phone number as typed -> E.164 (+380671234567, +48601234567), or None when it is not a valid
    number: international form with +, or a Ukrainian one without it (067 123 4567, 380671234567)."""
    try:
        number = phonenumbers.parse(raw, "UA")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- the order of the steps -----------------------------------------------------------------------
def _name(state: str | None) -> str:
    return (state or "").split(":")[-1]


def _has_communities(data: dict[str, Any], directory: Directory) -> bool:
    district = directory.district(data.get("district") or "")
    return district is not None and bool(district.communities)


def _place_first(directory: Directory) -> str:
    """With one oblast in the directory there is nothing to choose: the place starts at the district."""
    return "oblast" if len(directory.oblasts) > 1 else "district"


def _place_last(data: dict[str, Any], directory: Directory) -> str:
    if is_outside(data.get("oblast")):
        return _place_first(directory)
    return "community" if _has_communities(data, directory) else "district"


def next_step(step: str, data: dict[str, Any], directory: Directory) -> str:
    """The step after `step` was answered. Changing an answer from the review goes back to the review
    once that answer (with the questions it depends on) is complete."""
    then = {
        "situation": _place_first(directory),
        "oblast": "urgency",
        "district": "urgency",
        "community": "urgency",
        "urgency": "contact",
        "contact": "consent",
        "phone": "consent",
    }.get(step, "review")
    if step == "oblast" and not is_outside(data.get("oblast")):
        return "district"
    if step == "district" and _has_communities(data, directory):
        return "community"
    if step == "contact" and data.get("contact") == "phone":
        return "phone"
    return "review" if data.get("editing") else then


def previous_step(step: str, data: dict[str, Any], directory: Directory) -> str | None:
    """Where Back goes: the step before (None: out of the dialog, to the menu). A question that belongs
    to an answer goes back to that answer's first question; changing from the review, back to it."""
    if step == "community" or (step == "district" and _place_first(directory) == "oblast"):
        return "district" if step == "community" else "oblast"
    if step == "phone":
        return "contact"
    if step in ("review", *ADDITIONS):
        return "consent" if step == "review" else "review"
    if data.get("editing"):
        return "review"
    return {
        "situation": None,
        "oblast": "situation",
        "district": "situation",
        "urgency": _place_last(data, directory),
        "contact": "urgency",
        "consent": "phone" if data.get("contact") == "phone" else "contact",
    }[step]


def ask(step: str, data: dict[str, Any], directory: Directory, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """The question (and keyboard) of a step, with the answer given so far marked."""
    if step == "oblast":
        return _("request.ask_oblast"), ck.oblasts(directory.oblasts, lang, data.get("oblast"))
    if step == "district":
        oblast = directory.oblast(data.get("oblast") or "") or directory.oblasts[0]
        single = _place_first(directory) == "district"
        outside = data.get("oblast") if is_outside(data.get("oblast")) else None
        return _("request.ask_district"), ck.districts(
            oblast, lang, data.get("district"), outside=outside, with_outside=single
        )
    if step == "community":
        return _("request.ask_community"), ck.communities(
            directory, data["district"], lang, data.get("community")
        )
    if step == "urgency":
        return _("request.ask_urgency"), ck.urgency(data.get("urgent"))
    if step == "contact":
        return _("request.ask_contact"), ck.contact(data.get("contact"))
    if step == "phone":
        return _("request.ask_phone"), ck.phone(data.get("phone"))
    if step == "consent":
        return _("request.ask_consent"), ck.consent(data.get("consent"))
    if step == "review":
        return render.request_summary(data, directory, lang), ck.review(data)
    if step == "needs":
        return _("request.ask_needs"), ck.needs(list(data.get("needs") or []))
    if step == "description":
        return _("request.ask_description").format(limit=DESCRIPTION_LIMIT), ck.description(
            bool(data.get("description"))
        )
    if step == "sex":
        return _("request.ask_sex"), ck.sex(data.get("sex"))
    if step == "age":
        return _("request.ask_age"), ck.age(data.get("age_group"))
    return _("request.ask_situation"), ck.situations(data.get("situation"))


def create_router() -> Router:
    router = Router(name="citizen-request")

    async def go(
        callback: CallbackQuery, bot: Bot, state: FSMContext, step: str, directory: Directory, lang: str
    ) -> None:
        """Show `step` in place of the screen the button was on."""
        data = await state.get_data()
        if step == "review":  # an answer changed from the review is complete: nothing to go back to
            await state.update_data(editing=False, before_edit=None)
        await state.set_state(getattr(RequestForm, step))
        text, markup = ask(step, data, directory, lang)
        await show(callback, bot, text, markup)

    async def answered(
        callback: CallbackQuery,
        bot: Bot,
        state: FSMContext,
        step: str,
        directory: Directory,
        lang: str,
        **updates: Any,
    ) -> None:
        data = await state.update_data(**updates)
        await go(callback, bot, state, next_step(step, data, directory), directory, lang)

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
        await show(
            callback, bot, _("request.intro") + "\n\n" + _("request.ask_situation"), ck.situations(None)
        )

    @router.callback_query(RequestStep.filter(F.step == "cancel"))
    async def on_cancel(callback: CallbackQuery, bot: Bot, state: FSMContext) -> None:
        await state.clear()
        await show(callback, bot, _("request.cancelled"), keyboards.main_menu())

    @router.callback_query(StateFilter(RequestForm), RequestStep.filter(F.step == "back"))
    async def on_back(
        callback: CallbackQuery,
        bot: Bot,
        state: FSMContext,
        raw_state: str | None,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        step = _name(raw_state)
        data = await state.get_data()
        to = previous_step(step, data, directory)
        if to is None:  # before the first question: out of the dialog, nothing kept
            await state.clear()
            await show(callback, bot, _("request.left"), keyboards.main_menu())
            return
        if step == "review":  # walking back through the questions, not changing one from the review
            await state.update_data(editing=False, before_edit=None)
        elif to == "review" and data.get("editing") and isinstance(data.get("before_edit"), dict):
            # Backing out of a change begun on the review: the answers as they were, not half a change
            # (a phone contact with no number, an oblast with no district).
            await state.update_data(**data["before_edit"])
        await go(callback, bot, state, to, directory, i18n.current_locale)

    @router.callback_query(StateFilter(RequestForm.review), RequestStep.filter(F.step == "edit"))
    async def on_edit(
        callback: CallbackQuery,
        callback_data: RequestStep,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        if callback_data.v not in EDITABLE:
            await stale_button(callback, bot)
            return
        data = await state.get_data()
        await state.update_data(editing=True, before_edit={key: data.get(key) for key in ANSWERS})
        step = _place_first(directory) if callback_data.v == "place" else callback_data.v
        await go(callback, bot, state, step, directory, i18n.current_locale)

    @router.callback_query(StateFilter(RequestForm.situation), RequestStep.filter(F.step == "sit"))
    async def on_situation(
        callback: CallbackQuery,
        callback_data: RequestStep,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        if callback_data.v not in {s.value for s in Situation}:
            await stale_button(callback, bot)
            return
        await answered(
            callback, bot, state, "situation", directory, i18n.current_locale, situation=callback_data.v
        )

    # "obl" comes from the oblast step, and from the district step when the directory has one oblast.
    @router.callback_query(
        StateFilter(RequestForm.oblast, RequestForm.district), RequestStep.filter(F.step == "obl")
    )
    async def on_oblast(
        callback: CallbackQuery,
        callback_data: RequestStep,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        chosen = callback_data.v
        if directory.oblast(chosen) is None and not is_outside(chosen):
            await stale_button(callback, bot)
            return
        data = await state.get_data()
        # The district and community depend on the oblast: kept for the same one, cleared for another.
        kept = data.get("oblast") == chosen
        await answered(
            callback,
            bot,
            state,
            "oblast",
            directory,
            i18n.current_locale,
            oblast=chosen,
            district=data.get("district") if kept else None,
            community=data.get("community") if kept else None,
        )

    @router.callback_query(StateFilter(RequestForm.district), RequestStep.filter(F.step == "dis"))
    async def on_district(
        callback: CallbackQuery,
        callback_data: RequestStep,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        data = await state.get_data()
        oblast_id = data.get("oblast")
        if _place_first(directory) == "district":
            oblast_id = directory.oblasts[0].id  # an earlier "abroad" here is replaced by the district
        oblast = directory.oblast(oblast_id or "")
        district = directory.district(callback_data.v)
        if oblast is None or not (
            callback_data.v == "*" or (district and directory.oblast_of(callback_data.v) is oblast)
        ):
            await stale_button(callback, bot)
            return
        community = data.get("community") if data.get("district") == callback_data.v else None
        await answered(
            callback,
            bot,
            state,
            "district",
            directory,
            i18n.current_locale,
            oblast=oblast.id,
            district=callback_data.v,
            community=community,
        )

    @router.callback_query(StateFilter(RequestForm.community), RequestStep.filter(F.step == "com"))
    async def on_community(
        callback: CallbackQuery,
        callback_data: RequestStep,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        district = directory.district((await state.get_data()).get("district") or "")
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
        await answered(
            callback, bot, state, "community", directory, i18n.current_locale, community=community or "*"
        )

    @router.callback_query(StateFilter(RequestForm.urgency), RequestStep.filter(F.step == "urg"))
    async def on_urgency(
        callback: CallbackQuery,
        callback_data: RequestStep,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        urgent = callback_data.v == "1"
        if urgent:  # 102/112 first, before any further question
            await bot.send_message(chat_id_of(callback), _("danger.text"))
        await answered(callback, bot, state, "urgency", directory, i18n.current_locale, urgent=urgent)

    @router.callback_query(StateFilter(RequestForm.contact), RequestStep.filter(F.step == "contact"))
    async def on_contact(
        callback: CallbackQuery,
        callback_data: RequestStep,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        if callback_data.v not in ("bot", "phone"):
            await stale_button(callback, bot)
            return
        # A number given before stays offered while the person may come back to "call me".
        await answered(
            callback, bot, state, "contact", directory, i18n.current_locale, contact=callback_data.v
        )

    @router.message(StateFilter(RequestForm.phone), F.text)
    async def on_phone(message: Message, state: FSMContext, directory: Directory, i18n: I18n) -> None:
        phone = normalise_phone(message.text or "")
        data = await state.get_data()
        if phone is None:
            await message.answer(_("request.bad_phone"), reply_markup=ck.phone(data.get("phone")))
            return
        data = await state.update_data(phone=phone)
        to = next_step("phone", data, directory)
        if to == "review":
            await state.update_data(editing=False)
        await state.set_state(getattr(RequestForm, to))
        question, markup = ask(to, data, directory, i18n.current_locale)
        await message.answer(question, reply_markup=markup)

    @router.callback_query(StateFilter(RequestForm.phone), RequestStep.filter(F.step == "phone_keep"))
    async def on_phone_kept(
        callback: CallbackQuery, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
    ) -> None:
        data = await state.get_data()
        if not data.get("phone"):
            await stale_button(callback, bot)
            return
        await go(callback, bot, state, next_step("phone", data, directory), directory, i18n.current_locale)

    @router.callback_query(StateFilter(RequestForm.consent), RequestStep.filter(F.step == "consent"))
    async def on_consent(
        callback: CallbackQuery,
        callback_data: RequestStep,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        if callback_data.v not in CONSENTS:
            await stale_button(callback, bot)
            return
        await answered(
            callback, bot, state, "consent", directory, i18n.current_locale, consent=callback_data.v
        )

    # --- the optional additions --------------------------------------------------------------------
    @router.callback_query(StateFilter(RequestForm.needs), RequestStep.filter(F.step == "need"))
    async def on_need(
        callback: CallbackQuery, callback_data: RequestStep, bot: Bot, state: FSMContext
    ) -> None:
        need = NEED_BY_CODE.get(callback_data.v)
        if need is None:
            await stale_button(callback, bot)
            return
        chosen = list((await state.get_data()).get("needs") or [])
        chosen.remove(need.value) if need.value in chosen else chosen.append(need.value)
        await state.update_data(needs=chosen)
        await show(callback, bot, _("request.ask_needs"), ck.needs(chosen))

    @router.callback_query(StateFilter(RequestForm.needs), RequestStep.filter(F.step == "needs_done"))
    async def on_needs_done(
        callback: CallbackQuery, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
    ) -> None:
        await go(callback, bot, state, "review", directory, i18n.current_locale)

    @router.message(StateFilter(RequestForm.description), F.text)
    async def on_description(message: Message, state: FSMContext, directory: Directory, i18n: I18n) -> None:
        text = (message.text or "").strip()
        if len(text) > DESCRIPTION_LIMIT:
            await message.answer(
                _("request.too_long").format(limit=DESCRIPTION_LIMIT, length=len(text)),
                reply_markup=ck.description(bool((await state.get_data()).get("description"))),
            )
            return
        data = await state.update_data(description=text or None, editing=False)
        await state.set_state(RequestForm.review)
        summary, markup = ask("review", data, directory, i18n.current_locale)
        await message.answer(_("request.noted") + "\n\n" + summary, reply_markup=markup)

    @router.callback_query(StateFilter(RequestForm.description), RequestStep.filter(F.step == "desc_clear"))
    async def on_description_cleared(
        callback: CallbackQuery, bot: Bot, state: FSMContext, directory: Directory, i18n: I18n
    ) -> None:
        await state.update_data(description=None)
        await go(callback, bot, state, "review", directory, i18n.current_locale)

    @router.callback_query(StateFilter(RequestForm.sex), RequestStep.filter(F.step == "sex"))
    async def on_sex(
        callback: CallbackQuery,
        callback_data: RequestStep,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        value = callback_data.v if callback_data.v in SEXES else "-"
        await answered(callback, bot, state, "sex", directory, i18n.current_locale, sex=value)

    @router.callback_query(StateFilter(RequestForm.age), RequestStep.filter(F.step == "age"))
    async def on_age(
        callback: CallbackQuery,
        callback_data: RequestStep,
        bot: Bot,
        state: FSMContext,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        value = callback_data.v if callback_data.v in AGE_GROUPS else "-"
        await answered(callback, bot, state, "age", directory, i18n.current_locale, age_group=value)

    # --- sending -----------------------------------------------------------------------------------
    @router.callback_query(StateFilter(RequestForm.review), RequestStep.filter(F.step == "send"))
    async def on_send(
        callback: CallbackQuery,
        bot: Bot,
        state: FSMContext,
        cases: CaseService,
        directory: Directory,
        users: UserService,
        i18n: I18n,
        settings: Settings,
        outbox: Queue,
    ) -> None:
        data = await state.get_data()
        try:
            draft = draft_of(data)
        except (KeyError, ValueError):
            # An answer is missing (it should not be): ask it, keeping everything else.
            await state.update_data(editing=True, before_edit=None)
            await go(callback, bot, state, first_missing(data, directory), directory, i18n.current_locale)
            return
        refusal = await over_limit(cases, chat_id_of(callback), settings)
        if refusal is not None:
            await state.clear()
            await show(callback, bot, refusal, keyboards.main_menu())
            return
        try:
            case = await cases.create(draft, chat_id_of(callback))
        except CaseError as exc:
            await show(callback, bot, _(str(exc)), ck.review(data))
            return
        await state.clear()
        await show(
            callback,
            bot,
            _("request.sent").format(code=escape(render.code(case.code))),
            notice_keyboards.my_case(case),
        )
        await notify_area(outbox, i18n, users, cases, directory, settings.admin_ids, [case], "case.new")

    # Anything but the expected answer while the dialog runs: say what is expected, ask again.
    @router.message(StateFilter(RequestForm.description, RequestForm.phone))
    async def on_not_text(
        message: Message, state: FSMContext, raw_state: str | None, directory: Directory, i18n: I18n
    ) -> None:
        _question, markup = ask(_name(raw_state), await state.get_data(), directory, i18n.current_locale)
        await message.answer(_("request.text_expected"), reply_markup=markup)

    @router.message(StateFilter(RequestForm))
    async def on_button_expected(
        message: Message, state: FSMContext, raw_state: str | None, directory: Directory, i18n: I18n
    ) -> None:
        if message.text and message.text.startswith("/"):
            await message.answer(_("request.finish_or_cancel"))
        question, markup = ask(_name(raw_state), await state.get_data(), directory, i18n.current_locale)
        await message.answer(_("request.use_buttons") + "\n\n" + question, reply_markup=markup)

    @router.callback_query(RequestStep.filter())
    async def on_stale(callback: CallbackQuery, bot: Bot) -> None:
        await stale_button(callback, bot)

    return router


# The answers a change begun on the review may touch (kept to restore when the person backs out of it).
ANSWERS = ("situation", "oblast", "district", "community", "urgent", "contact", "phone", "consent")


def first_missing(data: dict[str, Any], directory: Directory) -> str:
    """The first essential question without a valid answer."""
    if data.get("situation") not in {s.value for s in Situation}:
        return "situation"
    if not data.get("oblast"):
        return _place_first(directory)
    if "urgent" not in data:
        return "urgency"
    if data.get("contact") not in ("bot", "phone"):
        return "contact"
    if data.get("contact") == "phone" and not data.get("phone"):
        return "phone"
    return "consent"


def draft_of(data: dict[str, Any]) -> CaseDraft:
    """The case to file from the dialog's answers; KeyError/ValueError when an essential one is missing."""
    consent = data["consent"]
    if consent not in CONSENTS:
        raise ValueError(consent)
    contact = data["contact"]
    if contact == "phone" and not data.get("phone"):
        raise ValueError("phone")
    district = data.get("district")
    community = data.get("community")
    return CaseDraft(
        situation=Situation(data["situation"]),
        needs=list(data.get("needs") or []),
        oblast=data["oblast"],
        district=None if district in (None, "*") else district,
        community=None if community in (None, "*") else community,
        urgent=bool(data["urgent"]),
        contact=contact,
        consent_orgs=consent in ("all", "orgs"),
        consent_police=consent == "all",
        description=data.get("description"),
        phone=data.get("phone") if contact == "phone" else None,
        sex=data.get("sex") if data.get("sex") in SEXES else None,
        age_group=data.get("age_group") if data.get("age_group") in AGE_GROUPS else None,
    )
