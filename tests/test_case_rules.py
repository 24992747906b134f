"""Case rules on the real database at chosen instants: deadlines, retention, statuses, consent,
codes, the key file. The scheduler's jobs run here exactly as APScheduler would call them."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.services.cases import (
    CODE_ALPHABET,
    CaseDraft,
    CaseError,
    Outcome,
    Situation,
    Status,
    format_code,
    normalise_code,
)
from bot.services.crypto import load_or_create_key
from bot.services.staff import AccessDenied, Role, StaffRole
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.models import Case, CaseEvent, CaseMessage, Organisation, OutboxMessage, User, UserRole
from scheduler.jobs import case_deadlines, retention_purge

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
COORD = StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-bohodukhiv")
REGIONAL = StaffRole(Role.COORDINATOR, None, "kharkiv", None)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    built = await build_app(settings)
    yield built
    await built.close()


async def add_staff(app: App, telegram_id: int, role: StaffRole) -> int:
    async with app.sessionmaker() as session, session.begin():
        user = User(telegram_id=telegram_id, roles=[])
        session.add(user)
        await session.flush()
        session.add(
            UserRole(
                user_id=user.id,
                role=role.role,
                oblast=role.oblast,
                district=role.district,
                organisation_id=role.organisation_id,
            )
        )
        return user.id


def draft(**changes: object) -> CaseDraft:
    base = CaseDraft(
        situation=Situation.LABOUR,
        needs=["legal_aid"],
        oblast="kharkiv",
        district="kharkiv-bohodukhiv",
        community=None,
        urgent=False,
        contact="bot",
        consent_orgs=True,
        consent_police=False,
        description="опис",
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


async def test_deadline_reminds_then_escalates_once_each(app: App, server: FakeTelegramServer) -> None:
    clock = Clock()
    app.cases.clock = clock
    await add_staff(app, 2001, COORD)
    await add_staff(app, 2002, REGIONAL)
    for telegram_id in (2001, 2002, 900):
        server.add_user(telegram_id)
    case = await app.cases.create(draft(), citizen_chat_id=1001)
    bot = server.create_bot()
    ctx = app.job_context(bot)
    try:
        clock.now = T0 + timedelta(hours=3, minutes=59)
        assert await case_deadlines(ctx) == 0  # not yet overdue
        clock.now = T0 + timedelta(hours=4, minutes=1)
        # A run that queues the reminders and crashes before marking the case: the next run queues
        # nothing new (the outbox already has them) and marks it; nothing lost, nothing doubled.
        mark_notified = app.cases.mark_notified

        async def crash(notices: object) -> None:
            raise ConnectionError("the process died here")

        app.cases.mark_notified = crash  # type: ignore[method-assign]
        with pytest.raises(ConnectionError):
            await case_deadlines(ctx)
        app.cases.mark_notified = mark_notified  # type: ignore[method-assign]
        assert await case_deadlines(ctx) == 0  # the district's and the regional coordinator: queued once
        assert await case_deadlines(ctx) == 0  # never twice
        clock.now = T0 + timedelta(hours=8, minutes=2)
        assert await case_deadlines(ctx) == 2  # escalation: the regional coordinator and the admin
        assert await case_deadlines(ctx) == 0
        assert await app.outbox.send_due(bot) == 4  # through the outbox, each once
        texts = {
            m["chat"]["id"]: [x["text"] for x in server.bot_messages(m["chat"]["id"])]
            for m in server.bot_messages(2002) + server.bot_messages(900)
        }
        assert any("ніхто не прийняв" in t for t in texts[900])
        assert all(format_code(case.code) in t for t in texts[2002])
    finally:
        await bot.session.close()


async def test_unanswered_referral_reminds_the_organisation(app: App, server: FakeTelegramServer) -> None:
    clock = Clock()
    app.cases.clock = clock
    coord_id = await add_staff(app, 2001, COORD)
    async with app.sessionmaker() as session, session.begin():
        org = Organisation(name="Центр", kind="social_services", oblast="kharkiv", district=None)
        session.add(org)
        await session.flush()
        org_id = org.id
    await add_staff(app, 3001, StaffRole(Role.SPECIALIST, org_id, "kharkiv", None))
    server.add_user(3001)
    case = await app.cases.create(draft(), citizen_chat_id=1001)
    await app.cases.accept(coord_id, [COORD], case.id)
    _summary, recipients = await app.cases.refer(coord_id, [COORD], case.id, org_id)
    assert recipients == [3001]
    bot = server.create_bot()
    ctx = app.job_context(bot)
    try:
        clock.now = T0 + timedelta(hours=47)
        assert await case_deadlines(ctx) == 0
        clock.now = T0 + timedelta(hours=48, minutes=1)
        assert await case_deadlines(ctx) == 1
        assert await app.outbox.send_due(bot) == 1
        assert "Направлення чекає" in server.bot_messages(3001)[-1]["text"]
        assert await case_deadlines(ctx) == 0
    finally:
        await bot.session.close()


async def test_retention_purges_content_and_keeps_statistics(app: App, server: FakeTelegramServer) -> None:
    clock = Clock()
    app.cases.clock = clock
    coord_id = await add_staff(app, 2001, COORD)
    case = await app.cases.create(draft(phone="+380671234567", contact="phone", sex="female"), 1001)
    await app.cases.accept(coord_id, [COORD], case.id)
    await app.cases.staff_message(coord_id, [COORD], case.id, "повідомлення", None)
    await app.cases.set_status(coord_id, [COORD], case.id, Status.CLOSED, Outcome.HELPED)
    ctx = app.job_context(server.create_bot())
    try:
        clock.now = T0 + timedelta(days=179)
        assert await retention_purge(ctx) == 0
        clock.now = T0 + timedelta(days=181)
        assert await retention_purge(ctx) == 1
        assert await retention_purge(ctx) == 0
    finally:
        await ctx.bot.session.close()
    async with app.sessionmaker() as session:
        stored = await session.scalar(select(Case).where(Case.id == case.id))
        assert stored is not None
        assert stored.description_enc is None and stored.phone_enc is None and stored.citizen_chat_enc is None
        assert (stored.situation, stored.sex, stored.outcome, stored.district) == (
            "labour",
            "female",
            "helped",
            "kharkiv-bohodukhiv",
        )
        assert (await session.scalars(select(CaseMessage))).all() == []
    assert await app.cases.of_citizen(1001) == []  # nothing left to look up from the chat


async def test_illegal_moves_and_missing_consent_are_refused(app: App) -> None:
    coord_id = await add_staff(app, 2001, COORD)
    async with app.sessionmaker() as session, session.begin():
        police = Organisation(name="ГУНП", kind="police", oblast="kharkiv", district=None)
        session.add(police)
        await session.flush()
        police_id = police.id
    case = await app.cases.create(draft(consent_orgs=True, consent_police=False), 1001)
    with pytest.raises(CaseError, match=r"^case\.not_owner$"):
        await app.cases.set_status(coord_id, [COORD], case.id, Status.IN_PROGRESS)
    await app.cases.accept(coord_id, [COORD], case.id)
    with pytest.raises(CaseError, match=r"^case\.already_taken$"):
        await app.cases.accept(coord_id, [COORD], case.id)
    with pytest.raises(CaseError, match=r"^referral\.no_police_consent$"):
        await app.cases.refer(coord_id, [COORD], case.id, police_id)
    with pytest.raises(CaseError, match=r"^case\.outcome_needed$"):
        await app.cases.set_status(coord_id, [COORD], case.id, Status.CLOSED)
    await app.cases.set_status(coord_id, [COORD], case.id, Status.CLOSED, Outcome.DUPLICATE)
    with pytest.raises(CaseError, match=r"^case\.illegal_move$"):
        await app.cases.set_status(coord_id, [COORD], case.id, Status.IN_PROGRESS, None)
    no_consent = await app.cases.create(draft(consent_orgs=False), 1002)
    await app.cases.accept(coord_id, [COORD], no_consent.id)
    async with app.sessionmaker() as session, session.begin():
        org = Organisation(name="НУО", kind="ngo", oblast="kharkiv", district=None)
        session.add(org)
        await session.flush()
        org_id = org.id
    with pytest.raises(CaseError, match=r"^referral\.no_consent$"):
        await app.cases.refer(coord_id, [COORD], no_consent.id, org_id)


async def test_out_of_scope_is_refused_and_audited(app: App) -> None:
    other = StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-izium")
    elsewhere = StaffRole(Role.COORDINATOR, None, "zhytomyr", None)
    other_id = await add_staff(app, 2002, other)
    case = await app.cases.create(draft(), 1001)
    for staff in ([other], [elsewhere], [], [StaffRole(Role.SPECIALIST, None, "kharkiv", None)]):
        with pytest.raises(AccessDenied):
            await app.cases.card(other_id, staff, case.id)
    with pytest.raises(AccessDenied):
        await app.cases.accept(other_id, [other], case.id)
    # A regional coordinator of the same oblast covers every district: the minimum data, until accepting.
    regional_id = await add_staff(app, 2003, REGIONAL)
    card = await app.cases.card(regional_id, [REGIONAL], case.id)
    assert card.description is None and not card.content_shown
    await app.cases.accept(regional_id, [REGIONAL], case.id)
    card = await app.cases.card(regional_id, [REGIONAL], case.id)
    assert card.description == "опис" and card.content_shown


async def test_concurrent_accept_has_exactly_one_owner(app: App) -> None:
    ids = [await add_staff(app, 2100 + i, COORD) for i in range(5)]
    case = await app.cases.create(draft(), 1001)
    results = await asyncio.gather(
        *(app.cases.accept(i, [COORD], case.id) for i in ids), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, CaseError) for r in results if isinstance(r, BaseException))
    async with app.sessionmaker() as session:
        assert (await session.scalar(select(Case.owner_id))) in ids


async def test_a_long_description_is_refused_with_a_stated_limit(app: App) -> None:
    with pytest.raises(CaseError, match=r"^request\.description_too_long$"):
        await app.cases.create(draft(description="я" * 10_000), 1001)


async def test_codes_are_dictatable_and_typos_find_nothing_else(app: App) -> None:
    codes = {(await app.cases.create(draft(), 1000 + i)).code for i in range(30)}
    assert len(codes) == 30
    assert all(set(c) <= set(CODE_ALPHABET) and not set(c) & set("01OIL") for c in codes)
    code = sorted(codes)[0]
    typed = format_code(code).lower().replace("-", " ")
    assert (await app.cases.by_code(typed)) is not None
    # One character off, and not another case's code: nothing is found, nothing is suggested.
    wrong = next(c for c in (code[:-1] + ch for ch in CODE_ALPHABET) if c not in codes)
    assert await app.cases.by_code(wrong) is None
    assert await app.cases.by_code("") is None and await app.cases.by_code("' OR 1=1 --") is None


@given(st.text(max_size=30))
def test_normalise_code_never_crashes_and_only_returns_valid_codes(raw: str) -> None:
    code = normalise_code(raw)
    assert code is None or (len(code) == 8 and set(code) <= set(CODE_ALPHABET))


def test_key_file_is_created_once_and_readable_only_by_its_owner(tmp_path: Path) -> None:
    key_file = tmp_path / "dovira.key"
    first = load_or_create_key(None, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_or_create_key(None, key_file) == first  # the same key on the next start
    assert load_or_create_key("x" * 44, key_file) == "x" * 44  # a configured key wins


async def test_victim_status_procedure_is_recorded(app: App) -> None:
    clock = Clock()
    app.cases.clock = clock
    coord_id = await add_staff(app, 2001, COORD)
    case = await app.cases.create(draft(), 1001)
    await app.cases.accept(coord_id, [COORD], case.id)
    applied = T0 + timedelta(days=1)
    with pytest.raises(CaseError, match=r"^victim_status\.bad_dates$"):
        await app.cases.record_victim_status(
            coord_id,
            [COORD],
            case.id,
            applied_on=applied,
            decision="granted",
            decided_on=applied - timedelta(days=2),
        )
    with pytest.raises(CaseError, match=r"^victim_status\.bad_decision$"):
        await app.cases.record_victim_status(
            coord_id, [COORD], case.id, applied_on=applied, decision="maybe", decided_on=None
        )
    await app.cases.record_victim_status(
        coord_id,
        [COORD],
        case.id,
        applied_on=applied,
        decision="granted",
        decided_on=applied + timedelta(days=30),
    )
    card = await app.cases.card(coord_id, [COORD], case.id)
    assert card.victim_status == (applied, "granted", applied + timedelta(days=30))
    assert "victim_status" in [kind for _at, kind, _d in card.timeline]


async def test_the_victim_status_buttons_date_each_step_on_the_services_clock(app: App) -> None:
    # A step pressed on the card is dated by the service's clock (here a day the machine is not on):
    # applied one day, granted later; the application date is kept, never moved to the decision's.
    clock = Clock()
    app.cases.clock = clock
    coord_id = await add_staff(app, 2001, COORD)
    case = await app.cases.create(draft(), 1001)
    await app.cases.accept(coord_id, [COORD], case.id)

    await app.cases.record_victim_status_step(coord_id, [COORD], case.id, "applied")
    card = await app.cases.card(coord_id, [COORD], case.id)
    assert card.victim_status == (T0, "pending", None)

    clock.now = T0 + timedelta(days=40)
    await app.cases.record_victim_status_step(coord_id, [COORD], case.id, "granted")
    card = await app.cases.card(coord_id, [COORD], case.id)
    assert card.victim_status == (T0, "granted", T0 + timedelta(days=40))

    # Decided with no application recorded: applied and decided the same day.
    other = await app.cases.create(draft(), 1002)
    await app.cases.accept(coord_id, [COORD], other.id)
    await app.cases.record_victim_status_step(coord_id, [COORD], other.id, "refused")
    card = await app.cases.card(coord_id, [COORD], other.id)
    assert card.victim_status == (clock.now, "refused", clock.now)

    with pytest.raises(CaseError, match=r"^victim_status\.bad_decision$"):
        await app.cases.record_victim_status_step(coord_id, [COORD], case.id, "pending")


async def test_police_get_a_case_only_with_the_citizens_consent(app: App, server: FakeTelegramServer) -> None:
    coord_id = await add_staff(app, 2001, COORD)
    async with app.sessionmaker() as session, session.begin():
        police = Organisation(
            name="ГУНП в Харківській області", kind="police", oblast="kharkiv", district=None
        )
        session.add(police)
        await session.flush()
        police_id = police.id
    liaison_id = await add_staff(app, 4001, StaffRole(Role.POLICE, police_id, "kharkiv", None))
    liaison = [StaffRole(Role.POLICE, police_id, "kharkiv", None)]
    # Consent to organisations is not consent to the police: refused, and the liaison sees nothing.
    without = await app.cases.create(draft(consent_orgs=True, consent_police=False), 1002)
    await app.cases.accept(coord_id, [COORD], without.id)
    with pytest.raises(CaseError, match=r"^referral\.no_police_consent$"):
        await app.cases.refer(coord_id, [COORD], without.id, police_id)
    assert await app.cases.referrals_for(liaison, 0) == ([], 0)

    case = await app.cases.create(draft(consent_police=True), 1001)
    await app.cases.accept(coord_id, [COORD], case.id)
    _summary, recipients = await app.cases.refer(coord_id, [COORD], case.id, police_id)
    assert recipients == [4001]
    items, total = await app.cases.referrals_for(liaison, 0)
    assert total == 1 and items[0].to_police and items[0].description is None  # minimum data until accepted
    view, owner = await app.cases.answer_referral(liaison_id, liaison, items[0].id, accept=True)
    assert view.description == "опис" and owner == 2001


async def test_every_read_of_case_content_and_every_change_is_audited(app: App) -> None:
    from db.models import AuditEntry

    coord_id = await add_staff(app, 2001, COORD)
    case = await app.cases.create(draft(), 1001)
    await app.cases.accept(coord_id, [COORD], case.id)
    await app.cases.card(coord_id, [COORD], case.id)
    await app.cases.set_status(coord_id, [COORD], case.id, Status.IN_PROGRESS)
    await app.cases.set_status(coord_id, [COORD], case.id, Status.CLOSED, Outcome.HELPED)
    async with app.sessionmaker() as session:
        rows = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.actor_id)
                .where(AuditEntry.case_id == case.id)
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [a for a, _ in rows] == [
        "case.create",
        "case.accept",
        "case.read",
        "case.in_progress",
        "case.closed",
    ]
    assert all(actor == coord_id for action, actor in rows if action != "case.create")


async def test_a_removed_coordinator_gets_nothing_more_of_their_cases(app: App) -> None:
    from sqlalchemy import delete

    coord_id = await add_staff(app, 2001, COORD)
    case = await app.cases.create(draft(), 1001)
    await app.cases.accept(coord_id, [COORD], case.id)
    assert (await app.cases.citizen_message(1001, case.id, "перше", None)).owner == 2001
    async with app.sessionmaker() as session, session.begin():
        await session.execute(delete(UserRole).where(UserRole.user_id == coord_id))
    sent = await app.cases.citizen_message(1001, case.id, "друге", None)
    assert sent.owner is None  # stored for whoever takes over, not relayed to the removed person
    assert sent.released and sent.case.status == "new"  # released at once, for the area to take over


async def test_the_deadline_job_hands_a_removed_coordinators_cases_to_the_area(
    app: App, server: FakeTelegramServer
) -> None:
    """A role removed without the admin screen (in the database; a crash right after the removal):
    the job that runs every ten minutes releases the case and asks the area's coordinators."""
    from sqlalchemy import delete

    clock = Clock()
    app.cases.clock = clock
    coord_id = await add_staff(app, 2001, COORD)
    regional_id = await add_staff(app, 2002, REGIONAL)
    server.add_user(2002)
    case = await app.cases.create(draft(), 1001)
    await app.cases.accept(coord_id, [COORD], case.id)
    await app.cases.citizen_message(1001, case.id, "перше", None)
    async with app.sessionmaker() as session, session.begin():
        await session.execute(delete(UserRole).where(UserRole.user_id == coord_id))

    ctx = app.job_context(server.create_bot())
    try:
        clock.now = T0 + timedelta(days=3)  # filed long ago: its deadline counts from the release
        assert await case_deadlines(ctx) == 1  # the regional coordinator, the only one left in the area
        assert await case_deadlines(ctx) == 0  # released once, and no "past its deadline" at once
        await app.cases.citizen_message(1001, case.id, "друге", None)  # written while nobody holds it
        clock.now += timedelta(hours=4, minutes=1)
        assert await case_deadlines(ctx) == 2  # nobody took it over: escalated (regional, admin)
    finally:
        await ctx.bot.session.close()
    async with app.sessionmaker() as session:
        queued = set(
            await session.scalars(
                select(OutboxMessage.purpose).where(OutboxMessage.recipient_key == app.users.key(2002))
            )
        )
        events = list(
            await session.scalars(
                select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            )
        )
    assert queued == {f"case.released:{case.id}", f"case.escalate:{case.id}"}
    assert events[-1] == "released"
    taken = await app.cases.accept(regional_id, [REGIONAL], case.id)
    assert taken.status == "accepted"
    card = await app.cases.card(regional_id, [REGIONAL], case.id)
    assert [m[2] for m in card.messages] == ["перше", "друге"]  # nothing the person wrote was lost


async def test_the_same_telegram_message_handled_twice_is_stored_once(app: App) -> None:
    """An update handled again (a webhook retried after a failed answer) stores and relays nothing new."""
    coord_id = await add_staff(app, 2001, COORD)
    case = await app.cases.create(draft(), 1001)
    await app.cases.accept(coord_id, [COORD], case.id)
    first = await app.cases.citizen_message(1001, case.id, "Мене перевезли", None, source=77)
    again = await app.cases.citizen_message(1001, case.id, "Мене перевезли", None, source=77)
    other = await app.cases.citizen_message(1001, case.id, "Мене перевезли", None, source=78)
    assert not first.duplicate and again.duplicate and again.message_id == first.message_id
    assert not other.duplicate  # a new message that says the same is a new message
    to_citizen = await app.cases.staff_message(coord_id, [COORD], case.id, "Де ви?", None, source=77)
    assert not to_citizen.duplicate  # the coordinator's chat has its own message ids
    assert (await app.cases.staff_message(coord_id, [COORD], case.id, "Де ви?", None, source=77)).duplicate
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(CaseMessage)) == 3
