"""aiogram FSM storage in the SQL database, so a dialog survives a restart of the bot.

aiogram reads the state on every update; when this process is the only one using the database
(the embedded SQLite default) reads are served from a write-through cache in memory.

A copied database must not name the person in a dialog: keys carry keyed hashes of the chat and the
person (`PseudonymousKeyBuilder`, also used for Redis), the data is encrypted, and a dialog left for
DIALOG_TTL is gone (read as empty at once, its row deleted by the `dialog_expiry` job).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.crypto import Cipher
from db.models import FsmState

# An unfinished dialog (a help request left at "your phone number") is not kept longer than this.
DIALOG_TTL = timedelta(hours=24)

BUILT_KEYS_KEPT = 100_000
# (state, data, when it was last written)
_Record = tuple[str | None, dict[str, Any], datetime]


class PseudonymousKeyBuilder(DefaultKeyBuilder):
    """aiogram's key `fsm:<bot>:<chat>:<user>:<destiny>` (with the bot id, which aiogram's default leaves
    out: two bots on one Redis would share dialogs), with the chat and the person named by a keyed hash:
    a key says nothing without the bot's key."""

    def __init__(self, pseudonym: Callable[[int], str]) -> None:
        super().__init__(with_bot_id=True, with_destiny=True)
        self.pseudonym = pseudonym
        # Each update builds its key at least once: a keyed hash is ~12 us, a dict look-up ~0.1 us.
        self._built: dict[tuple[StorageKey, str | None], str] = {}

    def build(self, key: StorageKey, part: Literal["data", "state", "lock"] | None = None) -> str:
        built = self._built.get((key, part))
        if built is None:
            # StorageKey types the ids as int; the key builder only ever str()s them.
            user = self.pseudonym(key.user_id)
            chat = user if key.chat_id == key.user_id else self.pseudonym(key.chat_id)  # a private chat
            hidden = replace(key, chat_id=chat, user_id=user)  # type: ignore[arg-type]
            built = super().build(hidden, part)
            if len(self._built) >= BUILT_KEYS_KEPT:
                self._built.clear()
            self._built[(key, part)] = built
        return built


