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
from bot.services.users import UserProfile
from handlers.staff.access import Refusals
from handlers.ui import show

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


async def _filing_refused(callback: CallbackQuery, data: dict[str, Any], error: ReportError) -> None:
    """A filing refused: the dialog ends with the explanation and the menu."""
    state: FSMContext = data["state"]
    bot: Bot = data["bot"]
    await state.clear()
    await show(callback, bot, _(str(error)), keyboards.menu_for(True))


# AccessDenied: audited as `denied.<the service's reason>` and answered with an alert.
answer_refusals = Refusals(answers={ReportError: _filing_refused})


async def reporting_only(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    """Filing is for a specialist of an organisation: their role reaches the handler as `reporting`
    (AccessDenied otherwise, answered by `answer_refusals`)."""
    police: PoliceReportService = data["police"]
    profile: UserProfile = data["profile"]
    data["reporting"] = police.reporting_organisation(profile.staff)
    return await handler(event, data)
