"""Webhook mode end to end: `bot.app.run` serving a webhook on a loopback port, the fake Bot API
server posting updates to it as Telegram does (through a proxy that ends TLS), requests forged
without the secret refused before anything is read, and bodies that are not updates or arrive too
slowly refused without a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram.exceptions import TelegramConflictError
from aiohttp import web

from bot.app import build_app, create_bot, run
from bot.settings import Settings, SettingsError, load_settings
from bot.telegram_emulator.server import FakeTelegramServer
from bot.webhook import MAX_JSON_DEPTH, SECRET_HEADER, ReadTimeouts, serve
from tests.conftest import ADMIN_ID, SAME_CLOCK, TOKEN, Person, person_key

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-Token_for-tests"
URL = "https://bot.example.org/telegram/hook"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def webhook_settings(server: FakeTelegramServer, database_url: str, tmp_path: Path) -> Settings:
    port = free_port()
    server.webhook_proxy = f"http://127.0.0.1:{port}"  # the TLS proxy in front of the replica
    return load_settings(
        _env_file=None,
        BOT_API_BASE=server.base_url,
        DATABASE_URL=database_url,
        ADMIN_IDS=str(ADMIN_ID),
        KEY_FILE=str(tmp_path / "dovira.key"),
        WEBHOOK_URL=URL,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_PORT=str(port),
    )


def local(settings: Settings, path: str = "/telegram/hook") -> str:
    return f"http://127.0.0.1:{settings.webhook_port}{path}"


@pytest.fixture
async def webhook_bot(server: FakeTelegramServer, webhook_settings: Settings) -> AsyncIterator[Settings]:
    stop = asyncio.Event()
    task = asyncio.create_task(run(webhook_settings, token=TOKEN, stop=stop))
    await server.wait_for_call("setWebhook", timeout=30)
    if task.done():
        task.result()
    yield webhook_settings
    stop.set()
    await asyncio.wait_for(task, 15)


def start_update(user_id: int, update_id: int = 10_000) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "F", "language_code": "uk"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "F"},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


def users_in(database_url: str) -> set[str]:
    """The keyed hashes of the people stored (a citizen's Telegram id is never there in clear)."""
    path = database_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("select telegram_key from users")}


async def test_start_arrives_by_webhook_and_gets_the_menu(
    server: FakeTelegramServer, webhook_bot: Settings
) -> None:
    call = server.calls_to("setWebhook")[-1]
    assert call.ok and call.params["url"] == URL and call.params["secret_token"] == SECRET
    assert {"message", "callback_query"} <= set(call.params["allowed_updates"])
    assert call.params.get("drop_pending_updates") in (None, False)

    person = Person(server, 1001)
    reply = await person.say("/start")
    assert "Довіра" in reply["text"]
    menu = await person.press(person.labels(reply)[0])  # a button press comes by webhook too
    assert menu["chat"]["id"] == 1001
    step = await person.press("English", await person.say("/start"))
    assert "Language changed" in (await person.press("English", step))["text"]
    assert server.webhook_deliveries and all(status == 200 for _, status in server.webhook_deliveries)
    assert not server.calls_to("getUpdates")  # nothing polls
    if webhook_bot.database_url.startswith("sqlite"):
        assert users_in(webhook_bot.database_url) == {person_key(webhook_bot, 1001)}


