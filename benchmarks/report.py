"""The indicator report over 1,000,000 logged events in SQLite, in one run (target < 1 s):

  (a) baseline: a plain `SELECT count(*) FROM events` on the same database;
  (b) the aggregation alone: EventService.progress (one GROUP BY over the year's events);
  (c) the indicator report as a coordinator gets it: ReportService.build (the aggregation, the
      ranking, the audit entry), for the whole oblast and for one district;
  (d) (c) rendered as XLSX, CSV and the PNG chart, for scale.

Median of several runs each. The database is a fresh temporary SQLite file migrated by the app's own
Alembic migrations with the programme catalogue loaded as the bot loads it; the events are inserted
with executemany in chunks, spread over the programme's three years, all districts and the measures
that feed indicators.

    .venv/bin/python benchmarks/report.py [--events 1000000] [--runs 7] [--without-report-index]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from itertools import repeat
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bot.services.catalogue import load_catalogue
from bot.services.directory import load_directory
from bot.services.events import EventService, sync_catalogue
from bot.services.report_files import to_csv, to_png, to_xlsx
from bot.services.reports import ReportService
from db.engine import create_engine, create_sessionmaker
from db.migrate import upgrade_to_head

DATA = Path(__file__).resolve().parent.parent / "data"
PROGRAMME = "kharkiv-2023-2025"
YEAR = 2024
TARGET_SECONDS = 1.0
CHUNK = 50_000


def insert_events(
    path: Path, count: int, measures: list[int], districts: list[str | None], skip_indexes: set[str]
) -> float:
    """Bulk insert with the sqlite3 module (executemany, one transaction per chunk of 50,000); the
    table's indexes are dropped first and built again after, as for any bulk load. Returns seconds."""
    rng = random.Random(2024)
    first = date(2023, 1, 1)
    days = [(first + timedelta(days=d)).isoformat() for d in range((date(2025, 12, 31) - first).days + 1)]
    types = ("training", "seminar", "round_table", "webinar", "info_campaign", "lecture", "meeting")
    started = time.perf_counter()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL"
        ).fetchall()
        for name, _sql in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        sql = (
            "INSERT INTO events (programme_id, measure_id, event_type, held_on, oblast, district,"
            " participants, breakdown, status, version, created_at)"
            " VALUES (?, ?, ?, ?, 'kharkiv', ?, ?, '{}', ?, 1, ? || ' 12:00:00.000000')"
        )
        done = 0
        while done < count:
            size = min(CHUNK, count - done)
            held = rng.choices(days, k=size)
            rows = zip(
                repeat(PROGRAMME, size),
                rng.choices(measures, k=size),
                rng.choices(types, k=size),
                held,
                rng.choices(districts, k=size),
                rng.choices(range(120), k=size),
                rng.choices(("active", "withdrawn"), weights=(98, 2), k=size),
                held,
                strict=True,
            )
            conn.executemany(sql, rows)
            conn.commit()
            done += size
        for name, create in indexes:
            if name not in skip_indexes:
                conn.execute(create)
        conn.commit()
    return time.perf_counter() - started


async def median_seconds(action: Callable[[], Awaitable[object]], runs: int) -> float:
    await action()  # warm: page cache, statement cache, imports
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def median_sync(action: Callable[[], object], runs: int) -> float:
    action()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


async def main(events: int, runs: int, without_index: bool) -> int:
    directory = load_directory(DATA)
    programmes = load_catalogue(DATA, {o.id for o in directory.oblasts})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report-benchmark.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade_to_head(engine)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            await sync_catalogue(session, programmes)
            fed = await session.execute(
                text(
                    "SELECT DISTINCT measure_id FROM indicators WHERE programme_id = :p"
                    " AND feed IN ('per_event', 'participants') AND measure_id IS NOT NULL"
                ),
                {"p": PROGRAMME},
            )
            measures = [int(m) for (m,) in fed.all()]
        oblast = directory.oblast("kharkiv")
        assert oblast is not None
        districts: list[str | None] = [d.id for d in oblast.districts] + [None]
        await engine.dispose()  # the bulk insert below uses its own connection

        print(
            f"Inserting {events:,} events over {len(measures)} measures, 2023-2025, {len(districts)} places…"
        )
        skipped = {"ix_events_report"} if without_index else set()
        seconds = insert_events(path, events, measures, districts, skipped)
        print(f"  inserted and indexed in {seconds:.1f} s ({events / seconds:,.0f} rows/s)")

        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        sessionmaker = create_sessionmaker(engine)
        service = ReportService(sessionmaker, programmes, directory)
        progress = EventService(sessionmaker)
        in_year = 0

        async def count_all() -> None:
            async with sessionmaker() as session:
                await session.scalar(text("SELECT count(*) FROM events"))

        async def count_year() -> None:
            nonlocal in_year
            async with sessionmaker() as session:
                in_year = int(
                    await session.scalar(
                        text("SELECT count(*) FROM events WHERE held_on BETWEEN :a AND :b"),
                        {"a": f"{YEAR}-01-01", "b": f"{YEAR}-12-31"},
                    )
                    or 0
                )

        baseline = await median_seconds(count_all, runs)
        baseline_year = await median_seconds(count_year, runs)
        aggregation = await median_seconds(lambda: progress.progress(PROGRAMME, YEAR), runs)
        whole = await median_seconds(lambda: service.build("indicators", PROGRAMME, YEAR), runs)
        one = await median_seconds(
            lambda: service.build("indicators", PROGRAMME, YEAR, "kharkiv-izium"), runs
        )
        report = await service.build("indicators", PROGRAMME, YEAR)
        xlsx = median_sync(lambda: to_xlsx(report), runs)
        csv_seconds = median_sync(lambda: to_csv(report), runs)
        png = median_sync(lambda: to_png(report), runs)
        await engine.dispose()

    print(f"\nIndicator report, {PROGRAMME}, {YEAR}: {events:,} events in the table, {in_year:,} in the year")
    if without_index:
        print("  WITHOUT the report's covering index ix_events_report (migration 0008)")
    print(f"  (a) baseline SELECT count(*) FROM events        {baseline:8.3f} s")
    print(f"      baseline count(*) of the year's events       {baseline_year:8.3f} s")
    print(f"  (b) aggregation in SQL (EventService.progress)  {aggregation:8.3f} s")
    print(
        f"  (c) indicator report, whole oblast              {whole:8.3f} s   target < {TARGET_SECONDS:.0f} s"
    )
    print(f"      indicator report, one district              {one:8.3f} s")
    print(
        f"  (d) XLSX {xlsx:.3f} s · CSV {csv_seconds:.3f} s · PNG chart {png:.3f} s (not part of the target)"
    )
    print(f"  report / baseline count(*): {whole / baseline:.1f}x; median of {runs} runs each")
    verdict = "meets" if whole < TARGET_SECONDS else "MISSES"
    relation = "<" if whole < TARGET_SECONDS else ">="
    print(f"  {verdict} the target: {whole:.3f} s {relation} {TARGET_SECONDS:.0f} s")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--without-report-index",
        action="store_true",
        help="drop ix_events_report (migration 0008) to compare",
    )
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.events, arguments.runs, arguments.without_report_index)))
