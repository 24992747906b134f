"""Bad input and faults around help requests: each gets a clear answer and a way on; nothing is lost."""

from __future__ import annotations

from bot.services.cases import CaseService, Situation, format_code
from bot.services.crypto import Cipher, load_or_create_key
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from tests.conftest import ACCEPTED, Person, RunningBot, bot_says, start_bot
from tests.test_case_rules import draft
from tests.test_cases_e2e import CITIZEN, COORD, enrol, file_request
from tests.test_citizen_e2e import text_of


async def _to_contact(citizen: Person) -> dict[str, object]:
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    step = await citizen.press("Зникла людина", step)
    step = await citizen.press("Житомирська", step)
    step = await citizen.press("Бердичівський", step)
    return await citizen.press("Ні, не терміново", step)


async def _to_description(citizen: Person) -> dict[str, object]:
    """The essentials answered, then "Опис" on the review: the description is asked for next."""
    step = await citizen.press("Лише через цей бот", await _to_contact(citizen))
    step = await citizen.press("Лише організаціям", step)
    return await citizen.press("Опис", step)


async def test_wrong_answers_in_the_dialog_are_explained_and_the_dialog_goes_on(
    bot: RunningBot, server: FakeTelegramServer, person: Person
) -> None:
    step = await person.press("Попросити допомоги", await person.say("/start"))
    reply = await person.say("мені потрібна допомога")  # text where a button is expected
    assert "оберіть відповідь кнопкою" in text_of(reply) and "Що сталося?" in text_of(reply)
    step = await _to_contact(person)
    step = await person.press("Зателефонуйте мені", step)
    for bad in ("12345", "+1 555 0100", "мій номер"):
        reply = await person.say(bad)
        # says what is accepted, and there is a way back besides Cancel
        assert "Не вдалося прочитати номер" in text_of(reply) and "+48 601 234 567" in text_of(reply)
        assert "⬅️ Назад" in person.labels(reply)
    step = await person.say("+38 (067) 123-45-67")
    assert "Кому можна передати" in text_of(step)  # on to consent: the number was taken
    step = await person.press("Лише організаціям", step)
    step = await person.press("Опис", step)
    assert "до 2000 символів" in text_of(step)
    refused = await person.say("я" * 10_000)
    assert "можна до 2000 символів, а в ньому 10000" in text_of(refused)
    photo = await person.send("photo")
    assert "потрібен текст" in text_of(photo)
    step = await person.say("Сестра не виходить на зв'язок третій день")
    assert "Сестра не виходить" in text_of(step) and "+380671234567" in text_of(step)


async def test_the_dialog_survives_a_restart_of_the_bot(
    server: FakeTelegramServer, settings: Settings
) -> None:
    first = await start_bot(server, settings)
    citizen = Person(server, 1001)
    step = await _to_contact(citizen)
    await first.shutdown()

    second = await start_bot(server, settings)
    try:
        step = await citizen.press("Лише через цей бот", step)
        step = await citizen.press("Лише організаціям", step)
        step = await citizen.press("Опис", step)
        step = await citizen.say("Опис після перезапуску")
        assert "Зникла людина" in text_of(step) and "Опис після перезапуску" in text_of(step)
        sent = await citizen.press("Надіслати", step)
        assert "Код запиту" in text_of(sent)
    finally:
        await second.shutdown()


async def test_a_stale_dialog_button_is_refused(
    bot: RunningBot, server: FakeTelegramServer, person: Person
) -> None:
    step = await person.press("Попросити допомоги", await person.say("/start"))
    old = dict(step)
    await person.press("Скасувати", step)
    answer = await person.press_data(person.button_data("Примусова праця", old), old["message_id"])
    assert answer.params.get("text") == "Ця кнопка вже не діє."


