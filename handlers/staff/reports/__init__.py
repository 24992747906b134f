"""Reports for coordinators: /report or the workspace button -> oblast (when they coordinate more than
one) -> year (any year from the first programme's to this one) -> kind (the indicators and the annual
information only in a programme's years) -> district (regional coordinators) -> the message, the chart
picture, and XLSX/CSV on request.

One handler per step (handlers.py); a refusal (AccessDenied) or a report that cannot be made as asked
(ReportError) is answered here, once for every step: refusals audited with the button pressed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ReportAction, Reports
from bot.keyboards import markup
from bot.services.reports import ReportError
from handlers.staff.access import Refusals
from handlers.staff.reports import handlers
from handlers.staff.reports.keyboards import another_row
from handlers.ui import chat_id_of

STEPS: dict[ReportAction, Callable[..., Awaitable[None]]] = {
    ReportAction.START: handlers.on_start,
    ReportAction.OBLAST: handlers.on_oblast,
    ReportAction.YEAR: handlers.on_year,
    ReportAction.KIND: handlers.on_kind,
    ReportAction.REPORT: handlers.on_report,
    ReportAction.FILE: handlers.on_file,
}


def _pressed(callback: CallbackQuery, _data: dict[str, Any]) -> str:
    return (callback.data or "")[:200]


async def _cannot_make(callback: CallbackQuery, data: dict[str, Any], error: ReportError) -> None:
    bot: Bot = data["bot"]
    await callback.answer()
    await bot.send_message(chat_id_of(callback), _(str(error)), reply_markup=markup(another_row()))


def create_router() -> Router:
    router = Router(name="reports")
    router.message.register(handlers.on_command, Command("report"))
    router.callback_query.middleware(
        Refusals("report.denied", detail=_pressed, answers={ReportError: _cannot_make})
    )
    for action, handler in STEPS.items():
        router.callback_query.register(handler, Reports.filter(F.action == action))
    return router
