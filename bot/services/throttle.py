"""Per-person limits on attempts within a time window: in memory (one process), or in Redis
(REDIS_URL: several replicas share one count, or each would allow the limit again)."""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis

log = logging.getLogger("dovira")


class Limiter(Protocol):
    async def allow(self, key: int) -> bool:
        """Count one attempt; False when `limit` attempts were already made within the window."""
        ...

    async def forget(self, key: int) -> None:
        """/forget: nothing of this person's attempts is kept."""
        ...


class Throttle:
    def __init__(self, limit: int, per_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.per_seconds = per_seconds
        self._clock = clock
        self._hits: dict[int, deque[float]] = {}

    async def allow(self, key: int) -> bool:
        return self.allow_now(key)

    async def forget(self, key: int) -> None:
        self._hits.pop(key, None)

    def allow_now(self, key: int) -> bool:
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] > self.per_seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


# A sliding window in a sorted set, checked and counted in one step (several replicas at once), on
# Redis's own clock (the replicas' clocks may differ).
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) * 1000))
return 1
"""
OUTAGE_WARNING_EVERY = 60.0  # seconds between two warnings that Redis is unavailable


class RedisThrottle:
    """The same limit counted in Redis. A key names the person by a keyed hash of the chat id (a Redis
    dump must not tell who is writing to a coordinator) and expires with the window. If Redis does not
    answer, this process's own count applies meanwhile."""

    def __init__(
        self,
        redis: Redis,
        name: str,
        limit: int,
        per_seconds: float,
        pseudonym: Callable[[int], str] = str,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._name = name
        self.limit = limit
        self.per_seconds = per_seconds
        self._pseudonym = pseudonym
        self._timer = timer
        self._local = Throttle(limit, per_seconds)
        self._warned_at = -OUTAGE_WARNING_EVERY

    def _key(self, key: int) -> str:
        return f"dovira:throttle:{self._name}:{self._pseudonym(key)}"

    async def forget(self, key: int) -> None:
        await self._local.forget(key)
        try:
            await self._redis.delete(self._key(key))
        except Exception as exc:  # it expires with its window (an hour at most) all the same
            log.warning("throttle %s: Redis is unavailable (%s), not erased", self._name, type(exc).__name__)

    async def allow(self, key: int) -> bool:
        try:
            allowed = await self._redis.eval(
                _SLIDING_WINDOW,
                1,
                self._key(key),
                self.per_seconds,
                self.limit,
                uuid.uuid4().hex,
            )
        except Exception as exc:
            if self._timer() - self._warned_at >= OUTAGE_WARNING_EVERY:
                self._warned_at = self._timer()
                log.warning(
                    "throttle %s: Redis is unavailable (%s), counting locally", self._name, type(exc).__name__
                )
            return self._local.allow_now(key)
        return bool(allowed)


# --- help requests and relayed messages ---------------------------------------------------------
# A person in trouble may file a few requests a day (a second attempt, a correction, a new situation);
# past that it is a flood, not a person. Counted from the database (the chat's own cases), so a restart
# or another replica does not reset it. The danger numbers are shown with every refusal.
REQUESTS_PER_DAY = 3
REQUEST_WINDOW = timedelta(hours=24)
# Messages a person writes to the coordinator of their case: a burst of typing passes, a script does not.
RELAY_MESSAGES_PER_MINUTE = 10


def next_request_at(filed_at: Iterable[datetime], now: datetime) -> datetime | None:
    """None when one more help request may be filed now; otherwise the moment it may.

    `filed_at`: when this chat's earlier requests were filed (any order, any time zone-aware instants)."""
    recent = sorted(t for t in filed_at if now - t < REQUEST_WINDOW)
    if len(recent) < REQUESTS_PER_DAY:
        return None
    return recent[-REQUESTS_PER_DAY] + REQUEST_WINDOW


# Codes are the secret that gives a status: a few wrong guesses an hour, then a pause.
CODE_ATTEMPTS_PER_HOUR = 5


@dataclass(frozen=True)
class Throttles:
    """The limits handlers apply, shared across replicas when there is Redis."""

    code_attempts: Limiter
    relay_messages: Limiter

    async def forget(self, key: int) -> None:
        await self.code_attempts.forget(key)
        await self.relay_messages.forget(key)

    @classmethod
    def create(cls, redis: Redis | None, pseudonym: Callable[[int], str] = str) -> Throttles:
        """`pseudonym`: how a chat is named in Redis (the cipher's keyed hash)."""
        if redis is None:
            return cls(Throttle(CODE_ATTEMPTS_PER_HOUR, 3600), Throttle(RELAY_MESSAGES_PER_MINUTE, 60))
        return cls(
            RedisThrottle(redis, "code", CODE_ATTEMPTS_PER_HOUR, 3600, pseudonym),
            RedisThrottle(redis, "relay", RELAY_MESSAGES_PER_MINUTE, 60, pseudonym),
        )