async def test_status_by_code_with_typos_finds_nothing_else(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    code = await file_request(Person(server, 1001))
    stranger = Person(server, 1005)
    step = await stranger.press("Мій запит", await stranger.say("/start"))
    assert "запитів немає" in text_of(step)
    await stranger.press("Ввести код", step)
    typo = code[:-1] + ("2" if code[-1] != "2" else "3")
    reply = await stranger.say(typo)
    assert "не знайдено" in text_of(reply) and code not in text_of(reply)
    # Lower case, no dash, a Cyrillic look-alike: still the same code.
    typed = code.lower().replace("-", " ").replace("a", "а").replace("e", "е")
    reply = await stranger.say(typed)
    assert format_code(code.replace("-", "")) in text_of(reply) and "координатора" in text_of(reply)
    # The code gives the status only: nothing the person wrote, no way to write to them.
    assert "склад" not in text_of(reply) and not any("Написати" in label for label in stranger.labels(reply))


async def test_guessing_codes_is_throttled(bot: RunningBot, server: FakeTelegramServer) -> None:
    guesser = Person(server, 1006)
    await guesser.press("Ввести код", await guesser.press("Мій запит", await guesser.say("/start")))
    for i in range(5):  # five wrong codes in a row are answered
        reply = await guesser.say(f"ZZZZ-ZZZ{i + 2}")
        assert "не знайдено" in text_of(reply)
    reply = await guesser.say("ZZZZ-ZZZZ")  # the sixth within the hour is not looked up
    assert "Забагато спроб" in text_of(reply)


async def test_withdrawing_a_request_tells_the_owner(bot: RunningBot, server: FakeTelegramServer) -> None:
    await enrol(bot.settings, server)
    citizen, coord = Person(server, 1001), Person(server, COORD)
    code = await file_request(citizen)
    await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    confirm = await citizen.press("Відкликати запит", view)
    done = await citizen.press("Так, відкликати", confirm)
    assert "відкликано" in text_of(done)
    told = await server.wait_until(
        lambda: next((m for m in server.bot_messages(COORD) if "відкликала" in text_of(m)), None)
    )
    assert code in text_of(told)
    listing = await coord.press("Справи", await coord.say("/staff"))
    card = await coord.press(code, await coord.press("Закриті", listing))
    assert "відкликано людиною" in text_of(card)  # the case's history says who withdrew it
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    assert "закрито" in text_of(view).lower() and "Відкликати запит" not in citizen.labels(view)


async def test_a_press_too_old_to_answer_still_shows_the_numbers(
    bot: RunningBot, server: FakeTelegramServer, person: Person
) -> None:
    menu = await person.say("/start")
    server.fail_next(
        "answerCallbackQuery",
        status=400,
        description="Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    reply = await person.press("🆘", menu)
    assert all(n in text_of(reply) for n in ("102", "112", "1547"))


async def test_long_case_lists_are_paged_within_telegram_limits(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    await enrol(bot.settings, server)
    engine = create_engine(settings.database_url)
    cases = CaseService(create_sessionmaker(engine), Cipher(load_or_create_key(None, settings.key_file)))
    for i in range(20):
        await cases.create(draft(situation=Situation.OTHER, description="x" * 1900), 5000 + i)
    await engine.dispose()
    coord = Person(server, COORD)
    workspace = await coord.say("/staff")
    listing = await coord.press("Справи", workspace)
    assert "Справи: 20" in text_of(listing)
    codes = [label for label in coord.labels(listing) if "·" in label]
    assert len(codes) == 8
    page2 = await coord.press("Наступні", listing)
    page3 = await coord.press("Наступні", page2)
    assert len([label for label in coord.labels(page3) if "·" in label]) == 4
    assert not any("Наступні" in label for label in coord.labels(page3))
    assert all(c.ok for c in server.calls if c.method in ("sendMessage", "editMessageText"))


async def test_a_request_from_an_area_without_coordinators_reaches_the_admins(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    server.add_user(900)  # ADMIN_IDS in the test settings; no coordinator is enrolled at all
    citizen = Person(server, 1001)
    step = await _to_contact(citizen)
    step = await citizen.press("Лише через цей бот", step)
    step = await citizen.press("Поки нікому", step)
    await citizen.press("Надіслати", step)
    notice = await server.wait_for_bot_message(900)
    assert "Новий запит" in text_of(notice) and "Бердичівський" in text_of(notice)
