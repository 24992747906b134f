"""Leader election on its own: on SQLite the one process leads until stopped (it must not step down
and restart its scheduler every few seconds); on PostgreSQL one of two candidates leads, and when its
lock's connection is cut the other takes over."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import text

from db.engine import create_engine
from scheduler.leader import Leadership


async def candidate(leadership: Leadership, stop: asyncio.Event, terms: list[str], name: str) -> None:
    async def lead(until: asyncio.Event) -> None:
        terms.append(name)
        await until.wait()
        terms.append(f"{name} stepped down")

    await leadership.run(lead, stop)


async def test_on_sqlite_the_one_process_leads_until_stopped(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite case")
    engine = create_engine(database_url)
    stop, terms = asyncio.Event(), []
    task = asyncio.create_task(candidate(Leadership(engine, retry=0.02), stop, terms, "only"))
    try:
        await asyncio.sleep(0.3)  # fifteen check intervals
        assert terms == ["only"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await engine.dispose()
    assert terms == ["only", "only stepped down"]


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL is not set")
async def test_on_postgresql_one_leads_and_the_other_takes_over_when_its_connection_is_cut(
    database_url: str,
) -> None:
    engines = [create_engine(database_url) for _ in range(2)]
    stop, terms = asyncio.Event(), []
    first = Leadership(engines[0], retry=0.1)
    tasks = [asyncio.create_task(candidate(first, stop, terms, "first"))]
    try:
        for _ in range(50):
            if terms:
                break
            await asyncio.sleep(0.02)
        tasks.append(asyncio.create_task(candidate(Leadership(engines[1], retry=0.1), stop, terms, "second")))
        await asyncio.sleep(0.5)
        assert terms == ["first"]  # the second waits
        # The first's lock connection is cut, as when its process dies or its network goes.
        async with engines[1].connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
            await conn.commit()
        for _ in range(100):
            if {"second", "first stepped down"} <= set(terms):
                break
            await asyncio.sleep(0.05)
        # The old leader notices at its next check (within `retry`); the lock is already free by then,
        # so the two may overlap that long: the outbox's claims keep a message from going twice.
        assert terms[0] == "first" and sorted(terms[1:3]) == ["first stepped down", "second"]
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
        for engine in engines:
            await engine.dispose()


async def test_duties_that_fail_to_start_are_tried_again_not_lost(database_url: str) -> None:
    """A database error while the leader starts its scheduler must not end the election loop
    (nobody would send reminders again) nor the bot's shutdown."""
    engine = create_engine(database_url)
    stop, attempts = asyncio.Event(), []

    async def lead(until: asyncio.Event) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("no such table: scheduler_runs")
        await until.wait()

    task = asyncio.create_task(Leadership(engine, retry=0.02).run(lead, stop))
    try:
        for _ in range(100):
            if len(attempts) >= 2:
                break
            await asyncio.sleep(0.02)
        assert len(attempts) == 2 and not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)  # ends cleanly
        await engine.dispose()
