"""`python -m bot` in Telegram's bad minutes: a Bot API that is not there yet, that never answers, that
answers a proxy's HTML 502 for a while, retried with one line per attempt and no traceback; a token it
refuses, one sentence and exit status 2."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.telegram_emulator.server import FakeTelegramServer
from tests.conftest import SAME_CLOCK

pytestmark = pytest.mark.same_on_every_backend  # its own SQLite file, or none

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "42:TEST"
RETRY_LINE = "cannot be reached"


class Process:
    """The bot as an operator runs it, its output read as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    async def wait_for(self, text: str, *, count: int = 1, timeout: float = 90) -> None:  # noqa: ASYNC109
        """Read output until `count` lines hold `text` (the process may not have printed them yet)."""
        assert self.proc.stdout is not None

        async def read() -> None:
            while sum(text in line for line in self.lines) < count:
                line = await self.proc.stdout.readline()  # type: ignore[union-attr]
                if not line:
                    raise AssertionError(f"the bot stopped before {text!r}:\n" + "".join(self.lines))
                self.lines.append(line.decode())

        await asyncio.wait_for(read(), timeout)

    async def stop(self) -> str:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(self.proc.communicate(), 30)
        return "".join(self.lines) + rest.decode()


@asynccontextmanager
async def python_m_bot(tmp_path: Path, base: str) -> AsyncIterator[Process]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **SAME_CLOCK,
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "BOT_TOKEN": TOKEN,
        "BOT_API_BASE": base,
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
        yield Process(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def answers_and_stops(bot: Process, server: FakeTelegramServer) -> str:
    """The bot polls: it answers a person, then stops cleanly on Ctrl-C; returns its whole output."""
    await bot.wait_for("Dovira is polling")
    server.send_text(1001, "/start")
    assert "Довіра" in (await server.wait_for_bot_message(1001, timeout=30))["text"]
    output = await bot.stop()
    assert bot.proc.returncode == 0, output
    assert "Traceback" not in output, output
    return output


def retries(output: str) -> list[str]:
    return [line for line in output.splitlines() if RETRY_LINE in line]


async def test_a_bot_api_not_there_yet_is_waited_for(tmp_path: Path) -> None:
    port = free_port()
    async with python_m_bot(tmp_path, f"http://127.0.0.1:{port}") as bot:
        await bot.wait_for(RETRY_LINE, count=2)  # connection refused, twice
        async with FakeTelegramServer(token=TOKEN, port=port) as server:
            output = await answers_and_stops(bot, server)
    lines = retries(output)
    assert len(lines) >= 2 and all("network error" in line and "attempt" in line for line in lines), output


async def test_a_bot_api_that_never_answers_is_given_up_on_and_tried_again(tmp_path: Path) -> None:
    async with FakeTelegramServer(token=TOKEN) as server:
        server.hang_next("getMe")  # taken, never answered
        async with python_m_bot(tmp_path, server.base_url) as bot:
            output = await answers_and_stops(bot, server)
    lines = retries(output)
    assert len(lines) == 1 and "no answer in time" in lines[0], output


async def test_a_proxys_html_502_for_ten_seconds_is_outlasted(tmp_path: Path) -> None:
    async with FakeTelegramServer(token=TOKEN) as server:
        server.fail_for(10, status=502, html=True)
        async with python_m_bot(tmp_path, server.base_url) as bot:
            output = await answers_and_stops(bot, server)
    lines = retries(output)
    assert len(lines) >= 3 and all("not a Bot API answer" in line for line in lines), output
    waits = [int(line.rsplit("again in ", 1)[1].split()[0]) for line in lines]
    assert waits == sorted(waits) and waits[0] == 1 and waits[1] == 2  # exponential backoff


async def test_a_refused_token_stops_with_one_sentence_and_status_2(tmp_path: Path) -> None:
    async with FakeTelegramServer(token=TOKEN) as server:
        server.fail_next("getMe", status=401)
        async with python_m_bot(tmp_path, server.base_url) as bot:
            output = (await asyncio.wait_for(bot.proc.communicate(), 60))[0].decode()
    assert bot.proc.returncode == 2, output
    assert "Traceback" not in output, output
    refusal = [line for line in output.splitlines() if "BOT_TOKEN" in line]
    assert len(refusal) == 1 and "refused" in refusal[0] and "BOT_API_BASE" in refusal[0], output


async def test_a_failing_command_menu_is_warned_and_set_later_while_the_bot_answers(tmp_path: Path) -> None:
    """setMyCommands only sets the menu: a Bot API that refuses it must not keep people from their answers."""
    async with FakeTelegramServer(token=TOKEN) as server:
        server.fail_next("setMyCommands", status=502, times=2)
        async with python_m_bot(tmp_path, server.base_url) as bot:
            await bot.wait_for("Dovira is polling")
            server.send_text(1001, "/start")
            assert "Довіра" in (await server.wait_for_bot_message(1001, timeout=30))["text"]
            await bot.wait_for("setting the command menu failed", count=2)
            # Tried again in the background until the menu is there, in both languages.
            await server.wait_until(
                lambda: len([c for c in server.calls_to("setMyCommands") if c.status == 200]) >= 2,
                timeout=60,
                what="the command menu set after the failures",
            )
            output = await bot.stop()
    assert bot.proc.returncode == 0, output
    assert "Traceback" not in output, output
    warned = [line for line in output.splitlines() if "setting the command menu failed" in line]
    assert len(warned) == 2 and all("WARNING" in line and "server error" in line for line in warned), output