class SQLStorage(BaseStorage):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cipher: Cipher,
        *,
        cache: bool = True,
        cache_size: int = 100_000,
        key_builder: KeyBuilder | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._cipher = cipher
        self._sessionmaker = sessionmaker
        self._key_builder = key_builder or PseudonymousKeyBuilder(cipher.lookup_key)
        self._use_cache = cache
        self._cache: OrderedDict[str, _Record] = OrderedDict()
        self._cache_size = cache_size
        self._keys_by_user: dict[int, set[str]] = {}
        self._user_of: dict[str, int] = {}  # cached key -> its person, to forget an evicted key at once
        # With the cache (this process the database's only user), the keys that have a row: a key not in
        # it has no dialog, and the database is not asked. Most updates come from people in no dialog
        # (reading the menu), so without it each first update of a person cost a read. None: not loaded.
        self._stored_keys: set[str] | None = None
        self.clock = clock

    async def preload(self) -> None:
        """Learn which dialogs exist (at start; a day's worth at most, they expire)."""
        if not self._use_cache:
            return
        async with self._sessionmaker() as session:
            self._stored_keys = set(await session.scalars(select(FsmState.key)))

    async def close(self) -> None:
        self._cache.clear()

    def _expired(self, written: datetime) -> bool:
        return self.clock() - (written if written.tzinfo else written.replace(tzinfo=UTC)) >= DIALOG_TTL

    async def _read(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        skey = self._key_builder.build(key)
        if self._use_cache and skey in self._cache:
            self._cache.move_to_end(skey)
            state, data, written = self._cache[skey]
            if not self._expired(written):
                return state, data
        if self._stored_keys is not None and skey not in self._stored_keys:
            return None, {}  # no row: nothing to read, nothing to remember
        async with self._sessionmaker() as session:
            row = await session.get(FsmState, skey)
            record: _Record = (
                (row.state, self._load(row.data), row.updated_at) if row else (None, {}, self.clock())
            )
        if row is not None and self._expired(record[2]):
            # Left for a day: the dialog starts again (the row goes with the next expiry run).
            record = (None, {}, self.clock())
        self._remember(key, skey, record)
        return record[0], record[1]

    def _remember(self, key: StorageKey, skey: str, record: _Record) -> None:
        if not self._use_cache:
            return
        self._cache[skey] = record
        self._cache.move_to_end(skey)
        self._keys_by_user.setdefault(key.user_id, set()).add(skey)
        self._user_of[skey] = key.user_id
        while len(self._cache) > self._cache_size:
            evicted, _record = self._cache.popitem(last=False)
            user_id = self._user_of.pop(evicted, None)
            keys = self._keys_by_user.get(user_id) if user_id is not None else None
            if keys is not None:
                keys.discard(evicted)
                if not keys:
                    del self._keys_by_user[user_id]  # type: ignore[arg-type]

    async def _write(self, key: StorageKey, state: str | None, data: dict[str, Any]) -> None:
        skey = self._key_builder.build(key)
        now = self.clock()
        async with self._sessionmaker() as session, session.begin():
            row = await session.get(FsmState, skey)
            if state is None and not data:
                if row is not None:
                    await session.delete(row)
                if self._stored_keys is not None:
                    self._stored_keys.discard(skey)
            elif row is None:
                session.add(
                    FsmState(
                        key=skey,
                        telegram_key=self._cipher.lookup_key(key.user_id),
                        state=state,
                        data=self._dump(data),
                        updated_at=now,
                    )
                )
                if self._stored_keys is not None:
                    self._stored_keys.add(skey)
            else:
                row.state = state
                row.data = self._dump(data)
                row.updated_at = now
        self._remember(key, skey, (state, data, now))

    async def expire(self, now: datetime | None = None) -> int:
        """Delete the dialogs nobody touched for DIALOG_TTL (the `dialog_expiry` job); returns how many."""
        cutoff = (now or self.clock()) - DIALOG_TTL
        async with self._sessionmaker() as session, session.begin():
            result = await session.execute(delete(FsmState).where(FsmState.updated_at < cutoff))
        for skey, (_state, _data, written) in list(self._cache.items()):
            if self._expired(written):
                self._cache.pop(skey, None)
        if self._stored_keys is not None:
            await self.preload()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _dump(self, data: dict[str, Any]) -> str:
        text = json.dumps(data, ensure_ascii=False)
        token = self._cipher.encrypt(text)
        assert token is not None
        return token.decode("ascii")

    def _load(self, stored: str) -> dict[str, Any]:
        if not stored.startswith("{"):
            stored = self._cipher.decrypt(stored.encode("ascii")) or "{}"
        loaded: dict[str, Any] = json.loads(stored)
        return loaded

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        new_state = state.state if isinstance(state, State) else state
        current_state, data = await self._read(key)
        if new_state == current_state:
            return
        await self._write(key, new_state, data)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._read(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        state, current = await self._read(key)
        if current == data:
            return
        await self._write(key, state, dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._read(key))[1])

    async def forget(self, telegram_id: int) -> None:
        """/forget: every dialog row of this person (UserService.forget deletes them too, in its own
        transaction) and what is cached in memory."""
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                delete(FsmState).where(FsmState.telegram_key == self._cipher.lookup_key(telegram_id))
            )
        self.drop_cached(telegram_id)

    def drop_cached(self, telegram_id: int) -> None:
        """Forget the cached dialogs of one person after UserService.forget deleted their rows."""
        for skey in self._keys_by_user.pop(telegram_id, set()):
            self._cache.pop(skey, None)
            self._user_of.pop(skey, None)
            if self._stored_keys is not None:
                self._stored_keys.discard(skey)
