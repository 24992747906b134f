"""Scheduled jobs, in one table. APScheduler 3.11, started with the bot in the settings' time zone.

Jobs are plain coroutines over the process's services (bot/composition.py), so tests run them at a
chosen instant (the job context's clock, and the services' own) without the scheduler.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.composition import Services
from bot.notices import cases as case_notices
from bot.notices import police as police_notices
from bot.notices import reconciliation as reconciliation_notices
from bot.notices import reminders
from bot.notices.delivery import Composed, compose_with, language_of, tell
from bot.services.police_reports import previous_month
from bot.services.reconciliation import SIDES, reconciliation_due, speaks_for
from bot.services.staff import Role, StaffRole
from scheduler import reminder_calendar as cal
from scheduler.freshness import directory_freshness
from scheduler.runs import JobRuns

log = logging.getLogger("dovira")


@dataclass
class JobContext:
    """What a job runs with: the process's services, the bot its outbox sends through, and the clock
    that says which day it is (tests move it)."""

    services: Services
    bot: Bot
    clock: Callable[[], datetime]

    def today(self) -> date:
        """The date in Kyiv (the settings' zone), whatever the server's clock zone."""
        return self.clock().astimezone(ZoneInfo(self.services.settings.timezone)).date()

    async def staff_ids(self, oblast: str, *roles: str, regional_only: bool = False) -> list[int]:
        def matches(r: StaffRole) -> bool:
            return r.oblast == oblast and r.role in roles and (r.district is None or not regional_only)

        return await self.services.staff.telegram_ids(matches)

    async def tell(self, recipients: list[int], purpose: str, compose: Callable[[str], Composed]) -> int:
        """One message per recipient, composed in their language, through the outbox."""
        s = self.services
        return await tell(s.outbox, s.users, s.i18n, recipients, purpose, compose)


async def case_deadlines(ctx: JobContext) -> int:
    """New cases not accepted in time remind the area's coordinators, then escalate to the regional
    coordinators and admins; referrals unanswered in time remind the organisation. Returns messages queued."""
    s = ctx.services
    admin_ids = s.settings.admin_ids
    # Cases whose coordinator's role went without the admin screen (the database, a crash between the
    # removal and the release): released here, within ten minutes.
    released = await s.cases.release_orphans()
    sent = await case_notices.notify_area(
        s.outbox, s.i18n, s.users, s.cases, s.directory, admin_ids, released, "case.released"
    )
    notices = await s.cases.due_notices()
    for notice in notices:
        recipients = list(notice.recipients)
        case = notice.case
        if notice.kind.startswith("case."):
            sent += await case_notices.notify_new_case(
                s.outbox, s.i18n, s.users, recipients, case, s.directory, kind=notice.kind
            )
            if notice.extra.get("admins"):  # admins cannot take cases: told, without buttons
                admins = sorted(admin_ids - set(recipients))
                sent += await case_notices.notify_new_case(
                    s.outbox, s.i18n, s.users, admins, case, s.directory, kind=notice.kind, with_buttons=False
                )
            continue
        sent += await ctx.tell(
            recipients,
            f"referral.remind:{notice.extra.get('referral')}",
            functools.partial(case_notices.referral_reminder, case, s.directory),
        )
    # Marked only once queued: a crash before this line queues them again, and the outbox's
    # (recipient, purpose) key turns that into nothing.
    await s.cases.mark_notified(notices)
    if sent:
        log.info("case deadlines: %d reminders queued", sent)
    return sent


async def dialog_expiry(ctx: JobContext) -> int:
    """Unfinished dialogs are deleted a day after their last step (Redis expires its keys itself)."""
    return await ctx.services.storage.expire(ctx.clock())


async def retention_purge(ctx: JobContext) -> int:
    s = ctx.services
    await s.outbox.purge()
    purged = await s.cases.purge_closed(s.settings.case_retention_days)
    if purged:
        log.info("retention: %d closed cases purged", purged)
    return purged


async def police_reminders(ctx: JobContext) -> int:
    """From the 1st until the deadline, organisations that have not filed last month are reminded,
    once a day. Returns messages queued."""
    s = ctx.services
    due_day = s.settings.police_report_day
    today = ctx.today()
    if today.day >= due_day:
        return 0
    month = previous_month(today)
    queued = 0
    for oblast in s.directory.oblasts:
        for status in await s.police.compliance(oblast.id, month):
            if status.state != "missing":
                continue
            org_id = status.organisation_id
            recipients = await s.staff.of_organisation(org_id, "specialist")
            queued += await ctx.tell(
                recipients,
                f"police.remind:{org_id}:{month}:{today}",
                compose_with(police_notices.reminder, month, due_day),
            )
    return queued


async def police_digest(ctx: JobContext) -> int:
    """On the deadline day the police liaison of each oblast gets last month's digest, with the
    official letter attached and a button to acknowledge it."""
    s = ctx.services
    today = ctx.today()
    if today.day != s.settings.police_report_day:
        return 0
    month = previous_month(today)
    queued = 0
    for oblast in s.directory.oblasts:
        statuses = await s.police.compliance(oblast.id, month)
        template = await s.police.letters.current(oblast.id)
        purpose = f"police.digest:{oblast.id}:{month}"
        for telegram_id in await s.staff.of_oblast(oblast.id, "police"):
            lang = await language_of(s.users, s.i18n, telegram_id)
            with s.i18n.context(), s.i18n.use_locale(lang):
                digest = police_notices.digest(
                    telegram_id, purpose, statuses, month, oblast, s.directory, lang, template
                )
            queued += await s.outbox.enqueue([digest])
    return queued


async def reconciliation_reminders(ctx: JobContext) -> int:
    """On the quarter's last working day the police liaison and the regional coordinators are asked
    for their figures; then every 3 days each side that has not confirmed is reminded, until the
    quarter is reconciled. Returns messages queued."""
    s = ctx.services
    due = reconciliation_due(ctx.today())
    queued = 0
    for oblast in s.directory.oblasts:
        view = await s.reconciliation.view(oblast.id, due.quarter)
        if view.reconciled:
            continue
        for side in SIDES:
            if getattr(view, f"{side}_confirmed"):
                continue
            speaking = functools.partial(speaks_for, side=side, oblast=oblast.id)
            recipients = await s.staff.telegram_ids(speaking)
            queued += await ctx.tell(
                recipients,
                f"reconcile.{due.reminder}:{oblast.id}:{due.quarter}",
                compose_with(reconciliation_notices.reminder, view, side, due.reminder),
            )
    return queued


async def council_reminders(ctx: JobContext) -> int:
    """Coordination council meetings: every coordinator of the oblast is reminded a week and a day
    ahead, and asked to log the meeting afterwards (it is a programme indicator)."""
    s = ctx.services
    queued = 0
    for when, lead in cal.council_due(ctx.today(), s.settings.council_meetings):
        for oblast in s.directory.oblasts:
            recipients = await ctx.staff_ids(oblast.id, Role.COORDINATOR)
            queued += await ctx.tell(
                recipients, f"council:{when}:{lead}", compose_with(reminders.council, when, lead)
            )
    return queued


async def awareness_days(ctx: JobContext) -> int:
    """Awareness days are announced two weeks and one day ahead to coordinators and specialists,
    asking which campaign they will hold and log."""
    queued = 0
    for key, when, lead in cal.awareness_due(ctx.today()):
        for oblast in ctx.services.directory.oblasts:
            recipients = await ctx.staff_ids(oblast.id, Role.COORDINATOR, Role.SPECIALIST)
            queued += await ctx.tell(
                recipients,
                f"awareness:{key}:{when.year}:{lead}",
                compose_with(reminders.awareness, key, when, lead),
            )
    return queued


async def annual_information(ctx: JobContext) -> int:
    """The annual information is due 25 February: on 1, 15 and 22 February the regional
    coordinators of each programme get a reminder with the draft report for last year attached."""
    s = ctx.services
    reminder = cal.annual_reminder_due(ctx.today())
    if reminder is None:
        return 0
    year = ctx.today().year - 1
    queued = 0
    for programme in s.programmes:
        if year not in programme.years:
            continue
        drafts: dict[str, tuple[str, str, bytes]] = {}
        for telegram_id in await ctx.staff_ids(programme.oblast, Role.COORDINATOR, regional_only=True):
            lang = await language_of(s.users, s.i18n, telegram_id)
            if lang not in drafts:
                drafts[lang] = await s.reports.annual_information(programme.id, year, lang)
            purpose = f"annual:{programme.id}:{year}:{reminder}"
            with s.i18n.context(), s.i18n.use_locale(lang):
                message = reminders.annual_information(
                    telegram_id, purpose, programme, year, cal.ANNUAL_DUE_DAY, lang, drafts[lang]
                )
            queued += await s.outbox.enqueue([message])
    return queued


def _daily(hour: int, minute: int = 0) -> Callable[[str], BaseTrigger]:
    return lambda tz: CronTrigger(hour=hour, minute=minute, timezone=tz)


# name -> (trigger in the given time zone, job). Calendar jobs run daily and work out from the Kyiv
# date what is due (scheduler/reminder_calendar.py), so a day missed while the bot was down is made up
# once on start (see `missed_jobs`); the outbox's (recipient, purpose) key keeps each message single.
JOBS: dict[str, tuple[Callable[[str], BaseTrigger], Callable[[JobContext], Awaitable[int]]]] = {
    "case_deadlines": (lambda tz: IntervalTrigger(minutes=10, timezone=tz), case_deadlines),
    "retention_purge": (_daily(3, 30), retention_purge),
    "dialog_expiry": (lambda tz: IntervalTrigger(minutes=10, timezone=tz), dialog_expiry),
    "police_reminders": (_daily(10), police_reminders),
    "police_digest": (_daily(12), police_digest),
    "reconciliation_reminders": (_daily(10, 5), reconciliation_reminders),
    "council_reminders": (_daily(9), council_reminders),
    "awareness_days": (_daily(9, 30), awareness_days),
    "annual_information": (_daily(9, 15), annual_information),
    "directory_freshness": (_daily(9, 0), directory_freshness),
}


def missed_jobs(last_runs: dict[str, datetime], now: datetime, timezone: str) -> set[str]:
    """Jobs whose trigger fired (once or many times) since their last recorded run: each runs once
    on start. A job never recorded (a new installation) is not made up."""
    missed = set()
    for name, (trigger, _job) in JOBS.items():
        last = last_runs.get(name)
        if last is None:
            continue
        due = trigger(timezone).get_next_fire_time(None, last + timedelta(microseconds=1))
        if due is not None and due <= now:
            missed.add(name)
    return missed


def create_scheduler(
    ctx: JobContext,
    timezone: str,
    *,
    runs: JobRuns | None = None,
    last_runs: dict[str, datetime] | None = None,
) -> AsyncIOScheduler:
    """The scheduler with every job of the table. Jobs missed while the bot was down (by the recorded
    last runs) are due at once, so they run a single time when the scheduler starts."""
    scheduler = AsyncIOScheduler(
        timezone=timezone,
        job_defaults={"coalesce": True, "misfire_grace_time": 6 * 3600, "max_instances": 1},
    )
    now = ctx.clock()
    missed = missed_jobs(last_runs or {}, now, timezone)
    for name, (trigger, _job) in JOBS.items():
        extra = {"next_run_time": now} if name in missed else {}
        scheduler.add_job(
            run_job,
            trigger(timezone),
            args=[name, ctx, runs],
            id=name,
            name=name,
            replace_existing=True,
            **extra,
        )
    return scheduler


async def run_job(name: str, ctx: JobContext, runs: JobRuns | None = None) -> int:
    """Run one job of the table and record the run (a failed run is not recorded: it is made up)."""
    started = ctx.clock()
    queued = await JOBS[name][1](ctx)
    if runs is not None:
        await runs.record(name, started)
    return queued
