"""Users: the record kept on first contact, the chosen language, roles, and erasing it all.

Writing on every update costs most of the bot's throughput (DESIGN.md, known pitfalls), so a profile
is cached in the process and the database is written only when something changed: a new user, a new
language, or a new 48-hour chat window for "clear chat".
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.staff import StaffRole
from db.models import FsmState, User

# Telegram lets a bot delete messages in a private chat while they are under 48 hours old.
DELETABLE_FOR = timedelta(hours=48)
# A cached profile (with its roles) is read again after this many seconds: with several replicas, a role an
# admin removed on one of them stops working on the others within it.
PROFILE_TTL = 30.0
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class UserProfile:
    """What handlers need to know about the person writing; no Telegram types, no names."""

    id: int
    telegram_id: int
    language: str | None
    staff: tuple[StaffRole, ...]
    window_first_message_id: int | None
    window_started_at: datetime | None

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.staff)

    @property
    def is_staff(self) -> bool:
        return bool(self.staff)

    def has(self, role: str) -> bool:
        return any(r.role == role for r in self.staff)


def _profile(user: User, admin_ids: frozenset[int]) -> UserProfile:
    staff = [StaffRole(r.role, r.organisation_id, r.oblast, r.district) for r in user.roles]
    if user.telegram_id in admin_ids:
        staff.append(StaffRole(ADMIN, None, None, None))
    started = user.window_started_at
    if started is not None and started.tzinfo is None:  # SQLite hands back naive datetimes
        started = started.replace(tzinfo=UTC)
    return UserProfile(
        id=user.id,
        telegram_id=user.telegram_id,
        language=user.language,
        staff=tuple(staff),
        window_first_message_id=user.window_first_message_id,
        window_started_at=started,
    )


# Per Telegram id: (message id, time, waiting future) of each touch waiting for the database.
_Pending = dict[int, list[tuple[int | None, datetime, "asyncio.Future[UserProfile]"]]]


class UserService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        admin_ids: frozenset[int] = frozenset(),
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache_size: int = 100_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._admin_ids = admin_ids
        self._clock = clock
        self._cache: OrderedDict[int, UserProfile] = OrderedDict()
        self._cache_size = cache_size
        # Newest message id seen per chat, in memory only: "clear chat" deletes up to it.
        self._last_message_id: dict[int, int] = {}
        self._pending: _Pending = {}
        self._writer: asyncio.Task[None] | None = None
        self._timer = timer
        self._read_at: dict[int, float] = {}  # when each cached profile was read (timer seconds)

    def _remember(self, profile: UserProfile) -> UserProfile:
        self._cache[profile.telegram_id] = profile
        self._cache.move_to_end(profile.telegram_id)
        self._read_at[profile.telegram_id] = self._timer()
        while len(self._cache) > self._cache_size:
            dropped, _ = self._cache.popitem(last=False)
            self._read_at.pop(dropped, None)
        return profile

    def _fresh(self, telegram_id: int) -> bool:
        """Read from the database within PROFILE_TTL: roles granted or removed by another replica
        (or the CLI) reach this one within that time."""
        return self._timer() - self._read_at.get(telegram_id, -PROFILE_TTL) < PROFILE_TTL

    async def refresh(self, telegram_id: int) -> UserProfile:
        """The profile read from the database now (before a staff action that must not trust a
        cached role): one read, no transaction to commit."""
        async with self._sessionmaker() as session:
            user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
            if user is not None:
                return self._remember(_profile(user, self._admin_ids))
        self.invalidate(telegram_id)
        return await self.touch(telegram_id)

    def _window_is_current(self, profile: UserProfile, now: datetime) -> bool:
        started = profile.window_started_at
        return started is not None and now - started < DELETABLE_FOR

    async def touch(self, telegram_id: int, message_id: int | None = None) -> UserProfile:
        """Record the user on first contact and keep the chat window; writes only on change."""
        now = self._clock()
        if message_id is not None and message_id > self._last_message_id.get(telegram_id, 0):
            self._last_message_id.pop(telegram_id, None)  # re-insert: the dict keeps recency order
            self._last_message_id[telegram_id] = message_id
            if len(self._last_message_id) > self._cache_size:
                del self._last_message_id[next(iter(self._last_message_id))]
        cached = self._cache.get(telegram_id)
        if (
            cached is not None
            and self._fresh(telegram_id)
            and (message_id is None or self._window_is_current(cached, now))
        ):
            self._cache.move_to_end(telegram_id)
            return cached
        return await self._submit(telegram_id, message_id, now)

    # Group commit: touches that need the database while a write is under way wait for it and are
    # then written together in one transaction. Each caller still gets its row before it goes on,
    # but a burst of first contacts (long polling hands over up to 100 updates at once) costs one
    # commit instead of one each: on SQLite the commit round trips are most of the cost.
    async def _submit(self, telegram_id: int, message_id: int | None, now: datetime) -> UserProfile:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[UserProfile] = loop.create_future()
        self._pending.setdefault(telegram_id, []).append((message_id, now, waiter))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_pending())
        return await waiter

    async def _write_pending(self) -> None:
        await asyncio.sleep(0)  # let the other handlers of this batch of updates queue theirs
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                try:
                    profiles = await self._write(batch)
                except IntegrityError:
                    # Another process created one of these users meanwhile: read it back.
                    profiles = await self._write(batch)
            except Exception as exc:
                for waiters in batch.values():
                    for _, _, waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                continue
            for telegram_id, waiters in batch.items():
                profile = self._remember(profiles[telegram_id])
                for _, _, waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(profile)

    async def _write(self, batch: _Pending) -> dict[int, UserProfile]:
        async with self._sessionmaker() as session, session.begin():
            found = await session.scalars(select(User).where(User.telegram_id.in_(batch)))
            users = {u.telegram_id: u for u in found}
            for telegram_id, waiters in batch.items():
                user = users.get(telegram_id)
                if user is None:
                    user = users[telegram_id] = User(telegram_id=telegram_id, roles=[])
                    session.add(user)
                known = _profile(user, self._admin_ids) if user.id else None
                for message_id, now, _ in waiters:
                    if message_id is not None and (known is None or not self._window_is_current(known, now)):
                        user.window_first_message_id = message_id
                        user.window_started_at = now
                        break
            await session.flush()
            return {tid: _profile(u, self._admin_ids) for tid, u in users.items()}

    async def set_language(self, telegram_id: int, language: str) -> UserProfile:
        async with self._sessionmaker() as session, session.begin():
            user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
            if user is None:
                user = User(telegram_id=telegram_id, roles=[])
                session.add(user)
            user.language = language
            await session.flush()
            profile = _profile(user, self._admin_ids)
        return self._remember(profile)

    async def forget(self, telegram_id: int) -> bool:
        """Erase everything stored about this person: user row, dialog state. False (nothing erased)
        for a member of staff: their roles go through an admin, audited, first."""
        if telegram_id in self._admin_ids:
            return False
        async with self._sessionmaker() as session, session.begin():
            user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
            if user is not None and user.roles:
                return False
            await session.execute(delete(FsmState).where(FsmState.telegram_id == telegram_id))
            if user is not None:
                await session.delete(user)
        self._cache.pop(telegram_id, None)
        self._last_message_id.pop(telegram_id, None)
        return True

    def last_message_id(self, telegram_id: int) -> int:
        return self._last_message_id.get(telegram_id, 0)

    def invalidate(self, telegram_id: int) -> None:
        """Roles changed (enrolled, removed): read the profile again on the next update."""
        self._cache.pop(telegram_id, None)

    def cached(self, telegram_id: int) -> UserProfile | None:
        return self._cache.get(telegram_id)
