"""The scheduler's jobs at chosen instants (no sleeping): each calendar job fires on its dates and only
then, in Kyiv time across the DST changes; a job missed while the bot was down runs once on start.

Each day is run at the instant the job's own trigger gives, against the real database and outbox."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import select

from bot.app import App, build_app
from bot.services.reconciliation import FIELDS, ReconciliationDue, last_working_day, reconciliation_due
from bot.services.staff import Role, StaffRole
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.models import User, UserRole
from scheduler.jobs import JOBS, JobContext, create_scheduler, missed_jobs, run_job
from scheduler.runs import JobRuns

KYIV = ZoneInfo("Europe/Kyiv")
REGION, DISTRICT, SPECIALIST, POLICE = 2001, 2002, 3001, 4001
FIGURES = dict(zip(FIELDS, (10, 6, 4, 8, 2, 5, 4, 1, 3, 2, 9), strict=True))

pytestmark = pytest.mark.usefixtures("quick_chat_pacing")


@pytest.fixture
async def app(settings: Settings, server: FakeTelegramServer) -> AsyncIterator[App]:
    app = await build_app(settings)
    async with app.sessionmaker() as session, session.begin():
        for telegram_id, role, district in (
            (REGION, "coordinator", None),
            (DISTRICT, "coordinator", "kharkivskyi"),
            (SPECIALIST, "specialist", None),
            (POLICE, "police", None),
        ):
            user = User(telegram_id=telegram_id, roles=[])
            session.add(user)
            await session.flush()
            session.add(UserRole(user_id=user.id, role=role, oblast="kharkiv", district=district))
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
async def ctx(app: App, server: FakeTelegramServer) -> AsyncIterator[JobContext]:
    """What the running bot's scheduler gets, with a bot talking to the fake Bot API server."""
    for telegram_id in (REGION, DISTRICT, SPECIALIST, POLICE):
        server.add_user(telegram_id)
    bot = server.create_bot()
    try:
        yield app.job_context(bot)
    finally:
        await bot.session.close()


async def fire_daily(ctx: JobContext, name: str, first: date, last: date) -> dict[date, int]:
    """Run job `name` once a day from `first` to `last`, each time at the instant its trigger fires.
    Returns the Kyiv dates on which it queued messages, with how many."""
    trigger = JOBS[name][0](ctx.services.settings.timezone)
    fired: dict[date, int] = {}
    day = first
    while day <= last:
        start = datetime.combine(day, time(0), KYIV)
        instant = trigger.get_next_fire_time(None, start)
        assert instant is not None and instant.astimezone(KYIV).date() == day
        ctx.clock = lambda instant=instant: instant.astimezone(UTC)
        queued = await JOBS[name][1](ctx)
        if queued:
            fired[day] = queued
        day += timedelta(days=1)
    return fired


def test_daily_triggers_keep_kyiv_time_across_both_dst_changes() -> None:
    # 2027: summer time starts 28 March, ends 31 October; 10:00 in Kyiv is 08:00 UTC, then 07:00, then 08:00.
    trigger = JOBS["police_reminders"][0]("Europe/Kyiv")
    previous = datetime(2027, 3, 26, tzinfo=KYIV)
    seen = []
    for _day in range(220):
        fire = trigger.get_next_fire_time(None, previous + timedelta(seconds=1))
        assert fire is not None
        seen.append(fire)
        previous = fire
    assert all(f.astimezone(KYIV).time() == time(10, 0) for f in seen)
    dates = [f.astimezone(KYIV).date() for f in seen]
    assert dates == [date(2027, 3, 26) + timedelta(days=i) for i in range(220)]  # each day, exactly once
    utc_hours = {f.astimezone(KYIV).date(): f.astimezone(UTC).hour for f in seen}
    assert utc_hours[date(2027, 3, 27)] == 8 and utc_hours[date(2027, 3, 28)] == 7
    assert utc_hours[date(2027, 10, 30)] == 7 and utc_hours[date(2027, 10, 31)] == 8


def test_the_reconciliation_opens_on_the_quarters_last_working_day() -> None:
    assert last_working_day(2026, 4) == date(2026, 12, 31)  # Thursday
    assert last_working_day(2027, 1) == date(2027, 3, 31)  # Wednesday
    assert last_working_day(2027, 2) == date(2027, 6, 30)
    assert last_working_day(2027, 3) == date(2027, 9, 30)
    assert last_working_day(2027, 4) == date(2027, 12, 31)  # Friday
    assert last_working_day(2028, 3) == date(2028, 9, 29)  # 30 September 2028 is a Saturday
    # Until the quarter's opening day the previous quarter is the one to reconcile.
    assert reconciliation_due(date(2027, 3, 30)).quarter == "2026-Q4"
    assert reconciliation_due(date(2027, 3, 31)) == ReconciliationDue("2027-Q1", date(2027, 3, 31), 0)
    assert reconciliation_due(date(2027, 4, 3)).reminder == 1


