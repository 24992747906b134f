"""UserService and the dialog storage on the real database: reading the bot writes nothing, a stored
person is a keyed hash and ciphertext, /forget, dialogs that expire after a day."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.crypto import Cipher
from bot.services.users import PROFILE_TTL, UserService
from bot.storage import DIALOG_TTL, SQLStorage
from db.engine import create_engine, create_sessionmaker
from db.migrate import upgrade_to_head
from db.models import FsmState, User, UserRole

CIPHER = Cipher(Fernet.generate_key().decode())


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _rows(sm: async_sessionmaker[AsyncSession], telegram_id: int | None = None) -> int:
    async with sm() as session:
        query = select(func.count()).select_from(User)
        if telegram_id is not None:
            query = query.where(User.telegram_key == CIPHER.lookup_key(telegram_id))
        return int(await session.scalar(query) or 0)


async def test_people_who_only_read_leave_no_row(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    users = UserService(sessionmaker, CIPHER)
    ids = [5000 + i % 40 for i in range(120)]  # 40 people, three updates each, all at once
    profiles = await asyncio.gather(*(users.touch(tid, 10) for tid in ids))
    assert {p.telegram_id for p in profiles} == set(ids)
    assert all(p.id is None and not p.is_staff for p in profiles)
    assert await _rows(sessionmaker) == 0


async def test_a_language_choice_stores_the_person_as_a_hash_and_ciphertext(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    users = UserService(sessionmaker, CIPHER)
    await users.touch(7_123_456_789, 100)
    chosen = await users.set_language(7_123_456_789, "en")
    assert chosen.id is not None and chosen.language == "en"
    async with sessionmaker() as session:
        row = await session.scalar(select(User))
    assert row is not None and row.telegram_id is None  # a citizen: never in clear
    assert row.telegram_key == CIPHER.lookup_key(7_123_456_789)
    assert row.chat_enc is not None and b"7123456789" not in row.chat_enc
    assert CIPHER.decrypt(row.chat_enc) == "7123456789"  # the bot can still write first
    assert (row.created_at.hour, row.created_at.minute, row.created_at.second) == (0, 0, 0)  # the day only
    fresh = UserService(sessionmaker, CIPHER)  # a restarted process finds the person again
    assert (await fresh.touch(7_123_456_789)).language == "en"


async def test_admins_come_from_settings(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    users = UserService(sessionmaker, CIPHER, admin_ids=frozenset({42}))
    assert "admin" in (await users.touch(42)).roles
    assert not (await users.touch(43)).roles


async def test_forget_removes_the_user_and_their_dialogs(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from aiogram.fsm.storage.base import StorageKey

    users = UserService(sessionmaker, CIPHER)
    storage = SQLStorage(sessionmaker, CIPHER)
    await users.set_language(9, "en")
    key = StorageKey(bot_id=42, chat_id=9, user_id=9)
    await storage.set_state(key, "Dialog:step")
    await storage.set_data(key, {"draft": "x"})
    await users.set_language(10, "uk")

    await users.forget(9)
    storage.drop_cached(9)

    assert await _rows(sessionmaker, 9) == 0 and await _rows(sessionmaker, 10) == 1
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(FsmState)) == 0
    assert await storage.get_state(key) is None and await storage.get_data(key) == {}
    assert (await users.touch(9)).language is None  # a new first contact, nothing remembered


async def test_dialog_state_survives_a_restart(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    from aiogram.fsm.storage.base import StorageKey

    key = StorageKey(bot_id=42, chat_id=11, user_id=11)
    before = SQLStorage(sessionmaker, CIPHER)
    await before.set_state(key, "Request:needs")
    await before.update_data(key, {"needs": ["shelter"]})
    after = SQLStorage(sessionmaker, CIPHER)  # a new process: nothing cached
    assert await after.get_state(key) == "Request:needs"
    assert await after.get_data(key) == {"needs": ["shelter"]}
    await after.set_state(key, None)
    await after.set_data(key, {})
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(FsmState)) == 0  # no empty rows left


async def test_a_role_removed_elsewhere_stops_working_here_within_the_profile_ttl(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Two replicas, each with its cache: an admin removes a role on one (or the CLI does, in the
    database); the other reads it again within PROFILE_TTL, and at once where it asks (refresh)."""
    t = [0.0]
    here = UserService(sessionmaker, CIPHER, timer=lambda: t[0])
    await here.enrol(77)
    async with sessionmaker() as session, session.begin():
        user = await session.scalar(select(User).where(User.telegram_id == 77))
        assert user is not None
        session.add(UserRole(user_id=user.id, role="coordinator", oblast="kharkiv"))
    here.invalidate(77)  # granted here (an invite redeemed on this replica)
    assert (await here.touch(77, 2)).is_staff

    async with sessionmaker() as session, session.begin():  # removed on the other replica
        await session.execute(delete(UserRole))
    t[0] = PROFILE_TTL / 2
    assert (await here.touch(77, 3)).is_staff  # cached a little while
    assert not (await here.refresh(77)).is_staff  # a staff dialog asks the database itself
    await here.touch(77, 4)
    async with sessionmaker() as session, session.begin():
        session.add(UserRole(user_id=(await here.touch(77)).id, role="specialist", oblast="kharkiv"))
    t[0] += PROFILE_TTL + 1
    assert (await here.touch(77, 5)).has("specialist")  # and any role change arrives within the TTL


