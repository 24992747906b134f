"""`python -m bot emulate` works as a new user would try it: no token, no internet, a terminal chat."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.conftest import SAME_CLOCK

pytestmark = pytest.mark.same_on_every_backend  # its own SQLite file, or none

ROOT = Path(__file__).resolve().parent.parent
WAIT = 90  # seconds for one expected line: start-up migrates a new database

# The README's staff-roles walk, line by line, each with what the terminal shows once it is done
# (`$` starts the emulator). The README must list exactly these lines: the walk works as written.
README_WALK: list[tuple[str, str]] = [
    ("$ ADMIN_IDS=2002 .venv/bin/python -m bot emulate --user 2002", "you are Telegram user 2002"),
    ("/admin", "[#2] ✉️ Створити запрошення"),
    ("#2", "Кого запрошуєте?"),
    ("#1", "Оберіть область:"),
    ("#1", "Оберіть район, за який"),
    ("#1", "Якщо людина вже має роль"),
    ("#1", "Воно спрацює один раз"),
    (":user 3001", "You are now user 3001"),
    ("/start inv_<token>", "Вітаємо в команді"),
    (":user 1001", "You are now user 1001"),
    ("/start", "[#2] 📝 Попросити допомоги"),
    ("#2", "Що сталося?"),
    ("#1", "Де ви зараз?"),
    ("#1", "У якому районі"),
    ("#1", "Чи загрожує вам небезпека"),
    ("#2", "Як з вами зв'язатися?"),
    ("#1", "Кому можна передати"),
    ("#2", "Перевірте запит"),
    ("#8", "Опишіть коротко"),
    ("102", "Опис: 102"),  # typed digits are the description, not button 102
    ("#1", "--- Dovira -> 3001 ---\n🆕"),  # the coordinator's notice, while we are the citizen
    (":user 3001", "You are now user 3001"),
    ("#1", "--- Dovira -> 1001 ---\n👋"),  # the citizen is told, while we are the coordinator
    ("/report", "За який рік?"),  # one oblast: its years straight away
    ("#2", "Який звіт за 2024"),
    ("#1", "[#1] 📊 XLSX"),
    ("#1", ".xlsx\n"),
    (":quit", "Bye."),
    ("$ ADMIN_IDS=2002 .venv/bin/python -m bot emulate --user 1001", "you are Telegram user 1001"),
    ("#1", "Напишіть повідомлення"),  # a button of the run before
    ("Дякую, чекаю", "--- Dovira -> 3001 ---\n✉️"),  # the coordinator's chat, known from the run before
    (":user 3001", "You are now user 3001"),
    ("#1", "Напишіть повідомлення для людини"),
    ("Добрий день, чим допомогти?", "--- Dovira -> 1001 ---\n✉️"),  # the reply that used to fail
    (":quit", "Bye."),
]
_PROMPTED = re.compile(r"^(?:\d+> |(?=\$ ))(.+?)(?: {2,}.*)?$")


class Terminal:
    """One `python -m bot emulate` process: type lines, wait for what it prints."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.shown = ""  # everything printed so far
        self.mark = 0  # where the output of the last typed line begins

    @classmethod
    async def start(cls, folder: Path, command: str) -> Terminal:
        """`command` as the README writes it: leading NAME=value pairs are the environment."""
        words = shlex.split(command)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **SAME_CLOCK,
            "PYTHONPATH": str(ROOT),
            "HOME": str(folder),
        }
        while "=" in words[0]:
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        assert words[1:4] == ["-m", "bot", "emulate"], command
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *words[1:],
            cwd=folder,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return cls(proc)

    @property
    def since_typed(self) -> str:
        return self.shown[self.mark :]

    async def wait_for(self, needle: str) -> str:
        """The output since the last typed line, once it contains `needle`."""
        assert self.proc.stdout is not None

        async def read() -> None:
            while needle not in self.since_typed:
                chunk = await self.proc.stdout.read(4096)  # type: ignore[union-attr]
                if not chunk:
                    raise AssertionError(f"emulator ended before showing {needle!r}:\n{self.shown[-3000:]}")
                self.shown += chunk.decode("utf-8", "replace")

        try:
            await asyncio.wait_for(read(), WAIT)
        except TimeoutError:
            raise AssertionError(f"no {needle!r} in {WAIT} s:\n{self.since_typed[-3000:]}") from None
        return self.since_typed

    async def type(self, line: str, expect: str) -> str:
        assert self.proc.stdin is not None
        self.mark = len(self.shown)
        self.proc.stdin.write((line + "\n").encode())
        await self.proc.stdin.drain()
        return await self.wait_for(expect)

    async def close(self) -> int:
        if self.proc.returncode is None and self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            return await asyncio.wait_for(self.proc.wait(), 30)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()


