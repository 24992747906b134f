"""A per-person limit on attempts within a time window, kept in memory (one process)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta


class Throttle:
    def __init__(self, limit: int, per_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.per_seconds = per_seconds
        self._clock = clock
        self._hits: dict[int, deque[float]] = {}

    def allow(self, key: int) -> bool:
        """Count one attempt; False when `limit` attempts were already made within the window."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] > self.per_seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


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


def relay_throttle(clock: Callable[[], float] = time.monotonic) -> Throttle:
    return Throttle(limit=RELAY_MESSAGES_PER_MINUTE, per_seconds=60, clock=clock)
