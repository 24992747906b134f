"""aiogram's Redis FSM storage for several replicas (REDIS_URL), with the dialog data encrypted.

Dialog data can hold what a frightened person typed (a description, a phone number): Redis gets only
ciphertext, as the SQL storage does. Keys carry the bot id (aiogram's default does not) and expire
after a month, so an abandoned dialog does not stay forever.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.services.crypto import Cipher

DIALOG_TTL = timedelta(days=30)


class EncryptedRedisStorage(RedisStorage):
    def __init__(self, redis: Redis, cipher: Cipher) -> None:
        self._cipher = cipher
        super().__init__(
            redis,
            key_builder=DefaultKeyBuilder(with_bot_id=True, with_destiny=True),
            state_ttl=DIALOG_TTL,
            data_ttl=DIALOG_TTL,
            json_dumps=self._seal,
            json_loads=self._open,
        )

    @classmethod
    def from_url(cls, url: str, cipher: Cipher) -> EncryptedRedisStorage:  # type: ignore[override]
        return cls(Redis.from_url(url), cipher)

    def _seal(self, data: Any) -> str:
        token = self._cipher.encrypt(json.dumps(data, ensure_ascii=False))
        assert token is not None
        return token.decode("ascii")

    def _open(self, stored: str) -> Any:
        return json.loads(self._cipher.decrypt(stored.encode("ascii")) or "{}")

    async def forget(self, telegram_id: int) -> None:
        """/forget: every dialog key of this person, in any chat with any bot of this deployment."""
        pattern = f"fsm:*:*:{telegram_id}:*"
        keys = [key async for key in self.redis.scan_iter(match=pattern, count=500)]
        if keys:
            await self.redis.delete(*keys)