async def test_emulator_chat_in_the_terminal(tmp_path: Path) -> None:
    terminal = await Terminal.start(tmp_path, "ADMIN_IDS=2002 .venv/bin/python -m bot emulate")
    try:
        await terminal.wait_for("you are Telegram user 1001")
        await terminal.type("/start", "[#1] 🆘")
        shown = await terminal.type("#1", "112")  # the danger button, pressed by its number
        assert "102" in shown and "1547" in shown
        await terminal.type("#9", "No such button")
        await terminal.type(":user 2002", "You are now user 2002")
        await terminal.type(":lang en", "Client language: en")
        await terminal.type("/start", "Welcome")
        await terminal.type(":quit", "Bye.")
        assert await terminal.close() == 0
    finally:
        await terminal.close()
    assert (tmp_path / "dovira-emulator.db").exists()  # its own database, not the real bot's


def readme_walk() -> list[str]:
    """The lines the README's staff-roles walk has you type (and the `$` commands that start it)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("To try the staff roles", 1)[1]
    block = section.split("```\n", 2)[1]
    lines = [_PROMPTED.match(line) for line in block.splitlines()]
    return [match.group(1).rstrip() for match in lines if match]


async def test_the_readme_staff_walk_shows_both_sides_files_and_survives_a_restart(tmp_path: Path) -> None:
    assert readme_walk() == [line for line, _ in README_WALK]
    terminal: Terminal | None = None
    token = ""
    saved: list[Path] = []
    try:
        for line, expect in README_WALK:
            if line.startswith("$ "):
                terminal = await Terminal.start(tmp_path, line[2:])
                await terminal.wait_for(expect)
                continue
            assert terminal is not None
            shown = await terminal.type(line.replace("<token>", token), expect)
            if "?start=inv_" in shown:
                token = re.findall(r"\?start=inv_([\w-]+)", shown)[-1]
            saved += [Path(p) for p in re.findall(r"^\[file saved\] (.+)$", shown, re.MULTILINE)]
            if line == ":quit":
                assert await terminal.close() == 0
        assert terminal is not None
        assert "Chats with 3 user(s) restored" in terminal.shown  # admin, coordinator and citizen
    finally:
        if terminal is not None:
            await terminal.close()

    files = tmp_path / "dovira-emulator-files"
    assert [p.parent for p in saved] == [files, files]  # the chart and the XLSX, each where it said
    chart, table = saved
    assert chart.name.startswith("3001-") and chart.read_bytes().startswith(b"\x89PNG")
    assert table.name.endswith(".xlsx") and table.read_bytes().startswith(b"PK")  # a zip: XLSX
    assert (tmp_path / "dovira-emulator-chats.json").stat().st_mode & 0o077 == 0  # what people typed


async def test_toasts_alerts_and_deletions_are_shown_to_whoever_you_are(tmp_path: Path) -> None:
    """A refusal alert to the coordinator is shown while the citizen is played, and the other way round."""
    terminal = await Terminal.start(tmp_path, "ADMIN_IDS=2002 .venv/bin/python -m bot emulate --user 2002")
    try:
        await terminal.wait_for("you are Telegram user 2002")
        for line, expect in README_WALK[1:8]:  # the admin's invite, then become 3001
            await terminal.type(line, expect)
        token = re.findall(r"\?start=inv_([\w-]+)", terminal.shown)[-1]
        await terminal.type(f"/start inv_{token}", "Вітаємо в команді")
        await terminal.type(":user 1001", "You are now user 1001")
        await terminal.type("/start", "[#2] 📝 Попросити допомоги")
        for press in ("#2", "#1", "#1", "#1", "#2", "#1", "#2"):
            await terminal.type(press, "--- Dovira -> 1001 (you) (edited) ---")
        await terminal.type("#1", "--- Dovira -> 3001 ---\n🆕")  # send: the coordinator's notice
        await terminal.type("#3", "Відкликати запит?")
        await terminal.type("#1", "Запит відкликано")
        await terminal.type(":user 3001", "You are now user 3001")
        await terminal.type("#1", "[alert -> 3001 (you)] ")  # accepting a withdrawn request: refused
        await terminal.type(":user 1001", "You are now user 1001")
        await terminal.type("/start", "[#8] 🔒 Приватність")
        await terminal.type("#8", "[#1] 🧹 Очистити чат")
        shown = await terminal.type("#1", "[toast -> 1001 (you)] ")  # the chat cleared: a toast only
        assert "[deleted in chat 1001 (you)] message(s) 1, 2," in shown
        await terminal.type(":quit", "Bye.")
        assert await terminal.close() == 0
    finally:
        await terminal.close()
