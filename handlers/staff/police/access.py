"""Who may do what with the monthly notifications is the service's to say (PoliceReportService): filing
is for specialists of an organisation, acknowledging for the oblast's police liaison, the compliance table
for coordinators. The flow has no single role, so no role gate: these middlewares answer what the service
refuses, for every button of the flow, as before the restructure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.services.police_reports import PoliceReportService, ReportError
from bot.services.staff import AccessDenied, StaffService
from bot.services.users import UserProfile
from handlers.ui import show

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


async def answer_refusals(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    """AccessDenied: audited as `denied.<the service's reason>` and answered with an alert; ReportError
    (a filing refused): the dialog ends with the explanation and the menu."""
    try:
        return await handler(event, data)
    except AccessDenied as denial:
        profile: UserProfile = data["profile"]
        staff: StaffService = data["staff"]
        await staff.audit(profile.id, "denied." + str(denial)[:30], actor_key=profile.key)
        assert isinstance(event, CallbackQuery)
        await event.answer(_("staff.denied"), show_alert=True)
    except ReportError as exc:
        state: FSMContext = data["state"]
        bot: Bot = data["bot"]
        await state.clear()
        assert isinstance(event, CallbackQuery)
        await show(event, bot, _(str(exc)), keyboards.menu_for(True))
    return None


async def reporting_only(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    """Filing is for a specialist of an organisation: their role reaches the handler as `reporting`
    (AccessDenied otherwise, answered by `answer_refusals`)."""
    police: PoliceReportService = data["police"]
    profile: UserProfile = data["profile"]
    data["reporting"] = police.reporting_organisation(profile.staff)
    return await handler(event, data)
