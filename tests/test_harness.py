"""The test harness itself: what the end-to-end tests rely on to hold on a busy machine."""

from __future__ import annotations

from bot.app import build_app
from bot.notices.outgoing import Outgoing
from bot.telegram_emulator.server import FakeTelegramServer
from tests.conftest import Person, RunningBot


async def test_a_notice_the_outbox_sends_is_never_taken_for_the_reply(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    """A reminder that lands between a person's action and the bot's answer (the outbox's timing, not the
    person's) must not be read as that answer, by the Person that test modules import."""
    person = Person(server, 1001)
    server.add_user(1001)
    mark = len(server.calls)
    app = await build_app(bot.settings)
    try:
        await app.outbox.enqueue([Outgoing(1001, "harness.test", "Нагадування від розкладу")])
    finally:
        await app.close()
    notice = await server.wait_for_call(
        "sendMessage", lambda c: c.params.get("text") == "Нагадування від розкладу", after=mark
    )
    assert not person._is_reply(notice)
    # A real answer still is one.
    menu = await person.say("/start")
    assert "Довіра" in str(menu.get("text"))


async def test_an_edit_that_repeats_a_notice_is_still_the_reply(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    """A closed case's view repeats the closure notice word for word; the edit that shows it is still the
    answer to the press (the outbox only ever sends)."""
    person = Person(server, 1001)
    server.add_user(1001)
    menu = await person.say("/start")
    choose = "Оберіть мову / Choose a language:"  # what the language button edits the menu into
    mark = len(server.calls)
    app = await build_app(bot.settings)
    try:
        await app.outbox.enqueue([Outgoing(1001, "harness.test", choose)])
    finally:
        await app.close()
    await server.wait_for_call("sendMessage", lambda c: c.params.get("text") == choose, after=mark)
    edited = await person.press("English", menu)
    assert edited["message_id"] == menu["message_id"] and edited.get("text") == choose
