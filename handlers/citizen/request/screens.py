"""Showing a step of the help request: its question and buttons, with the answer given so far marked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.services.cases import DESCRIPTION_LIMIT
from bot.services.directory import Directory
from bot.services.places import is_outside
from handlers.citizen.request import keyboards as kb
from handlers.citizen.request.states import RequestForm
from handlers.citizen.request.steps import next_step, place_first
from handlers.ui import show

Screen = tuple[str, InlineKeyboardMarkup]


def _situation(data: dict[str, Any], _directory: Directory, _lang: str) -> Screen:
    return _("request.ask_situation"), kb.situations(data.get("situation"))


def _oblast(data: dict[str, Any], directory: Directory, lang: str) -> Screen:
    return _("request.ask_oblast"), kb.oblasts(directory.oblasts, lang, data.get("oblast"))


def _district(data: dict[str, Any], directory: Directory, lang: str) -> Screen:
    oblast = directory.oblast(data.get("oblast") or "") or directory.oblasts[0]
    single = place_first(directory) == "district"
    outside = data.get("oblast") if is_outside(data.get("oblast")) else None
    return _("request.ask_district"), kb.districts(
        oblast, lang, data.get("district"), outside=outside, with_outside=single
    )


def _community(data: dict[str, Any], directory: Directory, lang: str) -> Screen:
    return _("request.ask_community"), kb.communities(
        directory, data["district"], lang, data.get("community")
    )


def _urgency(data: dict[str, Any], _directory: Directory, _lang: str) -> Screen:
    return _("request.ask_urgency"), kb.urgency(data.get("urgent"))


def _contact(data: dict[str, Any], _directory: Directory, _lang: str) -> Screen:
    return _("request.ask_contact"), kb.contact(data.get("contact"))


def _phone(data: dict[str, Any], _directory: Directory, _lang: str) -> Screen:
    return _("request.ask_phone"), kb.phone(data.get("phone"))


def _consent(data: dict[str, Any], _directory: Directory, _lang: str) -> Screen:
    return _("request.ask_consent"), kb.consent(data.get("consent"))


def _review(data: dict[str, Any], directory: Directory, lang: str) -> Screen:
    return render.request_summary(data, directory, lang), kb.review(data)


def _needs(data: dict[str, Any], _directory: Directory, _lang: str) -> Screen:
    return _("request.ask_needs"), kb.needs(list(data.get("needs") or []))


def _description(data: dict[str, Any], _directory: Directory, _lang: str) -> Screen:
    return _("request.ask_description").format(limit=DESCRIPTION_LIMIT), kb.description(
        bool(data.get("description"))
    )


def _sex(data: dict[str, Any], _directory: Directory, _lang: str) -> Screen:
    return _("request.ask_sex"), kb.sex(data.get("sex"))


def _age(data: dict[str, Any], _directory: Directory, _lang: str) -> Screen:
    return _("request.ask_age"), kb.age(data.get("age_group"))


QUESTIONS: dict[str, Callable[[dict[str, Any], Directory, str], Screen]] = {
    "situation": _situation,
    "oblast": _oblast,
    "district": _district,
    "community": _community,
    "urgency": _urgency,
    "contact": _contact,
    "phone": _phone,
    "consent": _consent,
    "review": _review,
    "needs": _needs,
    "description": _description,
    "sex": _sex,
    "age": _age,
}


def ask(step: str, data: dict[str, Any], directory: Directory, lang: str) -> Screen:
    """The question (and keyboard) of a step, with the answer given so far marked; the first question
    for a step it does not know."""
    return QUESTIONS.get(step, _situation)(data, directory, lang)


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
    """`step` was answered (`updates`: the answers to keep): on to the step after it."""
    data = await state.update_data(**updates)
    await go(callback, bot, state, next_step(step, data, directory), directory, lang)
