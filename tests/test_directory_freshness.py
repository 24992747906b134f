"""Directory freshness on the real database, at chosen instants: stale entries reach the coordinators in
charge of them (and nobody else) once per period; checks made in the bot are laid over the data files;
only those in charge may check an entry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.services.directory import (
    CheckError,
    DirectoryChecks,
    Need,
    load_directory,
    may_check,
    parse_phones,
)
from bot.services.staff import AccessDenied, Role, StaffRole
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.models import AuditEntry, DirectoryCheck, OutboxMessage, User, UserRole
from scheduler.freshness import directory_freshness

BOHODUKHIV, IZIUM, REGIONAL = 2101, 2102, 2001
ADMIN_ID = 900  # ADMIN_IDS in the settings fixture (tests/conftest.py)
SEEDED = date(2026, 11, 23)  # every entry of the data files was checked that day


def kyiv(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), ZoneInfo("Europe/Kyiv")).astimezone(UTC)


@dataclass
class Setup:
    app: App
    user_ids: dict[int, int]  # telegram id -> users.id

    def checks(self, day: date) -> DirectoryChecks:
        return DirectoryChecks(self.app.sessionmaker, self.app.directory, clock=lambda: kyiv(day, 11))


@pytest.fixture
async def setup(settings: Settings, server: FakeTelegramServer) -> AsyncIterator[Setup]:
    app = await build_app(settings)
    user_ids = {}
    async with app.sessionmaker() as session, session.begin():
        for telegram_id, district in (
            (BOHODUKHIV, "kharkiv-bohodukhiv"),
            (IZIUM, "kharkiv-izium"),
            (REGIONAL, None),
        ):
            user = User(telegram_id=telegram_id, roles=[])
            session.add(user)
            await session.flush()
            session.add(UserRole(user_id=user.id, role="coordinator", oblast="kharkiv", district=district))
            user_ids[telegram_id] = user.id
        admin = User(telegram_id=ADMIN_ID, roles=[])
        session.add(admin)
        await session.flush()
        user_ids[ADMIN_ID] = admin.id
    yield Setup(app, user_ids)
    await app.close()


def at(ctx: Any, day: date) -> None:
    """Run the job on `day` at 09:00 Kyiv (the context's clock, and the outbox's, which dates messages)."""
    ctx.clock = ctx.services.outbox.clock = lambda: kyiv(day)


async def queued(app: App) -> dict[int, list[str]]:
    """Outbox purposes per recipient."""
    async with app.sessionmaker() as session:
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(app.outbox.recipient_of(row), []).append(row.purpose)
    return found


def entries_in(purposes: list[str]) -> set[str]:
    return {p.split(":")[1] for p in purposes}


async def test_stale_entries_go_to_those_in_charge_once_per_period(setup: Setup) -> None:
    app = setup.app
    ctx = app.job_context(None)  # type: ignore[arg-type]  # the job sends through the outbox only
    # Half a year on, one district and one oblast entry are confirmed and one oblast entry withdrawn.
    checks = setup.checks(date(2027, 5, 20))
    await checks.confirm(
        setup.user_ids[IZIUM],
        (StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-izium"),),
        "kharkiv-izium-administration",
    )
    regional = (StaffRole(Role.COORDINATOR, None, "kharkiv", None),)
    await checks.confirm(setup.user_ids[REGIONAL], regional, "kharkiv-police")
    await checks.withdraw(setup.user_ids[REGIONAL], regional, "kharkiv-migration-service")

    # A year to the day after the data files were checked: not older than a year yet.
    at(ctx, date(2027, 11, 23))
    assert await directory_freshness(ctx) == 0

    # Thirteen months on; the regional coordinator reads the bot in English.
    await app.users.set_language(REGIONAL, "en")
    at(ctx, date(2027, 12, 23))
    sent = await directory_freshness(ctx)
    by_recipient = await queued(app)
    assert sent == sum(len(p) for p in by_recipient.values())
    # A district's entry goes to that district's coordinator only.
    assert entries_in(by_recipient[BOHODUKHIV]) == {"kharkiv-bohodukhiv-administration"}
    # Izium's entry was confirmed in May 2027: fresh, not sent; so Izium's coordinator gets nothing.
    assert IZIUM not in by_recipient
    # Oblast-wide entries go to the regional coordinator, as do districts that have no coordinator;
    # the confirmed and the withdrawn ones do not.
    regional_got = entries_in(by_recipient[REGIONAL])
    assert {"kharkiv-legal-aid-centre", "kharkiv-lozova-administration"} <= regional_got
    assert not regional_got & {
        "kharkiv-police",
        "kharkiv-migration-service",
        "kharkiv-bohodukhiv-administration",
        "kharkiv-izium-administration",
    }
    assert not any(e.startswith("zhytomyr") or e.startswith("hotline") for e in regional_got)
    # National lines are the admins'; so is Zhytomyr, where nobody coordinates yet.
    admin_got = entries_in(by_recipient[ADMIN_ID])
    assert {
        "hotline-1547",
        "emergency-102",
        "zhytomyr-police",
        "zhytomyr-korosten-administration",
    } <= admin_got
    assert not any(e.startswith("kharkiv") for e in admin_got)
    # The reminder is in the coordinator's language, with the entry and the three buttons.
    async with app.sessionmaker() as session:
        reminder = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.recipient_key == app.users.key(BOHODUKHIV))
        )
    assert reminder is not None and reminder.markup is not None
    text = app.outbox._open_text(reminder.text)
    assert "Перевірка довідника" in text and "23.11.2026" in text and "Богодухівськ" in text
    assert (
        "Усе правильно" in reminder.markup and "Виправити" in reminder.markup and "Зняти" in reminder.markup
    )
    async with app.sessionmaker() as session:
        english = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.recipient_key == app.users.key(REGIONAL))
        )
    assert english is not None and english.markup is not None
    assert "Directory check" in app.outbox._open_text(english.text) and "Still correct" in english.markup

    # The same day again, and 29 days later: nothing twice.
    assert await directory_freshness(ctx) == 0
    at(ctx, date(2028, 1, 21))
    assert await directory_freshness(ctx) == 0
    # Still unchecked thirty days after the reminder: reminded again, all but what was checked since.
    await setup.checks(date(2028, 1, 21)).confirm(
        setup.user_ids[BOHODUKHIV],
        (StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-bohodukhiv"),),
        "kharkiv-bohodukhiv-administration",
    )
    at(ctx, date(2028, 1, 22))
    assert await directory_freshness(ctx) == sent - 1
    assert len((await queued(app))[BOHODUKHIV]) == 1


async def test_a_check_made_in_another_process_is_seen_by_the_next_run(setup: Setup) -> None:
    app = setup.app
    ctx = app.job_context(None)  # type: ignore[arg-type]
    # Another replica's Directory (same files, same database) takes the check...
    other = load_directory(app.settings.data_dir)
    district = (StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-bohodukhiv"),)
    await DirectoryChecks(app.sessionmaker, other, clock=lambda: kyiv(date(2027, 12, 20))).confirm(
        setup.user_ids[BOHODUKHIV], district, "kharkiv-bohodukhiv-administration"
    )
    # ...and this one's job reloads the checks before it looks for stale entries.
    at(ctx, date(2027, 12, 23))
    assert await directory_freshness(ctx) > 0
    assert BOHODUKHIV not in await queued(app)
    assert app.directory.entry("kharkiv-bohodukhiv-administration").checked_on == date(2027, 12, 20)  # type: ignore[union-attr]


async def test_checks_are_laid_over_the_data_files_and_audited(setup: Setup) -> None:
    app = setup.app
    directory = app.directory
    admin = (StaffRole(Role.ADMIN, None, None, None),)
    checks = setup.checks(date(2027, 12, 1))
    entry = await checks.correct(
        setup.user_ids[ADMIN_ID],
        admin,
        "hotline-527",
        phones=["0 800 505 501"],
        address=None,
        source="Сайт Мінсоцполітики, сторінка контактів, 01.12.2027",
    )
    assert entry.phones == ("0 800 505 501",) and entry.checked_on == date(2027, 12, 1)
    assert entry.phone_notes is None  # "527 from a mobile" described the old numbers
    assert entry.source.startswith("Сайт Мінсоцполітики")
    # Twice "still correct" the same day is recorded once.
    await checks.confirm(setup.user_ids[ADMIN_ID], admin, "hotline-1547")
    await checks.confirm(setup.user_ids[ADMIN_ID], admin, "hotline-1547")

    # Withdrawn: gone from everything citizens see, at once.
    legal_aid = directory.find(oblast_id="kharkiv", need=Need.LEGAL_AID)
    assert any(e.id == "hotline-116123" for e in legal_aid)
    await checks.withdraw(setup.user_ids[ADMIN_ID], admin, "hotline-116123")
    assert not any(e.id == "hotline-116123" for e in directory.find(oblast_id="kharkiv", need=Need.LEGAL_AID))
    assert "hotline-116123" not in {e.id for e in directory.hotlines()}
    assert directory.entry("hotline-116123") is None
    assert directory.any_entry("hotline-116123") is not None  # coordinators can still tell what it was
    with pytest.raises(CheckError, match="gone"):
        await checks.confirm(setup.user_ids[ADMIN_ID], admin, "hotline-116123")

    # A restart: the data files again, with the checks from the database.
    fresh = load_directory(app.settings.data_dir)
    assert fresh.entry("hotline-116123") is not None
    await DirectoryChecks(app.sessionmaker, fresh).load()
    assert fresh.entry("hotline-116123") is None
    reloaded = fresh.entry("hotline-527")
    assert reloaded is not None and reloaded.phones == ("0 800 505 501",)
    assert fresh.entry("hotline-1547").checked_on == date(2027, 12, 1)  # type: ignore[union-attr]

    async with app.sessionmaker() as session:
        rows = [(r.entry_id, r.action) for r in await session.scalars(select(DirectoryCheck))]
        audit = [a.action for a in await session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert rows == [
        ("hotline-527", "corrected"),
        ("hotline-1547", "confirmed"),
        ("hotline-116123", "withdrawn"),
    ]
    assert audit == ["directory.corrected", "directory.confirmed", "directory.withdrawn"]


async def test_a_withdrawal_is_undone_only_by_those_in_charge(setup: Setup) -> None:
    directory = setup.app.directory
    checks = setup.checks(date(2027, 12, 1))
    bohodukhiv = (StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-bohodukhiv"),)
    izium = (StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-izium"),)
    entry_id = "kharkiv-bohodukhiv-administration"
    await checks.withdraw(setup.user_ids[BOHODUKHIV], bohodukhiv, entry_id)
    with pytest.raises(AccessDenied):
        await checks.restore(setup.user_ids[IZIUM], izium, entry_id)
    assert directory.entry(entry_id) is None
    restored = await checks.restore(setup.user_ids[BOHODUKHIV], bohodukhiv, entry_id)
    assert not restored.withdrawn and directory.entry(entry_id) is not None
    assert restored.checked_on == SEEDED  # bringing it back is not a check of its facts
    fresh = load_directory(setup.app.settings.data_dir)
    await DirectoryChecks(setup.app.sessionmaker, fresh).load()
    assert fresh.entry(entry_id) is not None
    with pytest.raises(CheckError, match="unknown"):
        await checks.restore(setup.user_ids[BOHODUKHIV], bohodukhiv, "no-such-entry")


async def test_a_data_file_checked_later_than_a_correction_wins(setup: Setup) -> None:
    app = setup.app
    admin = (StaffRole(Role.ADMIN, None, None, None),)
    # A correction recorded before the data files' own check date (e.g. the files were re-checked since).
    await setup.checks(date(2026, 11, 1)).correct(
        setup.user_ids[ADMIN_ID], admin, "hotline-1547", phones=["15 47"], address=None, source="old letter"
    )
    entry = app.directory.entry("hotline-1547")
    assert entry is not None and entry.phones == ("1547",) and entry.checked_on == SEEDED


async def test_only_those_in_charge_may_check_an_entry(setup: Setup) -> None:
    directory = setup.app.directory
    bohodukhiv = StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-bohodukhiv")
    izium = StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-izium")
    regional = StaffRole(Role.COORDINATOR, None, "kharkiv", None)
    zhytomyr = StaffRole(Role.COORDINATOR, None, "zhytomyr", None)
    specialist = StaffRole(Role.SPECIALIST, 1, "kharkiv", "kharkiv-bohodukhiv")
    admin = StaffRole(Role.ADMIN, None, None, None)

    def allowed(entry_id: str) -> set[str]:
        entry = directory.entry(entry_id)
        assert entry is not None
        names = {"bohodukhiv": bohodukhiv, "izium": izium, "regional": regional, "zhytomyr": zhytomyr}
        names |= {"specialist": specialist, "admin": admin}
        return {name for name, role in names.items() if may_check((role,), entry)}

    assert allowed("kharkiv-bohodukhiv-administration") == {"bohodukhiv", "regional", "admin"}
    assert allowed("kharkiv-legal-aid-centre") == {"regional", "admin"}
    assert allowed("hotline-1547") == {"admin"}
    assert allowed("zhytomyr-police") == {"zhytomyr", "admin"}
    with pytest.raises(AccessDenied):
        await setup.checks(date(2027, 12, 1)).withdraw(
            setup.user_ids[IZIUM], (izium,), "kharkiv-bohodukhiv-administration"
        )
    assert directory.entry("kharkiv-bohodukhiv-administration") is not None


@pytest.mark.parametrize(
    ("typed", "phones"),
    [
        ("1547", ("1547",)),
        ("0 800 505 501, 527", ("0 800 505 501", "527")),
        ("+380 (57) 700-00-00\n102", ("+380 (57) 700-00-00", "102")),
    ],
)
def test_phones_are_read_as_dialled(typed: str, phones: tuple[str, ...]) -> None:
    assert parse_phones(typed) == phones


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("call them", "bad_phone"),
        ("12", "bad_phone"),
        ("1234567890123456", "bad_phone"),
        ("1547 or 102", "bad_phone"),
        (" , ", "phones_count"),
        ("101, 102, 103, 104, 105, 106", "phones_count"),
    ],
)
def test_what_is_not_a_phone_number_is_refused(typed: str, why: str) -> None:
    with pytest.raises(CheckError, match=why):
        parse_phones(typed)
