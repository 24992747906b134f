"""The disk under the SQLite database fills up while the bot runs (issue 7).

A real full disk: the database lives on a small tmpfs, filled to the last byte, so that SQLite's
next write gets ENOSPC from the kernel. The person is told to try again (with the emergency
numbers), the operator gets one plain CRITICAL line, nothing half-written is kept, and once space
is freed the same button files the request once and the database passes SQLite's integrity check.

Mounting needs root: CI runs as root (and fails the test if it cannot mount); elsewhere the test
says so and is skipped."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import Settings, load_settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.models import Case, CaseEvent
from tests.conftest import ADMIN_ID, SAME_CLOCK, Person, start_bot
from tests.test_citizen_e2e import text_of
from tests.test_faults import TRY_AGAIN, count
from tests.test_request_bad_input_e2e import _to_description

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="SQLite's disk: runs in the SQLite pass"
)


@contextlib.contextmanager
def small_disk(where: Path, size: str = "32m") -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        why = f"cannot mount a small disk here (needs root): {mounted.stderr.decode().strip()}"
        if os.environ.get("CI"):
            pytest.fail(why)  # CI runs as root: there a skip would hide the test
        pytest.skip(why)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; returns it (delete it to free the space)."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as out:
        while True:
            try:
                out.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                chunk = chunk[: len(chunk) // 2]
                if not chunk:
                    return filler


def checkpoint_and_truncate_the_wal(database: Path) -> None:
    """From then on every write must grow the write-ahead log: it needs new space on the disk.
    (Without it, a write may fit in space the log already holds and the test would prove nothing.)"""
    with sqlite3.connect(database, timeout=10) as db:
        busy, _log, _moved = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0


async def test_a_full_disk_loses_nothing_and_the_retry_after_freeing_space_files_once(
    server: FakeTelegramServer,
    migrated_sqlite: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        database = disk / "dovira.db"
        shutil.copyfile(migrated_sqlite, database)
        settings: Settings = load_settings(
            _env_file=None,
            REDIS_URL="",
            BOT_API_BASE=server.base_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{database}",
            ADMIN_IDS=str(ADMIN_ID),
            KEY_FILE=str(tmp_path / "dovira.key"),
        )
        bot = await start_bot(server, settings)
        try:
            person = Person(server, 1001)
            await _to_description(person)
            review = await person.say("Обіцяли роботу на складі, а платити не стали")

            checkpoint_and_truncate_the_wal(database)
            filler = fill(disk)
            caplog.clear()
            with caplog.at_level(logging.ERROR, logger="dovira"):
                answer = await person.press("Надіслати", review)
            assert TRY_AGAIN in text_of(answer) and "102" in text_of(answer)
            full = [r for r in caplog.records if r.levelno == logging.CRITICAL]
            assert full and "disk is full" in full[0].getMessage(), [r.getMessage() for r in caplog.records]
            assert "1001" not in caplog.text  # no one's id in the operator's log
            assert await count(settings, Case) == 0 and await count(settings, CaseEvent) == 0

            filler.unlink()  # the operator frees space
            sent = await person.press("Надіслати", review)  # the same button: the dialog kept its place
            assert "Код запиту" in text_of(sent)
            assert await count(settings, Case) == 1
        finally:
            await bot.shutdown()
        with sqlite3.connect(database) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("select count(*) from cases").fetchone() == (1,)


def test_python_m_bot_on_a_full_disk_says_so_and_exits(migrated_sqlite: Path, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        database = disk / "dovira.db"
        shutil.copyfile(migrated_sqlite, database)
        fill(disk)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **SAME_CLOCK,
            "PYTHONPATH": str(ROOT),
            "HOME": str(tmp_path),
            "BOT_TOKEN": "42:TEST",
            "BOT_API_BASE": "http://127.0.0.1:9",  # never reached: the start stops before polling
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "KEY_FILE": str(tmp_path / "dovira.key"),
        }
        done = subprocess.run(
            [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, timeout=60
        )
    output = (done.stdout + done.stderr).decode()
    assert done.returncode == 1, output
    assert "the database's disk is full" in output and "Traceback" not in output, output
