"""One replica among many runs the scheduler and the outbox sender: the leader.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own. When its
process dies, PostgreSQL ends that session and releases the lock; a follower tries every `retry`
seconds, so it takes over within that (and well within 30 s). A leader that can no longer reach the
database (its lock connection fails a check) steps down at once, so two senders never run on
purpose. The outbox's claims and (recipient, purpose) keys make the hand-over itself safe.

On SQLite there is one process by design: it leads at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("dovira")

# An arbitrary 64-bit key naming this lock among the database's advisory locks ("dovira" in ASCII).
LOCK_KEY = 0x646F76697261


class Leadership:
    def __init__(self, engine: AsyncEngine, *, retry: float = 5.0, key: int = LOCK_KEY) -> None:
        self._engine = engine
        self._retry = retry
        self._key = key
        self._connection: AsyncConnection | None = None
        self.is_leader = False

    @property
    def needs_lock(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    async def run(self, lead: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event) -> None:
        """Until `stop`: become the leader when possible and run `lead(until)`, which must return
        soon after `until` is set (stop asked, or the leadership lost)."""
        while not stop.is_set():
            try:
                acquired = await self._acquire()
            except Exception as exc:  # the database is away: try again later
                log.warning("leader election: cannot reach the database (%s)", type(exc).__name__)
                acquired = False
            if acquired:
                until = asyncio.Event()
                watcher = asyncio.create_task(self._watch(until, stop))
                self.is_leader = True
                log.info("leader election: this replica runs the scheduler and the outbox")
                try:
                    await lead(until)
                except Exception as exc:  # the database failed while starting the duties: retry later
                    log.error("leader election: the leader's duties failed (%s)", type(exc).__name__)
                finally:
                    self.is_leader = False
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
                    await self._release()
                if not stop.is_set():
                    log.warning("leader election: leadership lost; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._retry)

    async def _acquire(self) -> bool:
        if not self.needs_lock:
            return True
        connection = await self._engine.connect()
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            got = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key})
        except BaseException:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def _watch(self, until: asyncio.Event, stop: asyncio.Event) -> None:
        """Set `until` when stop is asked or the lock's connection stops answering."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._retry)
            if stop.is_set():
                break
            if self._connection is None:
                continue  # SQLite: nothing to lose, lead until stopped
            try:
                await asyncio.wait_for(self._connection.scalar(text("SELECT 1")), self._retry)
            except Exception as exc:
                log.error(
                    "leader election: the lock's connection failed (%s); stepping down", type(exc).__name__
                )
                break
        until.set()

    async def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
        except Exception as exc:  # the session is gone, and the lock with it
            log.info("leader election: unlock skipped (%s)", type(exc).__name__)
        with contextlib.suppress(Exception):
            await connection.close()
