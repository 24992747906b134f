"""When each scheduled job last ran, kept in the database so that a job missed while the bot was down
is made up once on start (APScheduler's own job store is in memory)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import SchedulerRun


class JobRuns:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sm = sessionmaker

    async def last_runs(self) -> dict[str, datetime]:
        async with self._sm() as session:
            rows = await session.scalars(select(SchedulerRun))
            return {r.name: _aware(r.last_run_at) for r in rows}

    async def record(self, name: str, at: datetime) -> None:
        async with self._sm() as session, session.begin():
            row = await session.get(SchedulerRun, name)
            if row is None:
                session.add(SchedulerRun(name=name, last_run_at=at))
            elif _aware(row.last_run_at) < at:
                row.last_run_at = at

    async def start(self, names: list[str], now: datetime) -> dict[str, datetime]:
        """The recorded last runs; jobs never recorded (a new installation) count as run now."""
        known = await self.last_runs()
        for name in names:
            if name not in known:
                await self.record(name, now)
        return known


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored here is UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
