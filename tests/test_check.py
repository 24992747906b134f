"""`python -m bot check` as an operator runs it: one OK/FAIL line per check, exit 0 only if all pass,
and no secret on the screen."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from bot.app import build_app
from bot.settings import load_settings
from bot.telegram_emulator.server import FakeTelegramServer
from tests.conftest import SAME_CLOCK

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "42:TEST-secret-part"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def check(tmp_path: Path, **env: str) -> tuple[int, list[str]]:
    full = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **SAME_CLOCK,
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check",
        cwd=tmp_path,
        env={**full, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, output.decode().splitlines()


def line(lines: list[str], name: str) -> str:
    found = [text for text in lines if text.split(":", 1)[0].endswith(" " + name)]
    assert found, f"no {name} line in {lines}"
    return found[0]


async def migrated_database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'dovira.db'}"
    app = await build_app(load_settings(_env_file=None, DATABASE_URL=url, KEY_FILE=str(tmp_path / "k")))
    await app.close()
    return url


async def test_everything_answers_so_every_line_is_ok(tmp_path: Path) -> None:
    url = await migrated_database(tmp_path)
    async with FakeTelegramServer(token=TOKEN) as server:
        code, lines = await check(tmp_path, BOT_TOKEN=TOKEN, BOT_API_BASE=server.base_url, DATABASE_URL=url)
    assert code == 0, lines
    assert all(text.startswith("OK ") for text in lines), lines
    assert "polling" in line(lines, "settings")
    assert "latest revision" in line(lines, "database")
    assert "not set" in line(lines, "redis")
    assert "@dovira_test_bot" in line(lines, "bot api")
    assert "secret-part" not in "\n".join(lines) and "42:****" in line(lines, "settings")


async def test_webhook_mode_says_where_telegram_posts(tmp_path: Path) -> None:
    url = await migrated_database(tmp_path)
    async with FakeTelegramServer(token=TOKEN) as server:
        code, lines = await check(
            tmp_path,
            BOT_TOKEN=TOKEN,
            BOT_API_BASE=server.base_url,
            DATABASE_URL=url,
            WEBHOOK_URL="https://bot.example.org/tg",
            WEBHOOK_SECRET="webhook-secret-value",
        )
    assert code == 0, lines
    assert "nowhere yet" in line(lines, "webhook")
    assert "webhook-secret-value" not in "\n".join(lines)


async def test_a_bot_api_base_that_does_not_answer_fails_its_line(tmp_path: Path) -> None:
    url = await migrated_database(tmp_path)
    base = f"http://127.0.0.1:{free_port()}"
    code, lines = await check(tmp_path, BOT_TOKEN=TOKEN, BOT_API_BASE=base, DATABASE_URL=url)
    assert code == 1, lines
    assert line(lines, "bot api").startswith(f"FAIL bot api: {base}: ")
    assert line(lines, "database").startswith("OK ")
    assert "secret-part" not in "\n".join(lines)


async def test_a_token_the_bot_api_refuses_fails_with_the_reason(tmp_path: Path) -> None:
    url = await migrated_database(tmp_path)
    async with FakeTelegramServer(token=TOKEN) as server:
        code, lines = await check(
            tmp_path, BOT_TOKEN="42:another", BOT_API_BASE=server.base_url, DATABASE_URL=url
        )
    assert code == 1, lines
    assert "401" in line(lines, "bot api") and "BOT_TOKEN" in line(lines, "bot api")


async def test_a_database_url_that_points_nowhere_fails_its_line(tmp_path: Path) -> None:
    async with FakeTelegramServer(token=TOKEN) as server:
        nowhere = f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'dovira.db'}"
        code, lines = await check(
            tmp_path, BOT_TOKEN=TOKEN, BOT_API_BASE=server.base_url, DATABASE_URL=nowhere
        )
        assert code == 1, lines
        assert "no-such-folder does not exist" in line(lines, "database")
        assert line(lines, "database").startswith("FAIL")
        assert line(lines, "bot api").startswith("OK ")
        assert not (tmp_path / "no-such-folder").exists()

        postgres = f"postgresql+asyncpg://dovira:pg-password@127.0.0.1:{free_port()}/dovira"
        code, lines = await check(
            tmp_path, BOT_TOKEN=TOKEN, BOT_API_BASE=server.base_url, DATABASE_URL=postgres
        )
    assert code == 1, lines
    assert line(lines, "database").startswith("FAIL database: postgresql+asyncpg://dovira:***@127.0.0.1:")
    assert "pg-password" not in "\n".join(lines)


async def test_a_bad_setting_is_its_one_sentence_and_exit_2(tmp_path: Path) -> None:
    code, lines = await check(tmp_path, BOT_TOKEN=TOKEN, WEBHOOK_URL="https://bot.example.org/tg")
    assert code == 2, lines
    assert lines == [line(lines, "settings")]
    assert lines[0].startswith(
        "FAIL settings: WEBHOOK_SECRET has a value Dovira cannot use. Set WEBHOOK_SECRET"
    )


async def test_a_getme_answer_the_bot_would_refuse_fails_its_line(tmp_path: Path) -> None:
    """A proxy's HTML page in place of getMe's answer: the bot would not start on it, so check is not OK."""
    url = await migrated_database(tmp_path)
    async with FakeTelegramServer(token=TOKEN) as server:
        server.fail_next("getMe", status=200, html=True)
        code, lines = await check(tmp_path, BOT_TOKEN=TOKEN, BOT_API_BASE=server.base_url, DATABASE_URL=url)
    assert code == 1, lines
    refused = f"FAIL bot api: {server.base_url}: not a Bot API answer: a proxy's error page?"
    assert line(lines, "bot api") == refused
