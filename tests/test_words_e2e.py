"""A person's words never vanish (issue 13): every message reaches a human or gets an answer that
helps, through the real bot against the fake Bot API server."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import CaseMessage
from tests.conftest import ACCEPTED, Person, RunningBot, bot_says, start_bot
from tests.test_cases_e2e import CITIZEN, COORD, enrol, file_request
from tests.test_citizen_e2e import text_of

# As a frightened person types them: any case, three languages, a phone's apostrophe.
DANGER = ["допоможіть мене б'ють", "SOS", "Рятуйте", "мене бʼють", "ПОМОГИТЕ", "help me", "Help!", "🆘"]
NUMBERS = ("102", "112")
DANGER_SCREEN = "перейдіть туди, де є люди"  # the danger screen's advice, beyond the numbers every answer has


async def stored_messages(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(CaseMessage)) or 0)
    finally:
        await engine.dispose()


async def accepted_request(server: FakeTelegramServer, settings: Settings) -> tuple[Person, Person, str]:
    """A filed request its coordinator accepted; the person has heard so."""
    await enrol(settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    code = await file_request(citizen)
    await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)
    return citizen, coord, code


async def test_danger_words_at_the_menu_open_the_danger_screen(bot: RunningBot, person: Person) -> None:
    await person.say("/start")
    for words in DANGER:
        reply = await person.say(words)
        assert all(n in text_of(reply) for n in (*NUMBERS, "1547")) and DANGER_SCREEN in text_of(reply), words
        assert any("Гарячі лінії" in label for label in person.labels(reply)), words
    for command in ("/SOS", "/Sos", "/sos"):
        reply = await person.say(command)
        assert all(n in text_of(reply) for n in NUMBERS) and DANGER_SCREEN in text_of(reply), command


async def test_anything_else_gets_the_numbers_in_one_line_and_the_menu(
    bot: RunningBot, person: Person
) -> None:
    for words in ("😭", "що тут робити", "/nonsense"):
        reply = await person.say(words)
        line = next(line for line in text_of(reply).splitlines() if "102" in line)
        assert all(n in line for n in ("102", "112", "1547")), words
        assert any("Попросити допомоги" in label for label in person.labels(reply)), words
    reply = await person.send("sticker")
    assert "102" in text_of(reply) and any("Мій запит" in label for label in person.labels(reply))


async def test_danger_words_in_a_dialog_show_the_numbers_and_the_dialog_goes_on(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen, _coord, code = await accepted_request(server, bot.settings)
    # A button step of the help request: the numbers, then the same question again.
    question = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    for words in DANGER:
        mark = server.last_message_id(CITIZEN)
        reply = await citizen.say(words)
        assert all(n in text_of(reply) for n in NUMBERS) and DANGER_SCREEN in text_of(reply), words
        again = await bot_says(server, CITIZEN, "Що сталося", after=mark)
        assert citizen.labels(again) == citizen.labels(question), words
    # Writing to the coordinator asks for free text: the words are the message, and the numbers show too.
    await citizen.press("Скасувати", again)
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    for words in DANGER:
        mark = server.last_message_id(COORD)
        reply = await citizen.say(words)
        assert all(n in text_of(reply) for n in NUMBERS), words
        assert "Надіслано" in text_of(await bot_says(server, CITIZEN, "Надіслано", after=reply["message_id"]))
        assert words in text_of(await bot_says(server, COORD, words, after=mark))


async def test_a_swipe_reply_to_the_coordinator_reaches_them(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    _citizen, coord, code = await accepted_request(server, bot.settings)
    card = coord._newest_with("Написати")
    await coord.press("Написати", card)
    await coord.say("Добрий день. Коли зручно поговорити?")
    relayed = await bot_says(server, CITIZEN, "Коли зручно поговорити")
    mark = server.last_message_id(COORD)
    server.send_text(
        CITIZEN, "Зараз не можу говорити, напишу ввечері", reply_to_message_id=relayed["message_id"]
    )
    got = await bot_says(server, COORD, "напишу ввечері", after=mark)
    assert code in text_of(got)
    assert "Надіслано" in text_of(await bot_says(server, CITIZEN, "Надіслано"))


async def test_text_at_the_menu_goes_to_the_coordinator_with_one_tap(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen, _coord, code = await accepted_request(server, bot.settings)
    await citizen.say("/start")
    offer = await citizen.say("Мене перевели в інше місце, адресу напишу пізніше")
    assert "102" in text_of(offer)
    mark = server.last_message_id(COORD)
    sent = await citizen.press("Надіслати координатору", offer)
    assert "Надіслано" in text_of(sent)
    got = await bot_says(server, COORD, "адресу напишу пізніше", after=mark)
    assert code in text_of(got)
    assert await stored_messages(bot.settings) == 1
    # The same button again sends nothing twice.
    await citizen.press_data(citizen.button_data("Надіслати координатору", offer), offer["message_id"])
    await server.wait_idle(quiet=0.3)
    assert [m for m in server.bot_messages(COORD) if "адресу напишу пізніше" in text_of(m)] == [got]


async def test_before_anyone_accepts_the_person_adds_to_the_request(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    code = await file_request(citizen)
    notice = await server.wait_for_bot_message(COORD)
    listing = await citizen.press("Мій запит", await citizen.say("/start"))
    view = await citizen.press(code, listing)
    assert "додати" in text_of(view).lower()
    prompt = await citizen.press("Додати до запиту", view)
    assert "візьме" in text_of(prompt)
    saved = await citizen.say("Ще важливо: у мене забрали телефон, пишу з чужого")
    assert "побачить" in text_of(saved)
    server.send_photo(CITIZEN, caption="Ось де мене тримають")
    await bot_says(server, CITIZEN, "побачить", after=saved["message_id"])
    mark = server.last_message_id(COORD)
    card = await coord.press("Прийняти", notice)
    assert "забрали телефон" in text_of(card)
    photo = await server.wait_until(  # the photo itself, not the card's 📷
        lambda: next(
            (m for m in server.bot_messages(COORD) if m["message_id"] > mark and m.get("photo")), None
        )
    )
    assert "Ось де мене тримають" in text_of(photo) and code in text_of(photo)


async def test_voice_is_refused_with_the_reason_and_a_photo_is_relayed(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen, _coord, code = await accepted_request(server, bot.settings)
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    refused = await citizen.send("voice")
    assert "голос може вас видати" in text_of(refused)
    mark = server.last_message_id(COORD)
    server.send_photo(CITIZEN, caption="Ось цей документ")
    assert "Надіслано" in text_of(await bot_says(server, CITIZEN, "Надіслано"))
    photo = await bot_says(server, COORD, "Ось цей документ", after=mark)
    assert photo.get("photo") and code in text_of(photo)


async def test_an_html_error_page_on_the_relay_is_retried_and_delivered_once(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen, _coord, code = await accepted_request(server, bot.settings)
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    mark = server.last_message_id(COORD)
    server.fail_next("sendMessage", status=502, html=True)  # a proxy's page, not Telegram's JSON
    told = await citizen.say("Мене перевезли на склад у Дергачах")
    assert "доставити не вдалося" in text_of(told)
    assert "Надіслано" not in text_of(told)
    got = await bot_says(server, COORD, "на склад у Дергачах", after=mark)  # the outbox tried again
    assert code in text_of(got)
    await server.wait_idle(quiet=0.5)
    assert [m for m in server.bot_messages(COORD) if "на склад у Дергачах" in text_of(m)] == [got]
    assert await stored_messages(bot.settings) == 1


async def test_length_is_counted_as_telegram_counts_it(bot: RunningBot, server: FakeTelegramServer) -> None:
    citizen, _coord, code = await accepted_request(server, bot.settings)
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    mark = server.last_message_id(COORD)
    told = await citizen.say("&" * 1008)  # 5,040 characters once escaped, 1,008 to Telegram
    assert "Надіслано" in text_of(told)
    got = await bot_says(server, COORD, "&" * 1008, after=mark)
    assert got["text"].count("&") == 1008
    refused = await citizen.say("а" * 2001)
    assert "2001" in text_of(refused) and "2000" in text_of(refused)
    assert await stored_messages(bot.settings) == 1  # the long one was not stored


async def test_ending_the_conversation_asks_says_the_truth_and_can_be_undone(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen, coord, code = await accepted_request(server, bot.settings)
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    assert "Написати координатору" in str(citizen.labels(view))
    ask = await citizen.press("Завершити розмову", view)
    assert "відновити" in text_of(ask).lower()
    kept = await citizen.press("Ні, продовжити розмову", ask)
    assert "Завершити розмову" in str(citizen.labels(kept))  # nothing changed
    ended = await citizen.press("Так, завершити", await citizen.press("Завершити розмову", kept))
    assert "Відновити розмову" in str(citizen.labels(ended))
    await bot_says(server, COORD, "завершила розмову")
    status = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    assert "не може писати вам" in text_of(status) and "напише" not in text_of(status)
    resumed = await citizen.press("Відновити розмову", status)
    assert "відновлено" in text_of(resumed) and "Написати координатору" in str(citizen.labels(resumed))
    await bot_says(server, COORD, "відновила розмову")
    card = await coord.press("Написати", coord._newest_with("Написати"))
    await coord.say("Дякую, що повернулися")
    await bot_says(server, CITIZEN, "Дякую, що повернулися")
    assert card


async def test_notices_come_in_the_language_the_person_chose_after_a_restart(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    await enrol(settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    code = await file_request(citizen)
    step = await citizen.press("English", await citizen.say("/start"))
    await citizen.press("English", step)
    await bot.shutdown()
    restarted = await start_bot(server, settings)
    try:
        await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
        notice = await bot_says(server, CITIZEN, "now handling your request")
        assert code in text_of(notice)
    finally:
        await restarted.shutdown()


async def test_help_lists_every_main_action(bot: RunningBot, person: Person) -> None:
    text = text_of(await person.say("/HELP"))
    for action in (
        "Небезпека",
        "Попросити допомоги",
        "Мій запит",
        "Гарячі лінії",
        "Куди звернутися",
        "Поради з безпеки",
        "Перевірити пропозицію",
        "Приватність",
        "/forget",
        "/sos",
    ):
        assert action in text, action


async def test_danger_words_as_the_description_are_kept_and_the_numbers_shown(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen = Person(server, CITIZEN)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    for label in ("Інше", "Харківська", "Ізюмський", "Ні, не терміново", "Лише через цей бот"):
        step = await citizen.press(label, step)
    review = await citizen.press("Поки нікому", step)
    for words in DANGER:
        await citizen.press("Опис", review)
        mark = server.last_message_id(CITIZEN)
        reply = await citizen.say(words)
        assert all(n in text_of(reply) for n in NUMBERS) and DANGER_SCREEN in text_of(reply), words
        review = await bot_says(server, CITIZEN, "Перевірте", after=mark)  # the dialog goes on
        assert words in text_of(review), words  # kept as the description
    sent = await citizen.press("Надіслати", review)
    assert "Код запиту" in text_of(sent)


async def test_several_messages_at_the_menu_each_go_with_their_own_tap(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen, _coord, _code = await accepted_request(server, bot.settings)
    await citizen.say("/start")
    first = await citizen.say("Перше: мене перевезли")
    second = await citizen.say("Друге: адреса вулиця Сумська")
    mark = server.last_message_id(COORD)
    await citizen.press("Надіслати координатору", first)
    await bot_says(server, COORD, "Перше: мене перевезли", after=mark)
    await citizen.press("Надіслати координатору", second)
    await bot_says(server, COORD, "Друге: адреса", after=mark)
    assert [m for m in server.bot_messages(COORD) if "Друге" in text_of(m) and "Перше" in text_of(m)] == []


async def test_danger_words_at_the_menu_can_still_reach_the_coordinator(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen, _coord, _code = await accepted_request(server, bot.settings)
    await citizen.say("/start")
    mark = server.last_message_id(CITIZEN)
    screen = await citizen.say("допоможіть, мене знову б'ють")
    assert DANGER_SCREEN in text_of(screen)
    offer = await bot_says(server, CITIZEN, "Додати це повідомлення", after=mark)
    before = server.last_message_id(COORD)
    await citizen.press("Надіслати координатору", offer)
    await bot_says(server, COORD, "мене знову б'ють", after=before)


async def test_a_voice_at_the_menu_from_someone_with_a_request_says_why_it_is_not_passed_on(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen, _coord, _code = await accepted_request(server, bot.settings)
    await citizen.say("/start")
    reply = await citizen.send("voice")
    assert "голос може вас видати" in text_of(reply) and "102" in text_of(reply)
