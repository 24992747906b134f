"""The help request is short and forgiving: a request is filed in 8 taps, every step has Back with the
answers kept, the review changes any answer in one tap, a foreign phone number is accepted, and a person
in another oblast, abroad or who would rather not say is answered and reaches a coordinator."""

from __future__ import annotations

from typing import Any

from bot.services.staff import Role
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import User, UserRole
from tests.conftest import ADMIN_ID, Person, RunningBot
from tests.test_cases_e2e import COORD, enrol
from tests.test_citizen_e2e import text_of

BACK = "⬅️ Назад"
KHARKIV_REGIONAL, ZHYTOMYR_REGIONAL = 2101, 2102


class Counting(Person):
    """A person whose taps (button presses and messages sent) are counted."""

    taps = 0

    async def press(self, label: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
        self.taps += 1
        return await super().press(label, message)

    async def say(self, text: str) -> dict[str, Any]:
        self.taps += 1
        return await super().say(text)


def chosen(person: Person, message: dict[str, Any]) -> list[str]:
    """The answers marked as given on a step's keyboard."""
    return [label for label in person.labels(message) if label.startswith("✓ ")]


async def test_the_shortest_path_files_a_request_in_8_taps(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    server.add_user(ADMIN_ID)
    citizen = Counting(server, 1001)
    menu = await citizen.say("/start")
    citizen.taps = 0  # from the menu on
    step = await citizen.press("Попросити допомоги", menu)
    step = await citizen.press("Примусова праця", step)
    step = await citizen.press("Харківська", step)
    step = await citizen.press("Не знаю / уся область", step)
    step = await citizen.press("Ні, не терміново", step)
    step = await citizen.press("Лише через цей бот", step)
    step = await citizen.press("Лише організаціям", step)
    sent = await citizen.press("Надіслати", step)
    assert "Код запиту" in text_of(sent)
    assert citizen.taps <= 8, citizen.taps
    # a request for the whole oblast with no district reaches the oblast's coordinators: here, the admin
    assert "Новий запит" in text_of(await server.wait_for_bot_message(ADMIN_ID))


async def test_walking_back_to_the_first_step_and_forward_changes_only_the_answer_changed(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen = Person(server, 1001)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    step = await citizen.press("Примусова праця", step)
    step = await citizen.press("Харківська", step)
    step = await citizen.press("Богодухівський", step)
    step = await citizen.press("Ні, не терміново", step)
    step = await citizen.press("Зателефонуйте мені", step)
    step = await citizen.say("+48 601 234 567")
    review = await citizen.press("Лише організаціям", step)
    before = text_of(review)
    assert "+48601234567" in before and "Примусова праця" in before

    # Back from the review to the first question: every step shows the answer given, and has Back.
    marks = []
    step = review
    for _ in range(7):
        assert BACK in citizen.labels(step)
        step = await citizen.press(BACK, step)
        marks.append(chosen(citizen, step))
    assert "Що сталося?" in text_of(step)
    assert marks == [
        ["✓ Лише організаціям"],
        ["✓ Залишити +48601234567"],
        ["✓ 📞 Зателефонуйте мені"],
        ["✓ Ні, не терміново"],
        ["✓ Богодухівський район"],
        ["✓ Харківська область"],
        ["✓ Примусова праця"],
    ]

    # Forward again, changing only what happened: every other answer is taken as it was, in one tap.
    step = await citizen.press("Домашнє насильство", step)
    for _ in range(6):
        (mark,) = chosen(citizen, step)
        step = await citizen.press(mark, step)
    assert text_of(step) == before.replace("Примусова праця", "Домашнє насильство")
    sent = await citizen.press("Надіслати", step)
    assert "Код запиту" in text_of(sent)


async def test_the_review_changes_one_answer_in_one_tap_and_comes_back(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen = Person(server, 1001)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    for label in ("Зникла людина", "Харківська", "Ізюмський", "Ні, не терміново", "Лише через цей бот"):
        step = await citizen.press(label, step)
    review = await citizen.press("Поки нікому", step)
    before = text_of(review)

    step = await citizen.press("✏️ Терміновість", review)
    assert chosen(citizen, step) == ["✓ Ні, не терміново"]
    danger = await citizen.press("Так, терміново", step)  # one tap: the numbers first, then the review
    assert "102" in text_of(danger)
    review = await server.wait_until(
        lambda: next(
            (m for m in [server.get_message(1001, step["message_id"])] if m and "Перевірте" in text_of(m)),
            None,
        ),
        what="the review again",
    )
    assert text_of(review) == before.replace("Не терміново", "🆘 Терміново")

    # The same oblast keeps the district; another one asks for it again.
    step = await citizen.press("✏️ Де ви", review)
    step = await citizen.press("Харківська", step)
    assert chosen(citizen, step) == ["✓ Ізюмський район"]
    step = await citizen.press(BACK, step)
    step = await citizen.press("Житомирська", step)
    assert chosen(citizen, step) == []
    step = await citizen.press(BACK, step)  # to the oblast, then the review: the place as it was
    review = await citizen.press(BACK, step)
    assert "Ізюмський район, Харківська область" in text_of(review) and "Житомирська" not in text_of(review)
    step = await citizen.press("Житомирська", await citizen.press("✏️ Де ви", review))
    review = await citizen.press("Бердичівський", step)
    assert "Бердичівський район, Житомирська область" in text_of(review)
    assert "Ізюмський" not in text_of(review) and "🆘 Терміново" in text_of(review)

    # Back from a question opened on the review goes back to the review, nothing changed.
    step = await citizen.press("✏️ Згода", review)
    assert text_of(await citizen.press(BACK, step)) == text_of(review)

    # The optional additions: needs, sex and age are kept on the review.
    step = await citizen.press("➕ Стать", review)
    step = await citizen.press("Жінка", step)
    step = await citizen.press("➕ Вік", step)
    review = await citizen.press("18-29", step)
    assert "Стать: Жінка" in text_of(review) and "Вік: 18-29" in text_of(review)


async def test_a_wrong_number_is_not_a_trap(bot: RunningBot, server: FakeTelegramServer) -> None:
    await enrol(bot.settings, server)
    citizen, coord = Person(server, 1001), Person(server, COORD)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    for label in ("Примусова праця", "Харківська", "Богодухівський", "Ні, не терміново"):
        step = await citizen.press(label, step)
    step = await citizen.press("Зателефонуйте мені", step)
    refused = await citizen.say("601 234")
    assert "+48 601 234 567" in text_of(refused)  # says what is accepted
    step = await citizen.press(BACK, refused)  # out of the loop without losing anything
    assert "Як з вами зв'язатися?" in text_of(step)
    step = await citizen.press("Зателефонуйте мені", step)
    step = await citizen.say("+48 601 234 567")  # a Polish number
    review = await citizen.press("Лише організаціям", step)
    assert "Примусова праця" in text_of(review)
    await citizen.press("Надіслати", review)
    card = await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    assert "+48601234567" in text_of(card)  # stored in E.164


async def test_back_on_the_first_step_leaves_for_the_menu(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen = Person(server, 1001)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    left = await citizen.press(BACK, step)
    assert "нічого не збережено" in text_of(left) and "Попросити допомоги" in " ".join(citizen.labels(left))


async def _add_regional(settings: Settings, server: FakeTelegramServer) -> None:
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        for telegram_id, oblast in ((KHARKIV_REGIONAL, "kharkiv"), (ZHYTOMYR_REGIONAL, "zhytomyr")):
            server.add_user(telegram_id)
            user = User(telegram_id=telegram_id, roles=[])
            session.add(user)
            await session.flush()
            session.add(UserRole(user_id=user.id, role=Role.COORDINATOR.value, oblast=oblast, district=None))
    await engine.dispose()


async def test_a_request_from_abroad_reaches_every_oblast_and_one_coordinator_takes_it(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    await _add_regional(bot.settings, server)
    citizen = Person(server, 1001)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    step = await citizen.press("Примусова праця", step)
    step = await citizen.press("За кордоном", step)  # no district asked
    assert "Чи загрожує вам небезпека" in text_of(step)
    step = await citizen.press(BACK, step)  # back to where: the answer is marked
    assert chosen(citizen, step) == ["✓ 🌍 За кордоном"]
    for label in ("За кордоном", "Ні, не терміново", "Лише через цей бот", "Лише організаціям"):
        step = await citizen.press(label, step)
    assert "Де: за кордоном" in text_of(step)
    await citizen.press("Надіслати", step)

    notices = [await server.wait_for_bot_message(c) for c in (KHARKIV_REGIONAL, ZHYTOMYR_REGIONAL)]
    for notice in notices:
        assert "за кордоном" in text_of(notice) and "координатори всіх областей" in text_of(notice)
    await server.wait_idle(quiet=0.2)
    assert server.bot_messages(COORD) == []  # a district coordinator is not told
    zhytomyr = Person(server, ZHYTOMYR_REGIONAL)
    card = await zhytomyr.press("Прийняти", notices[1])
    assert "Примусова праця" in text_of(card) and "Написати людині" in " ".join(zhytomyr.labels(card))


async def test_a_request_from_no_oblast_reaches_the_admins_when_no_oblast_wide_coordinator_exists(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)  # district coordinators only
    server.add_user(ADMIN_ID)
    citizen = Person(server, 1001)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    for label in ("Інше", "Не хочу казати", "Ні, не терміново", "Лише через цей бот", "Поки нікому"):
        step = await citizen.press(label, step)
    await citizen.press("Надіслати", step)
    notice = await server.wait_for_bot_message(ADMIN_ID)
    assert "Де: не вказано" in text_of(notice) and citizen.labels(notice) == []


async def test_where_to_get_help_answers_a_person_abroad_with_lines_and_their_sources(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    person = Person(server, 1001)
    choose = await person.press("Куди звернутися", await person.say("/start"))
    abroad = await person.press("За кордоном", choose)
    text = text_of(abroad)
    assert "112" in text and "Посольство або консульство України" in text
    assert (
        "https://germany.mfa.gov.ua/ua/consular-affairs/emergency" in text and "перевірено 02.12.2026" in text
    )
    assert "1547" in text  # and the national lines
    again = await person.press(BACK.replace("⬅️", "↩️"), abroad)
    other = await person.press("Інша область", again)
    assert "1547" in text_of(other) and "Посольство" not in text_of(other)


async def test_backing_out_of_a_change_begun_on_the_review_keeps_the_answers_as_they_were(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    citizen = Person(server, 1001)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    for label in ("Зникла людина", "Харківська", "Ізюмський", "Ні, не терміново", "Лише через цей бот"):
        step = await citizen.press(label, step)
    review = await citizen.press("Поки нікому", step)
    before = text_of(review)
    step = await citizen.press("Зателефонуйте мені", await citizen.press("✏️ Зв'язок", review))
    review = await citizen.press(BACK, await citizen.press(BACK, step))  # the phone, then the contact
    assert text_of(review) == before  # still "through the bot", not "by phone" with no number
    step = await citizen.press("Житомирська", await citizen.press("✏️ Де ви", review))
    review = await citizen.press(BACK, await citizen.press(BACK, step))  # the district, then the oblast
    assert text_of(review) == before  # still Izium district, Kharkiv oblast
    sent = await citizen.press("Надіслати", review)
    assert "Код запиту" in text_of(sent)
