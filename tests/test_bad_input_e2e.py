"""Bad input gets a short answer in the user's language and the menu; nothing crashes or is half-stored."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from tests.conftest import Person, RunningBot, start_bot
from tests.test_citizen_e2e import count_users, text_of

MENU_FIRST_BUTTON = {"uk": "🆘 Мені загрожує небезпека зараз", "en": "🆘 I am in danger now"}


def assert_menu(person: Person, reply: dict[str, object], language: str = "uk") -> None:
    assert person.labels(reply)[0] == MENU_FIRST_BUTTON[language], person.labels(reply)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("привіт", "кнопки"),
        ("/nosuchcommand", "Такої команди немає"),
        ("x" * 5000, "кнопки"),
        ("<b>не тег</b> & <script>", "кнопки"),
        ("\u200f\u200bمرحبا", "кнопки"),
    ],
)
async def test_text_where_a_button_was_expected(
    bot: RunningBot, person: Person, text: str, expected: str
) -> None:
    reply = await person.say(text)
    assert expected in text_of(reply)
    assert_menu(person, reply)


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice"])
async def test_media_gets_a_short_answer_and_the_menu(bot: RunningBot, person: Person, kind: str) -> None:
    reply = await person.send(kind)
    assert "кнопки" in text_of(reply)
    assert_menu(person, reply)


async def test_bad_input_is_answered_in_the_users_language(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    visitor = Person(server, 1003, language_code="en")
    reply = await visitor.say("hello?")
    assert "buttons" in text_of(reply)
    assert_menu(visitor, reply, "en")


@pytest.mark.parametrize(
    "data",
    [
        "m:nowhere",  # a menu screen that does not exist
        "w:atlantis",  # an oblast that does not exist
        "w:kharkiv:zhytomyr-berdychiv",  # a district of another oblast
        "w:kharkiv:kharkiv-bohodukhiv::zz",  # a need that does not exist
        "w:kharkiv:kharkiv-bohodukhiv:7",  # a community index out of range
        "sc:9:0:1",  # a self-check question that does not exist
        "sc:2:255:1",  # answers that could not have been given yet
        "adv:bitcoin",
        "lang:fr",
        "pv:format_disk",
        "totally-unknown",
        "m",
    ],
)
async def test_forged_callback_data_gets_a_polite_refusal_and_the_menu(
    bot: RunningBot, server: FakeTelegramServer, person: Person, data: str
) -> None:
    menu = await person.say("/start")
    mark = len(server.calls)
    answer = await person.press_data(data, menu["message_id"])
    assert answer.params.get("text") == "Ця кнопка вже не діє."
    reply = await server.wait_for_bot_message(person.id, after_id=menu["message_id"])
    assert "застаріла" in text_of(reply)
    assert_menu(person, reply)
    assert not [c for c in server.calls[mark:] if not c.ok]  # nothing Telegram would refuse


async def test_button_pressed_on_a_deleted_message(
    bot: RunningBot, server: FakeTelegramServer, person: Person
) -> None:
    menu = await person.say("/start")
    data = person.button_data("Гарячі лінії", menu)
    server.press_button(person.id, 99_999, data)  # a message the client still shows but Telegram has not
    reply = await server.wait_for_bot_message(person.id, after_id=menu["message_id"])
    assert "1547" in text_of(reply)


async def test_an_old_button_works_after_a_restart(server: FakeTelegramServer, settings: Settings) -> None:
    first = await start_bot(server, settings)
    person = Person(server, 1004)
    step = await person.press("Куди звернутися", await person.say("/start"))
    step = await person.press("Житомирська", step)
    await first.shutdown()

    second = await start_bot(server, settings)
    try:
        reply = await person.press("Бердичівський", step)
        assert "Бердичівський" in text_of(reply)
        assert await count_users(settings, person.id) == 0  # reading leaves no row, restart or not
    finally:
        await second.shutdown()


async def test_a_429_from_telegram_is_waited_out_and_the_answer_arrives(
    bot: RunningBot, server: FakeTelegramServer, person: Person
) -> None:
    server.fail_next("sendMessage", status=429, retry_after=1)
    reply = await person.say("/start")
    assert "Довіра" in text_of(reply)
    attempts = [
        c for c in server.calls_to("sendMessage") if c.params.get("chat_id") in (person.id, str(person.id))
    ]
    assert [c.status for c in attempts[:2]] == [429, 200]


async def test_groups_are_ignored(bot: RunningBot, server: FakeTelegramServer, settings: Settings) -> None:
    mark = len(server.calls)
    server.send_group_text(-100123, 1005, "/start")
    await server.wait_idle(quiet=0.3)
    assert not [c for c in server.calls[mark:] if c.method == "sendMessage"]
    assert await count_users(settings, 1005) == 0


async def test_a_superscript_digit_in_forged_data_is_a_stale_button(
    bot: RunningBot, server: FakeTelegramServer, person: Person
) -> None:
    menu = await person.say("/start")
    for data in ("w:kharkiv:kharkiv-bohodukhiv:²", "rq:com:²", "cs:open:99999999999999999999::0"):
        answer = await person.press_data(data, menu["message_id"])
        assert answer.params.get("text") == "Ця кнопка вже не діє.", data