async def test_a_request_without_the_secret_is_refused_and_changes_nothing(
    server: FakeTelegramServer, webhook_bot: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession() as http:
        async with http.post(local(webhook_bot), json=start_update(5551)) as answer:
            assert answer.status == 403
        wrong = {SECRET_HEADER: SECRET[:-1] + "x"}
        async with http.post(local(webhook_bot), json=start_update(5552), headers=wrong) as answer:
            assert answer.status == 403
        # Another path is no way round it.
        async with http.post(local(webhook_bot, "/"), json=start_update(5553)) as answer:
            assert answer.status in (404, 405)
    # A real update after the forged ones is handled: by then the forged ones would have been too.
    reply = await Person(server, 1001).say("/start")
    assert "Довіра" in reply["text"]
    await server.wait_idle()
    replied_to = {c.params.get("chat_id") for c in server.calls if c.method.lower() == "sendmessage"}
    assert not replied_to & {5551, 5552, 5553, "5551", "5552", "5553"}
    if webhook_bot.database_url.startswith("sqlite"):
        assert users_in(webhook_bot.database_url) == set()  # and reading the bot stores nobody
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refusals and "403" in refusals[0]
    assert not any("5551" in r.getMessage() or "/start" in r.getMessage() for r in caplog.records)


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing logged with a traceback, and aiohttp never had to log an unhandled error."""
    assert not [r for r in caplog.records if r.exc_info or r.exc_text], caplog.text
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text


async def test_with_the_secret_malformed_or_deeply_nested_json_is_400_with_one_line(
    server: FakeTelegramServer, webhook_bot: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    headers = {SECRET_HEADER: SECRET}
    too_deep = start_update(1001)
    too_deep["message"]["x"] = json.loads(nested(MAX_JSON_DEPTH))  # parses; no update is that deep
    bodies = {
        "10,000 levels of arrays": b"[" * 10_000 + b"]" * 10_000,
        "10,000 levels of objects": nested(10_000),
        "an update with a field nested too deep": json.dumps(too_deep).encode(),
        "not JSON": b'{"update_id": 1, "message": {"text": "my-secret-words"',
        "not UTF-8": b'{"update_id": 1, "x": "\xff\xfe"}',
    }
    async with aiohttp.ClientSession() as http:
        for what, body in bodies.items():
            caplog.clear()
            async with http.post(local(webhook_bot), data=body, headers=headers) as answer:
                assert answer.status == 400, what
                assert (await answer.json())["ok"] is False
            # The webhook's own lines: the replica's start-up (its leader election) may log meanwhile.
            lines = [
                r.getMessage() for r in caplog.records if r.name == "dovira" and "webhook" in r.getMessage()
            ]
            assert len(lines) == 1 and "(400)" in lines[0], (what, lines)
            no_traceback(caplog)
            assert "my-secret-words" not in caplog.text
        # JSON that is not an Update may be Telegram's own (a field this aiogram does not know): 2xx, so
        # that it is not posted again and again, and dropped.
        caplog.clear()
        async with http.post(local(webhook_bot), json={"update_id": "x"}, headers=headers) as answer:
            assert answer.status == 200 and (await answer.json())["ok"] is False
        assert [
            r.getMessage() for r in caplog.records if r.name == "dovira" and "webhook" in r.getMessage()
        ] == ["webhook: dropped JSON that is not an Update"]
        big = b'{"update_id": 1, "x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
        async with http.post(local(webhook_bot), data=big, headers=headers) as answer:
            assert answer.status == 413
    # The server is still serving, and an update nested as deep as the limit allows is taken.
    first = await Person(server, 1001).say("/start")
    fine = start_update(1001)
    fine["message"]["x"] = json.loads(nested(MAX_JSON_DEPTH - 3))
    async with aiohttp.ClientSession() as http:
        async with http.post(local(webhook_bot), json=fine, headers=headers) as answer:
            assert answer.status == 200 and (await answer.json())["ok"] is True
    second = await server.wait_for_bot_message(1001, after_id=first["message_id"], timeout=10)
    assert "Довіра" in second["text"]
    no_traceback(caplog)


SHORT = ReadTimeouts(headers=0.5, body=0.5)


@pytest.fixture
async def short_timeouts(server: FakeTelegramServer, webhook_settings: Settings) -> AsyncIterator[Settings]:
    """The webhook server with half-second read timeouts (10 s in a deployment)."""
    app = await build_app(webhook_settings)
    bot = create_bot(webhook_settings, TOKEN)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, bot, stop, timeouts=SHORT))
    try:
        await server.wait_for_call("setWebhook", timeout=30)
        yield webhook_settings
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await app.close()
        await bot.session.close()


async def drip(writer: asyncio.StreamWriter, start: bytes, every: float = 0.05) -> None:
    """Send `start`, then one more byte every `every` seconds until the server hangs up."""
    writer.write(start)
    with suppress(ConnectionError):
        while True:
            await writer.drain()
            await asyncio.sleep(every)
            writer.write(b"a")


async def hang_up_after(settings: Settings, start: bytes) -> tuple[bytes, float]:
    """Drip a request; what the server answered before closing the connection, and when it closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", settings.webhook_port)
    began = time.monotonic()
    dripping = asyncio.create_task(drip(writer, start))
    answer = bytearray()

    async def until_closed() -> None:
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:  # closed while a dripped byte was on its way: closed all the same
                return
            if not chunk:  # EOF: the server closed it
                return
            answer.extend(chunk)
            dripping.cancel()  # answered: stop sending, or the close that follows becomes a reset

    try:
        await asyncio.wait_for(until_closed(), 5)
        return bytes(answer), time.monotonic() - began
    finally:
        dripping.cancel()
        with suppress(asyncio.CancelledError, ConnectionError):
            await dripping
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


async def test_slow_headers_and_a_slow_body_are_cut_off_without_a_traceback(
    short_timeouts: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # Headers that never end: the connection is closed, nothing is answered or read on.
    answer, took = await hang_up_after(short_timeouts, b"POST /telegram/hook HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    assert answer == b"" and took < SHORT.headers + 2
    # A body that never ends, with the secret: 408 once the body timeout passes, and the connection closed.
    head = (
        "POST /telegram/hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: 4000\r\n{SECRET_HEADER}: {SECRET}\r\n\r\n"
    ).encode()
    answer, took = await hang_up_after(short_timeouts, head + b'{"update_id": 1, "x": "')
    # (then aiohttp reads and discards for as long again, so that the client sees the answer)
    assert answer.startswith(b"HTTP/1.1 408 ") and took < 2 * SHORT.body + 2, answer
    lines = [r.getMessage() for r in caplog.records if r.name == "dovira" and r.levelno >= logging.WARNING]
    assert lines == ["webhook: a request body did not arrive within 0.5 s (408)"]
    no_traceback(caplog)
    # The server goes on serving.
    async with aiohttp.ClientSession() as http, http.get(local(short_timeouts, "/health")) as health:
        assert health.status == 200


async def test_health_says_ok_when_the_database_answers(webhook_bot: Settings) -> None:
    async with aiohttp.ClientSession() as http, http.get(local(webhook_bot, "/health")) as answer:
        assert answer.status == 200
        body = await answer.json()
    assert body == {"status": "ok", "mode": "webhook", "database": "ok", "redis": "off"}


def take_away(path: Path, aside: Path) -> None:
    """The file moves away and a directory takes its name: SQLite cannot open it."""
    path.rename(aside)
    path.mkdir()


def bring_back(path: Path, aside: Path) -> None:
    path.rmdir()
    aside.rename(path)


async def test_health_is_503_when_the_database_is_gone(
    server: FakeTelegramServer, webhook_settings: Settings, tmp_path: Path
) -> None:
    if not webhook_settings.database_url.startswith("sqlite"):
        pytest.skip("takes the SQLite file away")
    app = await build_app(webhook_settings)
    bot = create_bot(webhook_settings, TOKEN)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, bot, stop))
    health = local(webhook_settings, "/health")
    path = Path(webhook_settings.database_url.removeprefix("sqlite+aiosqlite:///"))
    aside = tmp_path / "aside.db"
    try:
        await server.wait_for_call("setWebhook", timeout=30)
        async with aiohttp.ClientSession() as http:
            async with http.get(health) as answer:
                assert answer.status == 200
            # The database goes away: its connections close and its file cannot be opened.
            await app.engine.dispose()
            take_away(path, aside)
            async with http.get(health) as answer:
                assert answer.status == 503
                assert (await answer.json())["database"] == "fail"
            bring_back(path, aside)
            async with http.get(health) as answer:
                assert answer.status == 200
    finally:
        if aside.exists():
            bring_back(path, aside)
        stop.set()
        await asyncio.wait_for(task, 15)
        await app.close()
        await bot.session.close()


async def test_stopping_leaves_the_webhook_for_the_other_replicas(
    server: FakeTelegramServer, webhook_settings: Settings
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run(webhook_settings, token=TOKEN, stop=stop))
    await server.wait_for_call("setWebhook", timeout=30)
    stop.set()
    await asyncio.wait_for(task, 15)
    assert not server.calls_to("deleteWebhook")
    # Telegram keeps what arrives meanwhile until a replica is back.
    server.send_text(1002, "/start")
    assert len(server.pending_updates) == 1


async def test_python_m_bot_serves_the_webhook_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    async with FakeTelegramServer(token=TOKEN, webhook_proxy=f"http://127.0.0.1:{port}") as server:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **SAME_CLOCK,
            "PYTHONPATH": str(ROOT),
            "HOME": str(tmp_path),
            "BOT_TOKEN": TOKEN,
            "BOT_API_BASE": server.base_url,
            "WEBHOOK_URL": URL,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_PORT": str(port),
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
            await server.wait_for_call("setWebhook", timeout=60)
            server.send_text(1001, "/start")
            reply = await server.wait_for_bot_message(1001, timeout=10)
            assert "Довіра" in reply["text"]
            proc.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = output.decode()
    assert proc.returncode == 0, log
    assert "serving the webhook" in log and "Dovira stopped" in log and "Traceback" not in log
    assert "1001" not in log and SECRET not in log


async def test_python_m_bot_refuses_a_short_webhook_secret_in_one_sentence(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **SAME_CLOCK,
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "BOT_TOKEN": TOKEN,
        "BOT_API_BASE": "http://127.0.0.1:9",  # never reached: start-up stops before
        "WEBHOOK_URL": URL,
        "WEBHOOK_SECRET": "short-secret",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, (out, err)
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Dovira cannot start: WEBHOOK_SECRET has a value Dovira cannot use.")
    assert "16-256 characters" in lines[0] and "short-secret" not in lines[0]
    assert not (tmp_path / "dovira.db").exists()  # nothing was started


def test_webhook_settings_default_to_polling_on_loopback() -> None:
    s = load_settings(_env_file=None)
    assert s.webhook_url is None and s.webhook_secret is None
    assert (s.webhook_host, s.webhook_port) == ("127.0.0.1", 8080)
    secret = "a-B_9" + "x" * 11  # 16 characters: the shortest taken
    s = load_settings(_env_file=None, WEBHOOK_URL="https://bot.example.org:8443/tg/", WEBHOOK_SECRET=secret)
    assert s.webhook_path == "/tg/" and s.webhook_secret == secret


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("WEBHOOK_SECRET", {"WEBHOOK_URL": URL}),  # required with WEBHOOK_URL
        ("WEBHOOK_SECRET", {"WEBHOOK_URL": URL, "WEBHOOK_SECRET": "has space but is long"}),
        ("WEBHOOK_SECRET", {"WEBHOOK_URL": URL, "WEBHOOK_SECRET": "x" * 257}),
        ("WEBHOOK_SECRET", {"WEBHOOK_URL": URL, "WEBHOOK_SECRET": "x"}),  # too easy to guess
        ("WEBHOOK_SECRET", {"WEBHOOK_URL": URL, "WEBHOOK_SECRET": "x" * 15}),
        ("WEBHOOK_URL", {"WEBHOOK_URL": "http://bot.example.org/tg", "WEBHOOK_SECRET": SECRET}),
        ("WEBHOOK_URL", {"WEBHOOK_URL": "https://bot.example.org:9000/tg", "WEBHOOK_SECRET": SECRET}),
        ("WEBHOOK_URL", {"WEBHOOK_URL": "https://bot.example.org/health", "WEBHOOK_SECRET": SECRET}),
        ("WEBHOOK_URL", {"WEBHOOK_URL": "bot.example.org/tg", "WEBHOOK_SECRET": SECRET}),
        ("WEBHOOK_PORT", {"WEBHOOK_PORT": "70000"}),
        ("WEBHOOK_HOST", {"WEBHOOK_HOST": ""}),
    ],
)
def test_a_bad_webhook_setting_is_one_sentence(name: str, values: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None, **values)
    message = str(err.value)
    assert message.startswith(name) and "Set " + name in message
    assert "has space" not in message and "xxxxx" not in message


