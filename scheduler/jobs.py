"""Scheduled jobs, in one table. APScheduler 3.11, started with the bot in the settings' time zone.

Jobs are plain coroutines over explicit dependencies, so tests run them at a chosen instant (the
services take an injected clock) without the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import case_keyboards as ck
from bot import render
from bot.services.cases import CaseService
from bot.services.directory import Directory
from bot.services.users import UserService
from handlers.notify import language_of, notify, notify_new_case
from scheduler.outbox import Outbox

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


async def case_deadlines(ctx: JobContext) -> int:
    """New cases not accepted in time remind the area's coordinators, then escalate to the regional
    coordinators and admins; referrals unanswered in time remind the organisation. Returns messages queued."""
    sent = 0
    for notice in await ctx.cases.due_notices():
        recipients = list(notice.recipients)
        if notice.extra.get("admins"):
            recipients = sorted(set(recipients) | ctx.admin_ids)
        if notice.kind.startswith("case."):
            sent += await notify_new_case(
                ctx.outbox, ctx.i18n, ctx.users, recipients, notice.case, ctx.directory, kind=notice.kind
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
    purged = await ctx.cases.purge_closed(ctx.retention_days)
    if purged:
        log.info("retention: %d closed cases purged", purged)
    return purged


# name -> (trigger, job). Missed runs (the bot was down) run once on start: coalesced, never twice.
JOBS: dict[str, tuple[Callable[[], object], Callable[[JobContext], Awaitable[int]]]] = {
    "case_deadlines": (lambda: IntervalTrigger(minutes=10), case_deadlines),
    "retention_purge": (lambda: CronTrigger(hour=3, minute=30), retention_purge),
}


def create_scheduler(ctx: JobContext, timezone: str) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        timezone=timezone,
        job_defaults={"coalesce": True, "misfire_grace_time": 6 * 3600, "max_instances": 1},
    )
    for name, (trigger, job) in JOBS.items():
        scheduler.add_job(job, trigger(), args=[ctx], id=name, name=name, replace_existing=True)
    return scheduler
