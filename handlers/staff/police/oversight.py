"""What the police liaison and the coordinators do with the month's notifications: acknowledge the digest
(its button comes with the digest, bot/notices/police.py), get a past month's digest and letter again, and
see who filed."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.callbacks import PoliceReports
from bot.notices.police import digest_buttons, digest_file
from bot.services.directory import Directory
from bot.services.police_reports import PoliceReportService, parse_month, previous_month, recent_months
from bot.services.staff import AccessDenied, Role
from bot.services.users import UserProfile
from bot.telegram_text import CAPTION_LIMIT, visible_length
from handlers.staff.police import keyboards as kb
from handlers.ui import chat_id_of, show

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


def _liaison_oblast(profile: UserProfile, asked: str) -> str:
    """The oblast asked for, or (from a button without one) the liaison's own; the service checks it."""
    if asked:
        return asked
    return next((r.oblast for r in profile.staff if r.role == Role.POLICE and r.oblast), "")


async def on_digests(
    callback: CallbackQuery,
    callback_data: PoliceReports,
    bot: Bot,
    profile: UserProfile,
    police: PoliceReportService,
) -> None:
    """The months whose digest the police liaison can get again."""
    oblast = _liaison_oblast(profile, callback_data.value)
    if not any(r.role == Role.POLICE and r.oblast == oblast for r in profile.staff):
        raise AccessDenied("police_digest.again")
    await callback.answer()
    await bot.send_message(
        chat_id_of(callback),
        _("letter.choose_month"),
        reply_markup=kb.digest_months(oblast, police.past_months()),
    )


async def on_digest(
    callback: CallbackQuery,
    callback_data: PoliceReports,
    bot: Bot,
    profile: UserProfile,
    police: PoliceReportService,
    directory: Directory,
    i18n: I18n,
) -> None:
    """A past month's digest with its letter, as it would be sent today (amendments marked)."""
    oblast_id, _sep, month = callback_data.value.partition("|")
    statuses, template = await police.past_digest(profile.staff, oblast_id, month)
    oblast = directory.oblast(oblast_id)
    if oblast is None:
        raise AccessDenied("police_digest.oblast")
    text, name, letter = digest_file(statuses, month, oblast, directory, template, i18n.current_locale)
    await callback.answer()
    chat = chat_id_of(callback)
    caption = text if visible_length(text) <= CAPTION_LIMIT else None
    if caption is None:  # as the digest itself goes (bot/notices/outbox.py): a long text first
        await bot.send_message(chat, text, protect_content=True)
    await bot.send_document(
        chat,
        BufferedInputFile(letter, name),
        caption=caption,
        reply_markup=digest_buttons(oblast_id, month),
        protect_content=True,
    )
