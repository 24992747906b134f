"""`python -m bot` as an operator runs it: migrates, polls, answers, and Ctrl-C stops it cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.telegram_emulator.server import FakeTelegramServer
from tests.conftest import SAME_CLOCK

pytestmark = pytest.mark.same_on_every_backend  # its own SQLite file, or none

ROOT = Path(__file__).resolve().parent.parent


async def test_python_m_bot_polls_answers_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    async with FakeTelegramServer(token="42:TEST") as server:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **SAME_CLOCK,
            "PYTHONPATH": str(ROOT),
            "HOME": str(tmp_path),
            "BOT_TOKEN": "42:TEST",
            "BOT_API_BASE": server.base_url,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await server.wait_for_call("getMe", timeout=60)
            server.send_text(1001, "/start")
            reply = await server.wait_for_bot_message(1001, timeout=10)
            assert "Довіра" in reply["text"]
            # While it runs: the database, its write-ahead log and shared memory (gone after a clean
            # stop) and the key are readable by the bot's user alone.
            files = [
                tmp_path / name for name in ("dovira.db", "dovira.db-wal", "dovira.db-shm", "dovira.key")
            ]
            modes = {path.name: oct(path.stat().st_mode & 0o777) for path in files}
            assert modes == {path.name: "0o600" for path in files}
            proc.send_signal(signal.SIGINT)
            output, _ = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = output.decode()
    assert proc.returncode == 0, log
    assert "Dovira stopped" in log and "Traceback" not in log
    assert "1001" not in log  # no user ids in the log
    # The default database, migrated to the latest revision, holds nothing of a person who only read.
    with sqlite3.connect(tmp_path / "dovira.db") as db:
        assert db.execute("select count(*) from users").fetchone() == (0,)
        assert db.execute("select version_num from alembic_version").fetchone() is not None
