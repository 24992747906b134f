"""Two replicas of `python -m bot` on one PostgreSQL: only the elected leader sends the outbox; the
leader dies in the middle of sending reminders; the other takes over within 30 seconds and every
reminder arrives. Runs when TEST_DATABASE_URL is set (CI sets it).

A leader stopped by a signal (SIGTERM: a deploy, a scale-down) hands over with every reminder delivered
exactly once. A leader killed outright (SIGKILL) cannot record the answers to the requests it had on the
wire: those few messages are in doubt and sent again by the new leader (Telegram has no idempotency
key; the outbox prefers a duplicate to a loss). The test holds it to exactly that.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bot.app import build_app
from bot.notices.outgoing import Outgoing
from bot.telegram_emulator.server import FakeTelegramServer
from db.models import OutboxMessage
from tests.conftest import SAME_CLOCK, TOKEN

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL is not set"
)

ROOT = Path(__file__).resolve().parent.parent
CHATS = range(50_000, 50_240)
RATE = 40  # messages a second: 240 reminders take 6 s, long enough to stop the leader in the middle


class Replica:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.log = ""

    async def read_until(self, text: str, within: float) -> float:
        """Read the replica's log until `text` appears; returns when (monotonic seconds)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + within
        while text not in self.log:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} not in the replica's log:\n{self.log[-3000:]}")
            line = await asyncio.wait_for(self.proc.stdout.readline(), remaining)
            if not line:
                raise AssertionError(f"the replica exited:\n{self.log[-3000:]}")
            self.log += line.decode(errors="replace")
        return time.monotonic()

    async def read_for(self, seconds: float) -> None:
        """Read whatever the replica logs in the next `seconds`."""
        assert self.proc.stdout is not None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while line := await self.proc.stdout.readline():
                    self.log += line.decode(errors="replace")

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


async def start_replica(
    server: FakeTelegramServer, database_url: str, key: str, home: Path, **extra: str
) -> Replica:
    """`python -m bot` as a replica: its own working folder, the shared database and key."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **SAME_CLOCK,
        "PYTHONPATH": str(ROOT),
        "HOME": str(home),
        "BOT_TOKEN": TOKEN,
        "BOT_API_BASE": server.base_url,
        "DATABASE_URL": database_url,
        "ENCRYPTION_KEY": key,
        "SEND_RATE_PER_S": str(RATE),
        # A claim a killed replica left is in doubt after 10 s, not 2 minutes: the test waits for it.
        "OUTBOX_LEASE_S": "10",
        **extra,
    }
    home.mkdir(exist_ok=True)  # noqa: ASYNC240 (a test's temporary folder)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=home,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    return Replica(proc)


def delivered(server: FakeTelegramServer) -> Counter[int]:
    return Counter(
        int(c.params["chat_id"])
        for c in server.calls_to("sendMessage")
        if c.ok and int(c.params["chat_id"]) in CHATS
    )


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_the_other_replica_takes_over_and_every_reminder_arrives(
    database_url: str, tmp_path: Path, how: signal.Signals
) -> None:
    key = Fernet.generate_key().decode()
    async with FakeTelegramServer(token=TOKEN) as server:
        for chat in CHATS:
            server.add_user(chat)
        from bot.settings import load_settings

        settings = load_settings(
            _env_file=None, DATABASE_URL=database_url, ENCRYPTION_KEY=key, BOT_API_BASE=server.base_url
        )
        app = await build_app(settings)  # migrates; the reminders are queued as a job would queue them
        await app.outbox.enqueue([Outgoing(chat, "failover.test", f"Нагадування {chat}") for chat in CHATS])

        first = await start_replica(server, database_url, key, tmp_path / "a")
        second: Replica | None = None
        try:
            await first.read_until("this replica runs the scheduler", 60)
            second = await start_replica(server, database_url, key, tmp_path / "b")
            await second.read_until("Dovira is polling", 60)
            await server.wait_until(
                lambda: len(delivered(server)) >= 60, timeout=30, what="sending under way"
            )
            assert "this replica runs the scheduler" not in second.log  # a follower while the leader lives

            first.proc.send_signal(how)
            stopped = time.monotonic()
            await asyncio.wait_for(first.proc.wait(), 30)
            async with app.sessionmaker() as session:
                in_doubt = await session.scalar(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sending")
                )
            took_over = await second.read_until("this replica runs the scheduler", 40)
            assert took_over - stopped < 30

            await server.wait_until(
                lambda: len(delivered(server)) == len(CHATS), timeout=60, what="every reminder delivered"
            )
            await asyncio.sleep(0)  # let a last duplicate, if any, be recorded before counting
            counts = delivered(server)
            twice = [chat for chat, n in counts.items() if n > 1]
            if how == signal.SIGTERM:
                assert not twice, "a graceful stop must hand over without repeating anything"
            else:
                assert len(twice) <= (in_doubt or 0), (twice, in_doubt)
            print(
                f"{how.name}: in doubt {in_doubt}, delivered twice {len(twice)}, "
                f"took over in {took_over - stopped:.1f} s"
            )
            assert "Traceback" not in second.log
        finally:
            await first.stop()
            if second is not None:
                await second.stop()
            await app.close()
