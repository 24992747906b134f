"""Scheduled jobs, in one table. APScheduler 3.11, started with the bot in the settings' time zone.

Jobs are plain coroutines over explicit dependencies, so tests run them at a chosen instant (the
services take an injected clock) without the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import case_keyboards as ck
from bot import render
from bot.services.cases import CaseService
from bot.services.directory import Directory
from bot.services.police_reports import PoliceReportService, digest_docx, previous_month
from bot.services.staff import StaffService
from bot.services.users import UserService
from handlers.notify import language_of, notify, notify_new_case
from scheduler.outbox import Outbox, Outgoing

log = logging.getLogger("dovira")


@dataclass
class JobContext:
    bot: Bot
    outbox: Outbox
    cases: CaseService
    users: UserService
    i18n: I18n
    directory: Directory
    admin_ids: frozenset[int]
    retention_days: int
    police: PoliceReportService | None = None
    staff: StaffService | None = None
    police_report_day: int = 5
    timezone: str = "Europe/Kyiv"


async def case_deadlines(ctx: JobContext) -> int:
    """New cases not accepted in time remind the area's coordinators, then escalate to the regional
    coordinators and admins; referrals unanswered in time remind the organisation. Returns messages queued."""
    sent = 0
    for notice in await ctx.cases.due_notices():
        recipients = list(notice.recipients)
        if notice.kind.startswith("case."):
            sent += await notify_new_case(
                ctx.outbox, ctx.i18n, ctx.users, recipients, notice.case, ctx.directory, kind=notice.kind
            )
            if notice.extra.get("admins"):  # admins cannot take cases: told, without buttons
                admins = sorted(ctx.admin_ids - set(recipients))
                sent += await notify_new_case(
                    ctx.outbox,
                    ctx.i18n,
                    ctx.users,
                    admins,
                    notice.case,
                    ctx.directory,
                    kind=notice.kind,
                    with_buttons=False,
                )
            continue
        for telegram_id in recipients:
            lang = language_of(ctx.users, ctx.i18n, telegram_id)
            with ctx.i18n.context(), ctx.i18n.use_locale(lang):
                text = (
                    ctx.i18n.gettext("notice.referral.remind")
                    + "\n\n"
                    + render.case_summary(notice.case, ctx.directory, lang)
                )
                markup = ck.InlineKeyboardMarkup(
                    inline_keyboard=[[ck.button(ctx.i18n.gettext("referral.list"), ck.Rf(a="list"))]]
                )
                purpose = f"referral.remind:{notice.extra.get('referral')}"
                sent += await notify(ctx.outbox, telegram_id, purpose, text, markup)
    if sent:
        log.info("case deadlines: %d reminders queued", sent)
    return sent


async def retention_purge(ctx: JobContext) -> int:
    await ctx.outbox.purge()
    purged = await ctx.cases.purge_closed(ctx.retention_days)
    if purged:
        log.info("retention: %d closed cases purged", purged)
    return purged


async def police_reminders(ctx: JobContext) -> int:
    """From the 1st until the deadline, organisations that have not filed last month are reminded,
    once a day. Returns messages queued."""
    if ctx.police is None or ctx.staff is None:
        return 0
    today = ctx.police.clock().astimezone(ZoneInfo(ctx.timezone)).date()
    if today.day >= ctx.police_report_day:
        return 0
    month = previous_month(today)
    queued = 0
    for oblast in ctx.directory.oblasts:
        for status in await ctx.police.compliance(oblast.id, month):
            if status.state != "missing":
                continue
            org_id = status.organisation_id
            recipients = await ctx.staff.of_organisation(org_id, "specialist")
            for telegram_id in recipients:
                lang = language_of(ctx.users, ctx.i18n, telegram_id)
                with ctx.i18n.context(), ctx.i18n.use_locale(lang):
                    text = ctx.i18n.gettext("police.reminder").format(
                        month=render.month(month), day=ctx.police_report_day
                    )
                    markup = ck.InlineKeyboardMarkup(
                        inline_keyboard=[[ck.button(ctx.i18n.gettext("police.file"), ck.PrStart(a="start"))]]
                    )
                queued += await notify(
                    ctx.outbox, telegram_id, f"police.remind:{org_id}:{month}:{today}", text, markup
                )
    return queued


async def police_digest(ctx: JobContext) -> int:
    """On the deadline day the police liaison of each oblast gets last month's digest, with the
    official letter attached and a button to acknowledge it."""
    if ctx.police is None or ctx.staff is None:
        return 0
    today = ctx.police.clock().astimezone(ZoneInfo(ctx.timezone)).date()
    if today.day != ctx.police_report_day:
        return 0
    month = previous_month(today)
    queued = 0
    for oblast in ctx.directory.oblasts:
        statuses = await ctx.police.compliance(oblast.id, month)
        oblast_id = oblast.id
        liaisons = await ctx.staff.of_oblast(oblast_id, "police")
        for telegram_id in liaisons:
            lang = language_of(ctx.users, ctx.i18n, telegram_id)
            with ctx.i18n.context(), ctx.i18n.use_locale(lang):
                text, lines = render.police_digest(
                    statuses, month, oblast.name.get(lang), ctx.directory, lang
                )
                markup = ck.InlineKeyboardMarkup(
                    inline_keyboard=[
                        [
                            ck.button(
                                ctx.i18n.gettext("police.acknowledge"),
                                ck.PrStart(a="ack", v=f"{oblast_id}|{month}"),
                            )
                        ]
                    ]
                )
            queued += await ctx.outbox.enqueue(
                [
                    Outgoing(
                        telegram_id,
                        f"police.digest:{oblast_id}:{month}",
                        text,
                        markup,
                        document_name=f"digest-{oblast_id}-{month}.docx",
                        document=digest_docx(lines[0], lines[1:]),
                    )
                ]
            )
    return queued


# name -> (trigger, job), in the scheduler's time zone. A run missed while the bot was down runs
# once on start (coalesced), never twice; the jobs themselves are idempotent through the outbox.
JOBS: dict[str, tuple[Callable[[], object], Callable[[JobContext], Awaitable[int]]]] = {
    "case_deadlines": (lambda: IntervalTrigger(minutes=10), case_deadlines),
    "retention_purge": (lambda: CronTrigger(hour=3, minute=30), retention_purge),
    "police_reminders": (lambda: CronTrigger(hour=10, minute=0), police_reminders),
    "police_digest": (lambda: CronTrigger(hour=12, minute=0), police_digest),
}


def create_scheduler(ctx: JobContext, timezone: str) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        timezone=timezone,
        job_defaults={"coalesce": True, "misfire_grace_time": 6 * 3600, "max_instances": 1},
    )
    for name, (trigger, job) in JOBS.items():
        scheduler.add_job(job, trigger(), args=[ctx], id=name, name=name, replace_existing=True)
    return scheduler
