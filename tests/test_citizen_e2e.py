"""A citizen uses the bot end to end: the real bot process against the fake Bot API server."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.services.directory import load_directory
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import FsmState, User
from tests.conftest import Person, RunningBot, is_person, person_key


def text_of(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")


async def count_users(settings: Settings, telegram_id: int) -> int:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(
                await session.scalar(
                    select(func.count()).select_from(User).where(is_person(settings, telegram_id))
                )
                or 0
            )
    finally:
        await engine.dispose()


async def test_start_shows_the_menu_in_ukrainian_and_stores_nothing(bot: RunningBot, person: Person) -> None:
    reply = await person.say("/start")
    assert "Довіра" in text_of(reply)
    labels = person.labels(reply)
    assert labels[0].startswith("🆘") and "небезпека" in labels[0]
    assert await count_users(bot.settings, person.id) == 0  # reading leaves no row
    await choose_english(person)
    assert await count_users(bot.settings, person.id) == 1  # a choice to remember


async def choose_english(person: Person) -> None:
    step = await person.press("English", await person.say("/start"))
    step = await person.press("English", step)
    assert "Language changed" in text_of(step)


async def test_danger_path_shows_102_112_and_1547_at_once(bot: RunningBot, person: Person) -> None:
    menu = await person.say("/start")
    reply = await person.press("🆘", menu)
    text = text_of(reply)
    assert all(number in text for number in ("102", "112", "1547"))
    # Shown as a new message at the bottom of the chat, with no question first.
    assert reply["message_id"] > menu["message_id"]
    sos = await person.say("/sos")
    assert all(number in text_of(sos) for number in ("102", "112", "1547"))


async def test_hotlines_come_from_the_directory_with_sources(bot: RunningBot, person: Person) -> None:
    await person.say("/start")
    reply = await person.press("Гарячі лінії")
    text = text_of(reply)
    for number in ("1547", "527", "0 800 505 501", "116 123", "116 111", "0 800 213 103"):
        assert number in text
    assert "Номери перевірено" in text


async def test_where_to_get_help_by_district_and_need(bot: RunningBot, person: Person) -> None:
    directory = load_directory(bot.settings.data_dir)
    await person.say("/start")
    step = await person.press("Куди звернутися")
    assert "область" in text_of(step).lower()
    step = await person.press("Харківська", step)
    assert any("Богодухівський" in label for label in person.labels(step))
    step = await person.press("Богодухівський", step)
    assert "Богодухівський" in text_of(step)
    result = await person.press("Правова", step)
    text = text_of(result)
    expected = directory.find(
        oblast_id="kharkiv", district_id="kharkiv-bohodukhiv", need=directory_need("legal_aid")
    )
    assert expected, "the directory has legal aid for Bohodukhiv district"
    first_page = expected[:4]
    for entry in first_page:
        assert entry.name.uk in text
    assert "Перевірено 23.11.2026" in text  # each entry carries its checked-on date
    if len(expected) > 4:
        nxt = await person.press("Наступні", result)
        assert expected[4].name.uk in text_of(nxt)


def directory_need(value: str) -> Any:
    from bot.services.directory import Need

    return Need(value)


async def test_the_national_line_for_the_need_is_on_the_first_page(bot: RunningBot, person: Person) -> None:
    """Issue 17: in a Kharkiv district the free legal aid line was on page 2, and employment did not
    show 527 at all. The line made for the need now comes right after the regional entries."""
    await person.say("/start")
    step = await person.press("Куди звернутися")
    step = await person.press("Харківська", step)
    district = await person.press("Ізюмський", step)
    legal_aid = text_of(await person.press("Правова", district))
    assert "Система безоплатної правової допомоги" in legal_aid and "0 800 213 103" in legal_aid
    needs = await person.press("Інша допомога")
    employment = text_of(await person.press("Робота", needs))
    assert "з протидії торгівлі людьми та консультування мігрантів" in employment and "527" in employment
    children = text_of(await person.press("Захист дітей", await person.press("Інша допомога")))
    assert "116 111" in children


async def test_where_with_nothing_regional_still_points_to_1547(bot: RunningBot, person: Person) -> None:
    await person.say("/start")
    step = await person.press("Куди звернутися")
    step = await person.press("Харківська", step)
    step = await person.press("Уся область", step)
    result = await person.press("Медична", step)
    assert "1547" in text_of(result)


async def test_self_check_all_yes_is_high_risk_with_advice(bot: RunningBot, person: Person) -> None:
    await person.say("/start")
    step = await person.press("Перевірити пропозицію")
    assert "1 з 8" in text_of(step)
    for _ in range(8):
        step = await person.press("Так", step)
    text = text_of(step)
    assert "Високий ризик" in text and "1547" in text
    assert any("Куди звернутися" in label for label in person.labels(step))


async def test_self_check_all_no_is_low_risk(bot: RunningBot, person: Person) -> None:
    await person.say("/start")
    step = await person.press("Перевірити пропозицію")
    for _ in range(8):
        step = await person.press("Ні", step)
    assert "Явних ознак не видно" in text_of(step) and "ризик" not in text_of(step).split("\n")[0]


async def test_safety_advice_card(bot: RunningBot, person: Person) -> None:
    await person.say("/start")
    step = await person.press("Поради з безпеки")
    card = await person.press("Ваші документи", step)
    assert "паспорт" in text_of(card)


async def test_language_switch_changes_the_next_answers(bot: RunningBot, person: Person) -> None:
    await person.say("/start")
    step = await person.press("English")
    step = await person.press("English", step)
    assert "Language changed" in text_of(step)
    reply = await person.say("/start")
    assert "Welcome" in text_of(reply)
    assert person.labels(reply)[0] == "🆘 I am in danger now"
    step = await person.press("Українська", reply)
    step = await person.press("Українська", step)
    assert "Мову змінено" in text_of(step)


async def test_english_client_gets_english_first(bot: RunningBot, server: FakeTelegramServer) -> None:
    visitor = Person(server, 1002, language_code="en")
    reply = await visitor.say("/start")
    assert "Welcome" in text_of(reply)
    chooser = await visitor.press("Українська", reply)
    assert visitor.labels(chooser)[:2] == ["English", "Українська"]


async def test_command_list_is_registered_in_both_languages(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    calls = await server.wait_until(
        lambda: len(server.calls_to("setMyCommands")) >= 2 and server.calls_to("setMyCommands")
    )
    by_language = {c.params.get("language_code"): c.params["commands"] for c in calls}
    assert {None, "en"} <= set(by_language)
    commands = {c["command"] for c in by_language[None]}
    assert {"start", "help", "cancel", "language", "forget"} <= commands
    assert by_language["en"][0]["description"] == "Main menu"


async def test_forget_erases_the_users_rows(bot: RunningBot, person: Person) -> None:
    await choose_english(person)
    assert await count_users(bot.settings, person.id) == 1
    step = await person.press("Українська", await person.say("/start"))
    await person.press("Українська", step)
    confirm = await person.say("/forget")
    assert "Стерти" in text_of(confirm)
    done = await person.press("Так, стерти", confirm)
    assert "стерто" in text_of(done)
    assert await count_users(bot.settings, person.id) == 0
    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(FsmState)
            .where(FsmState.telegram_key == person_key(bot.settings, person.id))
        )
    await engine.dispose()
    assert left == 0


async def test_forget_can_be_declined(bot: RunningBot, person: Person) -> None:
    await choose_english(person)
    confirm = await person.say("/forget")
    await person.press("No, keep it", confirm)
    assert await count_users(bot.settings, person.id) == 1


async def test_clear_chat_deletes_the_bots_messages(
    bot: RunningBot, server: FakeTelegramServer, person: Person
) -> None:
    await person.say("/start")
    await person.say("/sos")
    await person.say("hello")
    step = await person.press("Приватність")
    bot_ids = {m["message_id"] for m in server.bot_messages(person.id)}
    assert len(bot_ids) >= 3
    mark = len(server.calls)
    server.press_button(person.id, step["message_id"], person.button_data("Очистити чат", step))
    answer = await server.wait_for_call("answerCallbackQuery", after=mark)
    asked = {i for c in server.calls[mark:] if c.method == "deleteMessages" for i in c.params["message_ids"]}
    asked |= {c.params["message_id"] for c in server.calls[mark:] if c.method == "deleteMessage"}
    assert bot_ids <= asked
    assert server.bot_messages(person.id) == []  # nothing of the conversation is left on screen
    assert server.chat_messages(person.id) == []
    assert answer.params.get("text") == "Чат очищено."


async def test_forget_works_in_the_middle_of_a_help_request(bot: RunningBot, person: Person) -> None:
    from tests.test_request_bad_input_e2e import _to_description

    await _to_description(person)
    confirm = await person.say("/forget")  # not taken as the description
    assert "Стерти" in text_of(confirm)
    done = await person.press("Так, стерти", confirm)
    assert "стерто" in text_of(done)
    assert await count_users(bot.settings, person.id) == 0
