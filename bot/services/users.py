"""Users: who the bot remembers, the chosen language, roles, and erasing it all.

A person who only reads (presses /start, opens menus) leaves no row: one is written when they choose a
language or become staff. A citizen's Telegram id is kept only as a keyed hash (look-up) and an
encrypted chat id; staff also keep it in clear (what they do must be attributable). Profiles, including
"nobody stored", are cached in the process, so the bot reads the database once per person and TTL, and
a burst of first contacts is one read (benchmarks/updates.py measures it).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.crypto import Cipher
from bot.services.staff import AccessDenied, StaffRole
from db.models import AuditEntry, FsmState, OutboxMessage, User

# A cached profile (with its roles) is read again after this many seconds: with several replicas, a role an
# admin removed on one of them stops working on the others within it.
PROFILE_TTL = 30.0
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class UserProfile:
    """What handlers need to know about the person writing; no Telegram types, no names.

    `id` is None while nothing is stored about the person (they have only read)."""

    id: int | None
    telegram_id: int
    language: str | None
    staff: tuple[StaffRole, ...]
    key: str  # the keyed hash that stands for the person at rest (audit entries of someone not stored)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.staff)

    @property
    def is_staff(self) -> bool:
        return bool(self.staff)

    def has(self, role: str) -> bool:
        return any(r.role == role for r in self.staff)

    @property
    def staff_id(self) -> int:
        """The user id of a member of staff (always stored: their actions are attributed to it). Someone
        with no stored row holds no role: a staff action of theirs is refused (and audited) as such."""
        if self.id is None:
            raise AccessDenied("no_role")
        return self.id


def _profile(telegram_id: int, user: User | None, admin_ids: frozenset[int], key: str) -> UserProfile:
    staff = [StaffRole(r.role, r.organisation_id, r.oblast, r.district) for r in user.roles] if user else []
    if telegram_id in admin_ids:
        staff.append(StaffRole(ADMIN, None, None, None))
    return UserProfile(
        id=user.id if user is not None else None,
        telegram_id=telegram_id,
        language=user.language if user is not None else None,
        staff=tuple(staff),
        key=key,
    )


# Per Telegram id: the futures of the touches waiting for one batched read.
_Pending = dict[int, list["asyncio.Future[UserProfile]"]]


class UserService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cipher: Cipher,
        admin_ids: frozenset[int] = frozenset(),
        *,
        cache_size: int = 100_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cipher = cipher
        self._admin_ids = admin_ids
        self._cache: OrderedDict[int, UserProfile] = OrderedDict()
        self._cache_size = cache_size
        # Newest message id seen per chat, in memory only: "clear chat" deletes up to it.
        self._last_message_id: dict[int, int] = {}
        self._pending: _Pending = {}
        self._reader: asyncio.Task[None] | None = None
        self._timer = timer
        self._read_at: dict[int, float] = {}  # when each cached profile was read (timer seconds)

    def key(self, telegram_id: int) -> str:
        """The keyed hash that stands for this person in every table (cases, dialogs, the outbox)."""
        return self._cipher.lookup_key(telegram_id)

    @staticmethod
    def _where(keys: dict[int, str]) -> ColumnElement[bool]:
        # Staff rows made before they had a key (or by hand) are found by the clear id too.
        return or_(User.telegram_key.in_(list(keys.values())), User.telegram_id.in_(list(keys)))

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

    async def _find(self, session: AsyncSession, telegram_id: int) -> User | None:
        return await session.scalar(select(User).where(self._where({telegram_id: self.key(telegram_id)})))

    async def languages(self, telegram_ids: list[int]) -> dict[int, str]:
        """The languages these people chose, read from the database: a notice goes out in the person's
        language even when this process has not seen them since a restart (the cache is empty) or another
        replica took their choice."""
        keys = {telegram_id: self.key(telegram_id) for telegram_id in telegram_ids}
        if not keys:
            return {}
        by_key = {key: telegram_id for telegram_id, key in keys.items()}
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(User.telegram_key, User.telegram_id, User.language).where(
                    self._where(keys), User.language.is_not(None)
                )
            )
            found: dict[int, str] = {}
            for key, telegram_id, language in rows:
                # A row found by its clear id (staff) may carry no key yet.
                person = by_key[key] if key in by_key else telegram_id
                if person is not None and language:
                    found[person] = language
            return found

    async def refresh(self, telegram_id: int) -> UserProfile:
        """The profile read from the database now (before a staff action that must not trust a
        cached role): one read, no transaction to commit."""
        async with self._sessionmaker() as session:
            user = await self._find(session, telegram_id)
            return self._remember(_profile(telegram_id, user, self._admin_ids, self.key(telegram_id)))

    async def touch(self, telegram_id: int, message_id: int | None = None) -> UserProfile:
        """Who is writing: from the cache, or read (never written: reading the bot leaves no row)."""
        if message_id is not None and message_id > self._last_message_id.get(telegram_id, 0):
            self._last_message_id.pop(telegram_id, None)  # re-insert: the dict keeps recency order
            self._last_message_id[telegram_id] = message_id
            if len(self._last_message_id) > self._cache_size:
                del self._last_message_id[next(iter(self._last_message_id))]
        cached = self._cache.get(telegram_id)
        if cached is not None and self._fresh(telegram_id):
            self._cache.move_to_end(telegram_id)
            return cached
        return await self._submit(telegram_id)

    # Group read: touches that need the database while a read is under way wait for it and are then
    # read together in one query. Long polling hands over up to 100 updates at once: a burst of first
    # contacts costs one round trip instead of one each.
    async def _submit(self, telegram_id: int) -> UserProfile:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[UserProfile] = loop.create_future()
        self._pending.setdefault(telegram_id, []).append(waiter)
        if self._reader is None or self._reader.done():
            self._reader = loop.create_task(self._read_pending())
        return await waiter

    async def _read_pending(self) -> None:
        await asyncio.sleep(0)  # let the other handlers of this batch of updates queue theirs
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                profiles = await self._read(list(batch))
            except Exception as exc:
                for waiters in batch.values():
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                continue
            for telegram_id, waiters in batch.items():
                profile = self._remember(profiles[telegram_id])
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(profile)

    async def _read(self, telegram_ids: list[int]) -> dict[int, UserProfile]:
        keys = {t: self.key(t) for t in telegram_ids}
        async with self._sessionmaker() as session:
            found = list(await session.scalars(select(User).where(self._where(keys))))
        by_key = {u.telegram_key: u for u in found if u.telegram_key}
        by_id = {u.telegram_id: u for u in found if u.telegram_id is not None}
        profiles = {}
        for t, key in keys.items():
            user = by_key.get(key) or by_id.get(t)
            if user is None and t in self._admin_ids:
                # An admin (ADMIN_IDS) acts from the first tap: their actions need a row to name them.
                await self.enrol(t)
                async with self._sessionmaker() as session:
                    user = await self._find(session, t)
            profiles[t] = _profile(t, user, self._admin_ids, key)
        return profiles

    async def _stored(self, session: AsyncSession, telegram_id: int, *, staff: bool = False) -> User:
        """The person's row, written now if there is none (they chose a language or became staff)."""
        user = await self._find(session, telegram_id)
        if user is None:
            user = User(roles=[])
            session.add(user)
        user.telegram_key = self.key(telegram_id)
        if user.chat_enc is None:
            user.chat_enc = self._cipher.encrypt(str(telegram_id))
        if staff:
            user.telegram_id = telegram_id
        return user

    async def set_language(self, telegram_id: int, language: str) -> UserProfile:
        for attempt in (1, 2):
            try:
                async with self._sessionmaker() as session, session.begin():
                    user = await self._stored(session, telegram_id)
                    user.language = language
                    await session.flush()
                    profile = _profile(telegram_id, user, self._admin_ids, self.key(telegram_id))
                break
            except IntegrityError:  # another replica wrote the row meanwhile: read it and go on
                if attempt == 2:
                    raise
        return self._remember(profile)

    async def enrol(self, telegram_id: int) -> int:
        """The row of someone about to hold a staff role (an invite redeemed), with their Telegram id
        in clear: staff actions are attributable. Returns the user id."""
        async with self._sessionmaker() as session, session.begin():
            user = await self._stored(session, telegram_id, staff=True)
            await session.flush()
            user_id = user.id
        self.invalidate(telegram_id)
        return user_id

    async def forget(self, telegram_id: int) -> bool:
        """Erase everything stored about this person under their identity: the user row, their dialogs
        and the messages queued for them. False (nothing erased) for a member of staff: their roles
        go through an admin, audited, first."""
        if telegram_id in self._admin_ids:
            return False
        key = self.key(telegram_id)
        async with self._sessionmaker() as session, session.begin():
            user = await self._find(session, telegram_id)
            if user is not None and user.roles:
                return False
            await session.execute(delete(FsmState).where(FsmState.telegram_key == key))
            await session.execute(delete(OutboxMessage).where(OutboxMessage.recipient_key == key))
            # A refusal kept the person's keyed hash: the entry stays (what was tried, when), not who.
            await session.execute(
                update(AuditEntry).where(AuditEntry.actor_key == key).values(actor_key=None)
            )
            if user is not None:
                await session.delete(user)
        self._cache.pop(telegram_id, None)
        self._read_at.pop(telegram_id, None)
        self._last_message_id.pop(telegram_id, None)
        return True

    def last_message_id(self, telegram_id: int) -> int:
        return self._last_message_id.get(telegram_id, 0)

    def invalidate(self, telegram_id: int) -> None:
        """Roles changed (enrolled, removed): read the profile again on the next update."""
        self._cache.pop(telegram_id, None)

    def cached(self, telegram_id: int) -> UserProfile | None:
        return self._cache.get(telegram_id)
