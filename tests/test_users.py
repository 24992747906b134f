"""UserService on the real database: first contact stored once, writes only on change, /forget."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.users import PROFILE_TTL, UserService
from bot.storage import SQLStorage
from db.engine import create_engine, create_sessionmaker
from db.migrate import upgrade_to_head
from db.models import FsmState, User, UserRole


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
            query = query.where(User.telegram_id == telegram_id)
        return int(await session.scalar(query) or 0)


async def test_a_burst_of_first_contacts_stores_each_user_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    users = UserService(sessionmaker)
    ids = [5000 + i % 40 for i in range(120)]  # 40 people, three updates each, all at once
    profiles = await asyncio.gather(*(users.touch(tid, 10) for tid in ids))
    assert {p.telegram_id for p in profiles} == set(ids)
    assert await _rows(sessionmaker) == 40
    same = {p.telegram_id: p.id for p in profiles}
    assert all(p.id == same[p.telegram_id] for p in profiles)


async def test_cached_user_causes_no_write_until_the_window_moves(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    users = UserService(sessionmaker, clock=lambda: now)
    first = await users.touch(7, 100)
    assert first.window_first_message_id == 100
    again = await users.touch(7, 105)
    assert again is first  # served from the cache: nothing written
    now = now + timedelta(hours=49)  # past Telegram's 48 hours: a new window starts here
    later = await users.touch(7, 300)
    assert later.window_first_message_id == 300
    fresh = UserService(sessionmaker, clock=lambda: now)  # a restarted process reads it back
    assert (await fresh.touch(7)).window_first_message_id == 300


async def test_admins_come_from_settings(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    users = UserService(sessionmaker, admin_ids=frozenset({42}))
    assert "admin" in (await users.touch(42)).roles
    assert not (await users.touch(43)).roles


async def test_forget_removes_the_user_and_their_dialogs(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from aiogram.fsm.storage.base import StorageKey

    users = UserService(sessionmaker)
    storage = SQLStorage(sessionmaker)
    await users.touch(9, 1)
    await users.set_language(9, "en")
    key = StorageKey(bot_id=42, chat_id=9, user_id=9)
    await storage.set_state(key, "Dialog:step")
    await storage.set_data(key, {"draft": "x"})
    await users.touch(10, 1)

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
    before = SQLStorage(sessionmaker)
    await before.set_state(key, "Request:needs")
    await before.update_data(key, {"needs": ["shelter"]})
    after = SQLStorage(sessionmaker)  # a new process: nothing cached
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
    here = UserService(sessionmaker, timer=lambda: t[0])
    await here.touch(77, 1)
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
