"""A handler that fails is named in the operator's one line: router, handler, update type, and the Bot
API method when a call failed; never the person's text."""

from __future__ import annotations

import logging

import pytest

from bot.telegram_emulator.server import FakeTelegramServer
from tests.conftest import Person, RunningBot


async def test_a_failed_bot_api_call_names_the_method_and_the_handler(
    bot: RunningBot, server: FakeTelegramServer, caplog: pytest.LogCaptureFixture
) -> None:
    person = Person(server, 1001)
    await person.say("/start")
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="dovira"):
        server.fail_next("sendMessage", status=400, description="Bad Request: injected")
        mark = len(server.calls)
        server.send_text(1001, "/help")
        await server.wait_for_call("sendMessage", lambda c: c.ok, after=mark, timeout=15)  # "try again"
    lines = [r.getMessage() for r in caplog.records if "handler failed" in r.getMessage()]
    assert len(lines) == 1, lines
    line = lines[0]
    assert "message update" in line and "citizen-common/on_help" in line, line
    assert "Bot API sendMessage" in line and "handlers/citizen/menu.py" in line, line
    assert "bot/middlewares.py" not in line and "/help" not in line, line
    assert not any(r.exc_info for r in caplog.records)  # one line, no traceback
