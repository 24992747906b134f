"""Sending the request: the case is filed, its code shown, the area's coordinators told; a chat that filed
its day's share of requests is told when it may file again (bot/services/throttle.py)."""

from __future__ import annotations

from html import escape

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards, render
from bot.notices import keyboards as notice_keyboards
from bot.notices.cases import notify_area
from bot.notices.outgoing import Queue
from bot.services.cases import CaseError, CaseService
from bot.services.directory import Directory
from bot.services.users import UserService
from bot.settings import Settings
from handlers.citizen.request import keyboards as kb
from handlers.citizen.request.answers import draft_of
from handlers.citizen.request.screens import go
from handlers.citizen.request.steps import first_missing
from handlers.ui import chat_id_of, show


async def over_limit(cases: CaseService, chat_id: int, settings: Settings) -> str | None:
    """The refusal to show when this chat filed its day's share of requests; None when it may file."""
    at = await cases.next_request_at(chat_id)
    if at is None:
        return None
    return _("security.request_limit").format(when=at.astimezone(settings.tz).strftime("%d.%m %H:%M"))


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
        await show(callback, bot, _(str(exc)), kb.review(data))
        return
    await state.clear()
    code = escape(render.code(case.code))
    await show(callback, bot, _("request.sent").format(code=code), notice_keyboards.my_case(case))
    await notify_area(outbox, i18n, users, cases, directory, settings.admin_ids, [case], "case.new")
