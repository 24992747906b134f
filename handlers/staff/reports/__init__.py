"""Reports for coordinators: /report or the workspace button -> programme -> year -> kind -> district
(regional coordinators) -> the message, the chart picture, and XLSX/CSV on request.

One handler per step (handlers.py); a refusal (AccessDenied) or a report that cannot be made as asked
(ReportError) is answered here, once for every step: refusals audited with the button pressed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ReportAction, Reports
from bot.keyboards import markup
from bot.services.reports import ReportError
from bot.services.staff import AccessDenied, StaffService
from bot.services.users import UserProfile
from handlers.staff.reports import handlers
from handlers.staff.reports.keyboards import another_row
from handlers.ui import chat_id_of

STEPS: dict[ReportAction, Callable[..., Awaitable[None]]] = {
    ReportAction.START: handlers.on_start,
    ReportAction.PROGRAMME: handlers.on_programme,
    ReportAction.YEAR: handlers.on_year,
    ReportAction.KIND: handlers.on_kind,
    ReportAction.REPORT: handlers.on_report,
    ReportAction.FILE: handlers.on_file,
}


class Refusals(BaseMiddleware):
    """The answer to a step that was refused or could not be made."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, CallbackQuery)
        try:
            return await handler(event, data)
        except AccessDenied as denial:
            profile: UserProfile = data["profile"]
            staff: StaffService = data["staff"]
            detail = (event.data or "")[:200]
            await staff.audit(
                profile.id, ("denied." + str(denial))[:40], detail=detail, actor_key=profile.key
            )
            await event.answer(_("report.denied"), show_alert=True)
        except ReportError as exc:
            bot: Bot = data["bot"]
            await event.answer()
            await bot.send_message(chat_id_of(event), _(str(exc)), reply_markup=markup(another_row()))
        return None


def create_router() -> Router:
    router = Router(name="reports")
    router.message.register(handlers.on_command, Command("report"))
    router.callback_query.middleware(Refusals())
    for action, handler in STEPS.items():
        router.callback_query.register(handler, Reports.filter(F.action == action))
    return router
