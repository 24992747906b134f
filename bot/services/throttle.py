"""A per-person limit on attempts within a time window, kept in memory (one process)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


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
