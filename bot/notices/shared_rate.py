"""The outbox's global sending limit shared by every replica (REDIS_URL): at most `rate` requests start
in any wall-clock second, counted in Redis. Normally only the elected leader sends; this keeps the
bot under Telegram's limit also while a leader hands over (an old leader finishing its last requests
while the new one starts). If Redis does not answer, the local limiter alone applies: a Redis outage
must not stop the reminders."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

log = logging.getLogger("dovira")


class SharedRate:
    def __init__(
        self,
        redis: Redis,
        rate: float,
        *,
        key: str = "dovira:outbox:second",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self.cap = max(1, math.floor(rate))
        self._key = key
        self._clock = clock

    async def wait_turn(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        """Return when this replica may start one request; counts it."""
        while True:
            now = self._clock()
            second = int(now)
            key = f"{self._key}:{second}"
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, 5)
                    count, _ = await pipe.execute()
            except Exception as exc:
                log.warning("outbox: the shared rate limit is unavailable (%s)", type(exc).__name__)
                return
            if count <= self.cap:
                return
            await sleep(second + 1 - now)

    async def close(self) -> None:
        await self._redis.aclose()