async def test_awareness_days_are_announced_two_weeks_and_one_day_ahead_only(
    app: App, server: FakeTelegramServer, ctx: JobContext
) -> None:
    fired = await fire_daily(ctx, "awareness_days", date(2027, 1, 1), date(2027, 12, 31))
    assert sorted(fired) == [
        date(2027, 7, 16),
        date(2027, 7, 29),
        date(2027, 10, 4),
        date(2027, 10, 17),
        date(2027, 11, 11),  # 16 days against violence from 25 November
        date(2027, 11, 18),  # 2 December
        date(2027, 11, 24),
        date(2027, 12, 1),
    ]
    assert set(fired.values()) == {3}  # both coordinators and the specialist; not the police
    await app.outbox.send_due(ctx.bot)
    texts = [m["text"] for m in server.bot_messages(SPECIALIST)]
    assert any("Через два тижні, 30.07" in t and "торгівлі людьми" in t for t in texts)
    assert not server.bot_messages(POLICE)


async def test_council_meetings_are_reminded_a_week_and_a_day_ahead(
    app: App, server: FakeTelegramServer, ctx: JobContext
) -> None:
    meetings = app.settings.model_copy(update={"council_meetings": ((2, 10), (11, 3))})
    ctx.services = dataclasses.replace(app, settings=meetings)
    fired = await fire_daily(ctx, "council_reminders", date(2027, 1, 1), date(2027, 12, 31))
    assert sorted(fired) == [date(2027, 2, 3), date(2027, 2, 9), date(2027, 10, 27), date(2027, 11, 2)]
    assert set(fired.values()) == {2}  # the regional and the district coordinator


async def test_reconciliation_reminds_every_three_days_until_both_sides_confirm(
    app: App, server: FakeTelegramServer, ctx: JobContext
) -> None:
    # (From 31 December to 30 March the open quarter is 2026-Q4, reminded on 28 March; from 31 March
    # the reminders are about 2027-Q1.)
    fired = await fire_daily(ctx, "reconciliation_reminders", date(2027, 3, 31), date(2027, 4, 7))
    # Opens on 31 March (the police liaison and the regional coordinator), then every 3 days.
    assert fired == {d: 2 for d in (date(2027, 3, 31), date(2027, 4, 3), date(2027, 4, 6))}
    await app.outbox.send_due(ctx.bot)
    opened = server.bot_messages(POLICE)[0]["text"]
    assert "I квартал 2027" in opened and "внесіть свої дані" in opened

    # Both sides enter the same figures; the police confirm: only the region is reminded.
    police_id, region_id = await _user_ids(app)
    police = [StaffRole(Role.POLICE, None, "kharkiv", None)]
    region = [StaffRole(Role.COORDINATOR, None, "kharkiv", None)]
    app.reconciliation.clock = lambda: datetime(2027, 4, 7, 9, tzinfo=UTC)
    await app.reconciliation.enter(police_id, police, "kharkiv", "2027-Q1", FIGURES)
    await app.reconciliation.enter(region_id, region, "kharkiv", "2027-Q1", FIGURES)
    await app.reconciliation.confirm(police_id, police, "kharkiv", "2027-Q1")
    fired = await fire_daily(ctx, "reconciliation_reminders", date(2027, 4, 8), date(2027, 4, 10))
    assert fired == {date(2027, 4, 9): 1}
    await app.reconciliation.confirm(region_id, region, "kharkiv", "2027-Q1")
    fired = await fire_daily(ctx, "reconciliation_reminders", date(2027, 4, 11), date(2027, 6, 29))
    assert fired == {}  # reconciled: silence until the next quarter opens


async def _user_ids(app: App) -> tuple[int, int]:
    async with app.sessionmaker() as session:
        rows = {t: i for t, i in (await session.execute(select(User.telegram_id, User.id))).all()}
    return rows[POLICE], rows[REGION]


