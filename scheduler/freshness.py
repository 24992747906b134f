"""Directory freshness: entries whose facts were last checked more than a year ago are sent to the
coordinators of their area, to confirm, correct or withdraw in one tap (handlers/staff/directory_checks/).

Who gets an entry: a district or community entry, the district's coordinators (the oblast's regional
coordinators when the district has none); an oblast-wide entry, the oblast's regional coordinators;
a national line, the admins (it is the deployment's, shared by every oblast: one owner, not one per
oblast). Nobody in charge: the admins.

Each stale entry is sent once, then again every REPEAT_DAYS while it stays unchecked (the day it was
sent is kept in directory_checks as "reminded"); a second run the same day sends nothing.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from bot.notices.directory import stale_entry
from bot.services.directory import Entry, regional_coordinators, reminded_first

if TYPE_CHECKING:
    from scheduler.jobs import JobContext

log = logging.getLogger("dovira")

REPEAT_DAYS = 30


async def recipients_of(ctx: JobContext, entry: Entry) -> list[int]:
    staff, admins = ctx.services.staff, sorted(ctx.services.settings.admin_ids)
    if entry.scope == "national":
        return admins
    found = await staff.telegram_ids(reminded_first(entry))
    if not found and entry.scope != "oblast":
        found = await staff.telegram_ids(regional_coordinators(entry.oblast))
    return found or admins


async def directory_freshness(ctx: JobContext) -> int:
    """Send each stale entry to those in charge of it. Returns messages queued."""
    checks = ctx.services.directory_checks
    await checks.load()  # checks made in another process since (several replicas share the database)
    today = ctx.today()
    last = await checks.last_reminders()
    queued, reminded = 0, []
    for entry in ctx.services.directory.stale(today):
        previous = last.get(entry.id)
        if previous is not None and previous > entry.checked_on and (today - previous).days < REPEAT_DAYS:
            continue
        recipients = await recipients_of(ctx, entry)
        if not recipients:
            log.warning("directory freshness: nobody to check entry %s", entry.id)
            continue
        queued += await ctx.tell(
            recipients,
            f"directory.stale:{entry.id}:{today}",
            functools.partial(stale_entry, entry, ctx.services.directory),
        )
        reminded.append(entry.id)
    # Recorded after queueing: a run that stops in between repeats nothing (the outbox keys on the day).
    await checks.record_reminders(reminded, today)
    if queued:
        log.info("directory freshness: %d reminders queued", queued)
    return queued
