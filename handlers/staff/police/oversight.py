"""What the police liaison and the coordinators do with the month's notifications: acknowledge the digest
(its button comes with the digest, bot/notices/police.py) and see who filed."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.callbacks import PoliceReports
from bot.services.police_reports import PoliceReportService, parse_month, previous_month, recent_months
from bot.services.staff import AccessDenied, Role
from bot.services.users import UserProfile
from handlers.staff.police import keyboards as kb
from handlers.ui import show

MONTHS_OFFERED = 12  # in the compliance table: this month and the eleven before


async def on_acknowledge(
    callback: CallbackQuery, callback_data: PoliceReports, profile: UserProfile, police: PoliceReportService
) -> None:
    """The police liaison confirms receipt (the service checks it is theirs to confirm)."""
    oblast, _sep, month = callback_data.value.partition("|")
    first = await police.acknowledge(profile.staff_id, profile.staff, oblast, month)
    await callback.answer(_("police.ack_done") if first else _("police.ack_already"), show_alert=True)


async def on_compliance(
    callback: CallbackQuery,
    callback_data: PoliceReports,
    bot: Bot,
    profile: UserProfile,
    police: PoliceReportService,
) -> None:
    """Which organisations of the coordinator's oblast filed the month (last month unless one is chosen)."""
    coordinator = next((r for r in profile.staff if r.role == Role.COORDINATOR and r.oblast), None)
    if coordinator is None or coordinator.oblast is None:
        raise AccessDenied("police.compliance")
    today = police.today()
    month = (
        callback_data.value
        if parse_month(callback_data.value) == callback_data.value
        else previous_month(today)
    )
    table = render.compliance_table(
        await police.compliance(coordinator.oblast, month),
        month,
        await police.acknowledged(coordinator.oblast, month) is not None,
    )
    await show(callback, bot, table, kb.compliance_months(recent_months(today, MONTHS_OFFERED), month))