async def test_a_bot_down_across_the_quarters_end_opens_that_quarter_on_its_first_run(
    app: App, server: FakeTelegramServer, ctx: JobContext
) -> None:
    # Down from 20 December to 9 January: the first run after start opens Q4 (late), once.
    fired = await fire_daily(ctx, "reconciliation_reminders", date(2027, 1, 9), date(2027, 1, 9))
    assert fired == {date(2027, 1, 9): 2}
    await app.outbox.send_due(ctx.bot)
    assert "IV квартал 2026" in server.bot_messages(REGION)[0]["text"]
    again = await fire_daily(ctx, "reconciliation_reminders", date(2027, 1, 9), date(2027, 1, 9))
    assert again == {}  # the same slot is not sent twice


async def test_a_job_missed_while_the_bot_was_down_runs_once_on_start(
    app: App, server: FakeTelegramServer, ctx: JobContext
) -> None:
    runs = JobRuns(app.sessionmaker)
    now = datetime.now(UTC)
    ctx.clock = lambda: now
    # Recorded runs: the awareness job last ran ten days ago (three daily fires missed); the others
    # ran a moment ago. A job never recorded (a new installation) is not made up.
    await runs.record("awareness_days", now - timedelta(days=10))
    for name in JOBS:
        if name not in ("awareness_days", "annual_information"):
            await runs.record(name, now)
    last = await runs.start(list(JOBS), now)
    assert "annual_information" not in last
    assert missed_jobs(last, now, app.settings.timezone) == {"awareness_days"}

    executed: list[str] = []
    done = asyncio.Event()

    def listen(event: JobExecutionEvent) -> None:
        executed.append(event.job_id + ("!" if event.exception else ""))
        done.set()

    scheduler = create_scheduler(ctx, app.settings.timezone, runs=runs, last_runs=last)
    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    try:
        await asyncio.wait_for(done.wait(), 10)
        job = scheduler.get_job("awareness_days")
        assert job is not None and job.next_run_time > now  # back on its daily trigger
    finally:
        scheduler.shutdown(wait=False)
    assert executed == ["awareness_days"]
    assert (await runs.last_runs())["awareness_days"] == now
    # A restart now runs nothing.
    assert missed_jobs(await runs.last_runs(), now, app.settings.timezone) == set()


async def test_a_failed_run_is_not_recorded_so_the_next_start_makes_it_up(
    app: App, ctx: JobContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = JobRuns(app.sessionmaker)
    before = datetime(2027, 7, 15, 6, 30, tzinfo=UTC)
    await runs.record("awareness_days", before)

    async def broken(ctx: JobContext) -> int:
        raise ConnectionError("database went away")

    trigger, job = JOBS["awareness_days"]
    monkeypatch.setitem(JOBS, "awareness_days", (trigger, broken))
    instant = datetime(2027, 7, 16, 6, 30, tzinfo=UTC)
    ctx.clock = lambda: instant
    with pytest.raises(ConnectionError):
        await run_job("awareness_days", ctx, runs)
    assert (await runs.last_runs())["awareness_days"] == before
    later = instant + timedelta(hours=2)
    assert "awareness_days" in missed_jobs(await runs.last_runs(), later, app.settings.timezone)

    monkeypatch.setitem(JOBS, "awareness_days", (trigger, job))
    assert await run_job("awareness_days", ctx, runs) == 3  # the 16 July announcement, made up
    assert (await runs.last_runs())["awareness_days"] == instant


async def test_the_annual_information_draft_goes_out_on_1_15_and_22_february(
    app: App, server: FakeTelegramServer, ctx: JobContext
) -> None:
    # The Kharkiv programme runs 2023-2025: its information for 2025 is due 25 February 2026.
    fired = await fire_daily(ctx, "annual_information", date(2026, 1, 20), date(2026, 3, 5))
    assert fired == {date(2026, 2, 1): 1, date(2026, 2, 15): 1, date(2026, 2, 22): 1}  # the regional one
    await app.outbox.send_due(ctx.bot)
    sent = [m for m in server.bot_messages(REGION) if m.get("document")]
    assert len(sent) == 3
    # A long summary goes as a message of its own just before the file (a caption holds 1024).
    texts = [m.get("text") or m.get("caption") or "" for m in server.bot_messages(REGION)]
    assert sum("до 25 лютого" in t and "2025" in t for t in texts) == 3
    assert all(m["document"]["file_name"].endswith(".xlsx") for m in sent)
    assert not server.bot_messages(DISTRICT)
    # No programme year ended in 2026: February 2027 brings nothing.
    assert await fire_daily(ctx, "annual_information", date(2027, 2, 1), date(2027, 2, 28)) == {}