async def test_a_dialog_names_nobody_and_is_gone_a_day_after_its_last_step(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from aiogram.fsm.storage.base import StorageKey

    now = [datetime(2026, 12, 1, 20, tzinfo=UTC)]
    storage = SQLStorage(sessionmaker, CIPHER, clock=lambda: now[0])
    key = StorageKey(bot_id=42, chat_id=6_001_002_003, user_id=6_001_002_003)
    await storage.set_state(key, "RequestForm:contact")
    await storage.set_data(key, {"description": "мене тримають на складі"})
    async with sessionmaker() as session:
        row = await session.scalar(select(FsmState))
    assert row is not None and "6001002003" not in row.key
    assert row.telegram_key == CIPHER.lookup_key(6_001_002_003)
    assert "складі" not in row.data

    now[0] += DIALOG_TTL - timedelta(minutes=1)
    assert await storage.get_state(key) == "RequestForm:contact"  # still there the next evening
    assert await storage.expire() == 0
    now[0] += timedelta(minutes=2)
    assert await storage.get_state(key) is None and await storage.get_data(key) == {}  # left for a day
    restarted = SQLStorage(sessionmaker, CIPHER, clock=lambda: now[0])
    assert await restarted.get_state(key) is None
    assert await storage.expire() == 1
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(FsmState)) == 0


async def test_the_expiry_job_deletes_a_dialog_left_for_a_day(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The scheduler's `dialog_expiry` job, at a chosen instant, on the storage the bot uses."""
    from types import SimpleNamespace

    from aiogram.fsm.storage.base import StorageKey

    from scheduler.jobs import JOBS

    written = datetime(2026, 12, 1, 20, tzinfo=UTC)
    storage = SQLStorage(sessionmaker, CIPHER, clock=lambda: written)
    await storage.set_state(StorageKey(bot_id=42, chat_id=5, user_id=5), "RequestForm:phone")

    class Context:  # what the job reads of scheduler.jobs.JobContext
        services = SimpleNamespace(storage=storage)
        clock = staticmethod(lambda: written + DIALOG_TTL - timedelta(seconds=1))

    job = JOBS["dialog_expiry"][1]
    assert await job(Context) == 0  # type: ignore[arg-type]
    Context.clock = staticmethod(lambda: written + DIALOG_TTL + timedelta(seconds=1))
    assert await job(Context) == 1  # type: ignore[arg-type]
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(FsmState)) == 0
