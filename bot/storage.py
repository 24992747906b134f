"""aiogram FSM storage in the SQL database, so a dialog survives a restart of the bot.

aiogram reads the state on every update; when this process is the only one using the database
(the embedded SQLite default) reads are served from a write-through cache in memory.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.crypto import Cipher
from db.models import FsmState

_Record = tuple[str | None, dict[str, Any]]


class SQLStorage(BaseStorage):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        cache: bool = True,
        cache_size: int = 100_000,
        key_builder: KeyBuilder | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        self._cipher = cipher
        self._sessionmaker = sessionmaker
        self._key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        self._use_cache = cache
        self._cache: OrderedDict[str, _Record] = OrderedDict()
        self._cache_size = cache_size
        self._keys_by_user: dict[int, set[str]] = {}

    async def close(self) -> None:
        self._cache.clear()

    async def _read(self, key: StorageKey) -> _Record:
        skey = self._key_builder.build(key)
        if self._use_cache and skey in self._cache:
            self._cache.move_to_end(skey)
            return self._cache[skey]
        async with self._sessionmaker() as session:
            row = await session.get(FsmState, skey)
            record: _Record = (row.state, self._load(row.data)) if row else (None, {})
        self._remember(key, skey, record)
        return record

    def _remember(self, key: StorageKey, skey: str, record: _Record) -> None:
        if not self._use_cache:
            return
        self._cache[skey] = record
        self._cache.move_to_end(skey)
        self._keys_by_user.setdefault(key.user_id, set()).add(skey)
        while len(self._cache) > self._cache_size:
            evicted, _record = self._cache.popitem(last=False)
            parts = evicted.split(":")  # fsm:<bot>:<chat>:<user>:<destiny>
            user_id = int(parts[3]) if len(parts) > 3 and parts[3].lstrip("-").isdigit() else None
            if user_id is not None and user_id in self._keys_by_user:
                self._keys_by_user[user_id].discard(evicted)
                if not self._keys_by_user[user_id]:
                    del self._keys_by_user[user_id]

    async def _write(self, key: StorageKey, state: str | None, data: dict[str, Any]) -> None:
        skey = self._key_builder.build(key)
        async with self._sessionmaker() as session, session.begin():
            row = await session.get(FsmState, skey)
            if state is None and not data:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(FsmState(key=skey, telegram_id=key.user_id, state=state, data=self._dump(data)))
            else:
                row.state = state
                row.data = self._dump(data)
        self._remember(key, skey, (state, data))

    def _dump(self, data: dict[str, Any]) -> str:
        text = json.dumps(data, ensure_ascii=False)
        if self._cipher is None:
            return text
        token = self._cipher.encrypt(text)
        assert token is not None
        return token.decode("ascii")

    def _load(self, stored: str) -> dict[str, Any]:
        if self._cipher is not None and not stored.startswith("{"):
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
        """/forget: the rows went with UserService.forget; what is cached in memory goes now."""
        self.drop_cached(telegram_id)

    def drop_cached(self, telegram_id: int) -> None:
        """Forget the cached dialogs of one person after UserService.forget deleted their rows."""
        for skey in self._keys_by_user.pop(telegram_id, set()):
            self._cache.pop(skey, None)
