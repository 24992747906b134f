"""aiogram's Redis FSM storage for several replicas (REDIS_URL), with the dialog data encrypted.

Dialog data can hold what a frightened person typed (a description, a phone number): Redis gets only
ciphertext, as the SQL storage does. Keys carry the bot id (aiogram's default does not) and name the
chat and the person by keyed hashes (bot/storage.py); a dialog expires 24 hours after its last step.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import BlockingConnectionPool, Redis

from bot.services.crypto import Cipher
from bot.storage import DIALOG_TTL, PseudonymousKeyBuilder

DIALOG_KEYS = "fsm:*"  # every dialog key (state and sealed data) of this deployment
POOL_SIZE = 200


def redis_client(url: str) -> Redis:
    """A client whose pool makes a burst of updates wait for a connection: redis-py's default pool
    raises MaxConnectionsError past 100, and the dialog storage runs before the handler that could
    tell the person to try again, so an update would be lost."""
    return Redis(connection_pool=BlockingConnectionPool.from_url(url, max_connections=POOL_SIZE, timeout=10))


class EncryptedRedisStorage(RedisStorage):
    def __init__(self, redis: Redis, cipher: Cipher) -> None:
        self._cipher = cipher
        super().__init__(
            redis,
            key_builder=PseudonymousKeyBuilder(cipher.lookup_key),
            state_ttl=DIALOG_TTL,
            data_ttl=DIALOG_TTL,
            json_dumps=self._seal,
            json_loads=self._open,
        )

    @classmethod
    def from_url(cls, url: str, cipher: Cipher) -> EncryptedRedisStorage:  # type: ignore[override]
        return cls(redis_client(url), cipher)

    def _seal(self, data: Any) -> str:
        token = self._cipher.encrypt(json.dumps(data, ensure_ascii=False))
        assert token is not None
        return token.decode("ascii")

    def _open(self, stored: str) -> Any:
        return json.loads(self._cipher.decrypt(stored.encode("ascii")) or "{}")

    async def expire(self, now: datetime | None = None) -> int:
        """Nothing to delete: Redis expires a dialog's keys itself (DIALOG_TTL)."""
        return 0

    async def forget(self, telegram_id: int) -> None:
        """/forget: every dialog key of this person, in any chat with any bot of this deployment."""
        pattern = f"fsm:*:*:{self._cipher.lookup_key(telegram_id)}:*"
        keys = [key async for key in self.redis.scan_iter(match=pattern, count=500)]
        if keys:
            await self.redis.delete(*keys)
