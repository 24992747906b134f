"""Users: the record kept on first contact, the chosen language, roles, and erasing it all.

Writing on every update costs most of the bot's throughput (DESIGN.md, known pitfalls), so a profile
is cached in the process and the database is written only when something changed: a new user, a new
language, or a new 48-hour chat window for "clear chat".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import FsmState, User

# Telegram lets a bot delete messages in a private chat while they are under 48 hours old.
DELETABLE_FOR = timedelta(hours=48)
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class UserProfile:
    """What handlers need to know about the person writing; no Telegram types, no names."""

    id: int
    telegram_id: int
    language: str | None
    roles: frozenset[str]
    window_first_message_id: int | None
    window_started_at: datetime | None

    @property
    def is_staff(self) -> bool:
        return bool(self.roles)


def _profile(user: User, admin_ids: frozenset[int]) -> UserProfile:
    roles = {r.role for r in user.roles}
    if user.telegram_id in admin_ids:
        roles.add(ADMIN)
    started = user.window_started_at
    if started is not None and started.tzinfo is None:  # SQLite hands back naive datetimes
        started = started.replace(tzinfo=UTC)
    return UserProfile(
        id=user.id,
        telegram_id=user.telegram_id,
        language=user.language,
        roles=frozenset(roles),
        window_first_message_id=user.window_first_message_id,
        window_started_at=started,
    )


class UserService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        admin_ids: frozenset[int] = frozenset(),
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache_size: int = 100_000,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._admin_ids = admin_ids
        self._clock = clock
        self._cache: OrderedDict[int, UserProfile] = OrderedDict()
        self._cache_size = cache_size
        # Newest message id seen per chat, in memory only: "clear chat" deletes up to it.
        self._last_message_id: dict[int, int] = {}

    def _remember(self, profile: UserProfile) -> UserProfile:
        self._cache[profile.telegram_id] = profile
        self._cache.move_to_end(profile.telegram_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return profile

    def _window_is_current(self, profile: UserProfile, now: datetime) -> bool:
        started = profile.window_started_at
        return started is not None and now - started < DELETABLE_FOR

    async def touch(self, telegram_id: int, message_id: int | None = None) -> UserProfile:
        """Record the user on first contact and keep the chat window; writes only on change."""
        now = self._clock()
        if message_id is not None and message_id > self._last_message_id.get(telegram_id, 0):
            self._last_message_id[telegram_id] = message_id
        cached = self._cache.get(telegram_id)
        if cached is not None and (message_id is None or self._window_is_current(cached, now)):
            self._cache.move_to_end(telegram_id)
            return cached
        try:
            return await self._touch_db(telegram_id, message_id, now)
        except IntegrityError:
            # Two first updates of one new user raced; the other one created the row.
            return await self._touch_db(telegram_id, message_id, now)

    async def _touch_db(self, telegram_id: int, message_id: int | None, now: datetime) -> UserProfile:
        async with self._sessionmaker() as session, session.begin():
            user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
            if user is None:
                user = User(telegram_id=telegram_id, roles=[])
                session.add(user)
            await session.flush()
            profile = _profile(user, self._admin_ids)
            if message_id is not None and not self._window_is_current(profile, now):
                user.window_first_message_id = message_id
                user.window_started_at = now
                profile = replace(profile, window_first_message_id=message_id, window_started_at=now)
        return self._remember(profile)

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

    async def forget(self, telegram_id: int) -> None:
        """Erase everything stored about this person: user row, roles, dialog state."""
        async with self._sessionmaker() as session, session.begin():
            await session.execute(delete(FsmState).where(FsmState.telegram_id == telegram_id))
            user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
            if user is not None:
                await session.delete(user)
        self._cache.pop(telegram_id, None)
        self._last_message_id.pop(telegram_id, None)

    def last_message_id(self, telegram_id: int) -> int:
        return self._last_message_id.get(telegram_id, 0)

    def cached(self, telegram_id: int) -> UserProfile | None:
        return self._cache.get(telegram_id)
