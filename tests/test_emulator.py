"""`python -m bot emulate` works as a new user would try it: no token, no internet, a terminal chat."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def _read_until(stream: asyncio.StreamReader, needle: str, seen: list[str]) -> None:
    async def go() -> None:
        while needle not in "".join(seen):
            chunk = await stream.read(4096)
            if not chunk:
                raise AssertionError(f"emulator ended before showing {needle!r}: {''.join(seen)[-2000:]}")
            seen.append(chunk.decode("utf-8", "replace"))

    await asyncio.wait_for(go(), 90)


async def test_emulator_chat_in_the_terminal(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "ADMIN_IDS": "2002",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "emulate",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    seen: list[str] = []

    async def type_line(line: str, expect: str) -> None:
        seen.clear()
        proc.stdin.write((line + "\n").encode())  # type: ignore[union-attr]
        await proc.stdin.drain()  # type: ignore[union-attr]
        await _read_until(proc.stdout, expect, seen)  # type: ignore[arg-type]

    try:
        await _read_until(proc.stdout, "you are Telegram user 1001", seen)
        await type_line("/start", "[1] 🆘")
        await type_line("1", "112")  # the danger button, pressed by its number
        assert "102" in "".join(seen) and "1547" in "".join(seen)
        await type_line("9", "No such button")
        await type_line(":user 2002", "You are now user 2002")
        await type_line(":lang en", "Client language: en")
        await type_line("/start", "Welcome")
        await type_line(":quit", "Bye.")
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert (tmp_path / "dovira-emulator.db").exists()  # its own database, not the real bot's