def test_a_local_bot_api_server_may_post_to_plain_http_on_any_port() -> None:
    s = load_settings(
        _env_file=None,
        BOT_API_BASE="http://127.0.0.1:8081",
        WEBHOOK_URL="http://10.0.0.5:9000/tg",
        WEBHOOK_SECRET=SECRET,
    )
    assert s.webhook_url == "http://10.0.0.5:9000/tg"


async def test_the_fake_server_posts_with_the_secret_and_retries_until_2xx() -> None:
    answers = [500, 200]
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(status=answers.pop(0) if answers else 200)

    receiver = web.Application()
    receiver.router.add_post("/tg", hook)
    runner = web.AppRunner(receiver)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with FakeTelegramServer(token=TOKEN, webhook_proxy=f"http://127.0.0.1:{port}") as server:
            server.webhook_retry_delay = 0.0
            bot = server.create_bot()
            try:
                await bot.set_webhook("https://bot.example.org/tg", secret_token="abc")
                server.send_text(1001, "hi")
                await server.wait_until(lambda: len(server.webhook_deliveries) >= 2, what="a retry")
                await server.wait_idle()
                assert [status for _, status in server.webhook_deliveries] == [500, 200]
                assert received[0] == received[1] and received[0][0] == "abc"
                assert received[0][1]["message"]["text"] == "hi"
                info = await bot.get_webhook_info()
                assert info.pending_update_count == 0 and "500" in (info.last_error_message or "")
                with pytest.raises(TelegramConflictError):
                    await bot.get_updates()
            finally:
                await bot.session.close()
    finally:
        await runner.cleanup()


async def test_a_webhook_port_in_use_is_one_sentence(
    server: FakeTelegramServer, webhook_settings: Settings
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", webhook_settings.webhook_port))
        taken.listen()
        with pytest.raises(SettingsError) as err:
            await run(webhook_settings, token=TOKEN, stop=asyncio.Event())
    assert str(err.value).startswith("WEBHOOK_HOST and WEBHOOK_PORT: Dovira cannot listen on 127.0.0.1:")
    assert not server.calls_to("setWebhook")
