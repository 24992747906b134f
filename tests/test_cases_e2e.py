"""The case workflow end to end: a citizen's anonymous request reaches the right coordinator, is
referred to an organisation, messages are relayed without identities, and the case closes."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.services.staff import Role
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import AuditEntry, Case, CaseEvent, Organisation, User, UserRole
from tests.conftest import ACCEPTED, ADMIN_ID, Person, RunningBot, bot_says
from tests.test_citizen_e2e import text_of

CITIZEN, COORD, OTHER_COORD, SPECIALIST, POLICE = 1001, 2001, 2002, 3001, 4001
DESCRIPTION = "Мене змусили працювати на складі без оплати, паспорт забрали"
CITIZEN_SAYS = "Дякую, я можу говорити ввечері"
STAFF_SAYS = "Добрий день, ми вам допоможемо. Коли зручно поговорити?"


async def enrol(settings: Settings, server: FakeTelegramServer) -> dict[str, int]:
    """Staff as invites would leave them: two district coordinators, a specialist, a police liaison.
    Each has opened the bot (Telegram lets a bot write only to people who have)."""
    for telegram_id in (COORD, OTHER_COORD, SPECIALIST, POLICE, 2003):
        server.add_user(telegram_id)
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        centre = Organisation(
            name="Обласний центр соціальних служб", kind="social_services", oblast="kharkiv", district=None
        )
        police = Organisation(
            name="ГУНП в Харківській області", kind="police", oblast="kharkiv", district=None
        )
        session.add_all([centre, police])
        await session.flush()
        for telegram_id, role, district, org in (
            (COORD, Role.COORDINATOR, "kharkiv-bohodukhiv", None),
            (OTHER_COORD, Role.COORDINATOR, "kharkiv-izium", None),
            (SPECIALIST, Role.SPECIALIST, None, centre.id),
            (POLICE, Role.POLICE, None, police.id),
        ):
            user = User(telegram_id=telegram_id, roles=[])
            session.add(user)
            await session.flush()
            session.add(
                UserRole(
                    user_id=user.id, role=role.value, oblast="kharkiv", district=district, organisation_id=org
                )
            )
        ids = {"centre": centre.id, "police": police.id}
    await engine.dispose()
    return ids


async def file_request(citizen: Person, *, contact_phone: str | None = None) -> str:
    """The request as a person goes through it: the essentials, then needs and a description added on
    the review screen; returns the case code shown."""
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    step = await citizen.press("Примусова праця", step)
    step = await citizen.press("Харківська", step)
    step = await citizen.press("Богодухівський", step)
    step = await citizen.press("Ні, не терміново", step)
    if contact_phone:
        step = await citizen.press("Зателефонуйте мені", step)
        step = await citizen.say(contact_phone)
    else:
        step = await citizen.press("Лише через цей бот", step)
    step = await citizen.press("Лише організаціям", step)
    step = await citizen.press("Яка допомога", step)  # the optional additions, from the review
    step = await citizen.press("Правова", step)
    step = await citizen.press("Психологічна", step)
    assert "✅ ⚖️ Правова допомога" in citizen.labels(step)
    step = await citizen.press("Готово", step)
    step = await citizen.press("Опис", step)
    step = await citizen.say(DESCRIPTION)
    assert DESCRIPTION in text_of(step)  # shown back to check before sending
    sent = await citizen.press("Надіслати", step)
    match = re.search(r"Код запиту: ([A-Z0-9]{4}-[A-Z0-9]{4})", text_of(sent))
    assert match, text_of(sent)
    return match.group(1)


def staff_messages(server: FakeTelegramServer, chat_id: int) -> list[dict[str, Any]]:
    return server.bot_messages(chat_id)


async def test_request_to_closed_case_end_to_end(
    bot: RunningBot, server: FakeTelegramServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what an operator runs with
    await enrol(bot.settings, server)
    citizen, coord, specialist = Person(server, CITIZEN), Person(server, COORD), Person(server, SPECIALIST)

    code = await file_request(citizen)

    # The coordinator of that district is notified with the minimum data; the other district's is not.
    notice = await server.wait_for_bot_message(COORD)
    assert code in text_of(notice) and DESCRIPTION not in text_of(notice)
    await server.wait_idle(quiet=0.2)
    assert staff_messages(server, OTHER_COORD) == []

    card = await coord.press("Прийняти", notice)
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    assert DESCRIPTION in text_of(card) and card.get("has_protected_content") is not False
    assert str(CITIZEN) not in text_of(card)

    choose = await coord.press("Направити", card)
    await coord.press("Обласний центр соціальних служб", choose)
    referral_notice = await server.wait_for_bot_message(SPECIALIST)
    assert code in text_of(referral_notice)

    listing = await specialist.press("Направлення", referral_notice)
    opened = await specialist.press(code, listing)
    assert DESCRIPTION not in text_of(opened)  # minimum data until the organisation accepts
    accepted = await specialist.press("Прийняти", opened)
    assert DESCRIPTION in text_of(accepted)
    told = await server.wait_until(
        lambda: next((m for m in staff_messages(server, COORD) if "прийняла направлення" in text_of(m)), None)
    )
    assert code in text_of(told)

    # Relay: coordinator -> citizen, no identity, protected from forwarding.
    card = await coord.press("Відкрити", told)
    prompt = await coord.press("Написати людині", card)
    mark = len(server.calls)
    await coord.say(STAFF_SAYS)
    to_citizen = await server.wait_for_call(
        "sendMessage", lambda c: c.params.get("chat_id") in (CITIZEN, str(CITIZEN)), after=mark
    )
    assert STAFF_SAYS in to_citizen.params["text"] and to_citizen.params.get("protect_content") is True
    assert str(COORD) not in to_citizen.params["text"]
    await coord.press("Завершити", prompt)

    # Relay: citizen -> coordinator.
    mine = await citizen.press("Мій запит", await citizen.say("/start"))
    view = await citizen.press(code, mine)
    assert "працюють" in text_of(view)  # in progress, in plain words
    await citizen.press("Написати координатору", view)
    mark = len(server.calls)
    await citizen.say(CITIZEN_SAYS)
    to_coord = await server.wait_for_call(
        "sendMessage", lambda c: c.params.get("chat_id") in (COORD, str(COORD)), after=mark
    )
    assert CITIZEN_SAYS in to_coord.params["text"] and to_coord.params.get("protect_content") is True
    assert str(CITIZEN) not in to_coord.params["text"] and "Test" not in to_coord.params["text"]

    # Close with an outcome; the citizen sees it.
    card = await coord.press("Відкрити", server.get_message(COORD, to_coord.result["message_id"]))
    outcomes = await coord.press("Закрити справу", card)
    mark = len(server.calls)
    await coord.press("Допомогу надано", outcomes)
    closed = await server.wait_for_call(
        "sendMessage", lambda c: c.params.get("chat_id") in (CITIZEN, str(CITIZEN)), after=mark
    )
    assert "Допомогу надано" in closed.params["text"]
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    assert "закрито" in text_of(view).lower()

    # Nothing the person wrote, and no one's Telegram id, reaches the log.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged  # the bot did log
    for secret in (DESCRIPTION, CITIZEN_SAYS, STAFF_SAYS, str(CITIZEN), str(COORD)):
        assert secret not in logged


async def test_no_plaintext_of_case_content_in_the_database_file(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    if not settings.database_url.startswith("sqlite"):
        return  # the file check is about the embedded default; PostgreSQL stores the same ciphertext
    await enrol(bot.settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    await file_request(citizen, contact_phone="067 123 45 67")
    card = await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    assert "+380671234567" in text_of(card)
    await coord.press("Написати людині", card)
    await coord.say(STAFF_SAYS)
    mine = await citizen.press("Мій запит", await citizen.say("/start"))
    await citizen.press("Написати координатору", await citizen.press("-", mine))
    await citizen.say(CITIZEN_SAYS)
    await server.wait_idle(quiet=0.3)

    db_file = Path(settings.database_url.split("///", 1)[1])
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
    for secret in (DESCRIPTION, CITIZEN_SAYS, STAFF_SAYS, "0671234567", "671234567", "067 123 45 67"):
        assert secret.encode() not in raw, f"plaintext {secret!r} found in the database files"
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        case = await session.scalar(select(Case))
        assert case is not None and case.description_enc and DESCRIPTION.encode() not in case.description_enc
    await engine.dispose()


async def test_forged_staff_callbacks_show_no_case_data(bot: RunningBot, server: FakeTelegramServer) -> None:
    await enrol(bot.settings, server)
    citizen, intruder, other = Person(server, CITIZEN), Person(server, 1002), Person(server, OTHER_COORD)
    await file_request(citizen)
    notice = await server.wait_for_bot_message(COORD)
    accept = Person(server, COORD).button_data("Прийняти", notice)
    case_id = int(accept.split(":")[2])

    menu = await intruder.say("/start")
    for data in (
        f"cs:open:{case_id}::0",
        f"cs:accept:{case_id}::0",
        "cs:list:0::0",
        "rf:open:1::0",
        "rf:accept:1::0",
        f"cs:refer_to:{case_id}:1:0",
        "m:staff",
    ):
        mark = len(server.calls)
        answer = await intruder.press_data(data, menu["message_id"])
        assert answer.params.get("text") == "Ця дія вам недоступна.", data
        await server.wait_idle(quiet=0.1)
        for call in server.calls[mark:]:
            assert DESCRIPTION not in str(call.params) and "Примусова" not in str(call.params), data

    # A coordinator of another district: refused too, even with the right case id, and shown the way back.
    other_menu = await other.say("/start")
    mark = len(server.calls)
    answer = await other.press_data(f"cs:open:{case_id}::0", other_menu["message_id"])
    assert answer.params.get("text") == "Ця дія вам недоступна."
    back = await server.wait_for_call(
        "sendMessage", lambda c: c.params.get("chat_id") in (OTHER_COORD, str(OTHER_COORD)), after=mark
    )
    assert back.params["text"] == "Цю дію виконати не можна. Ось меню:"
    assert any("Робочий кабінет" in label for label in other.labels(back.result))
    answer = await other.press_data(f"cs:accept:{case_id}::0", other_menu["message_id"])
    assert answer.params.get("text") == "Ця дія вам недоступна."
    await server.wait_idle(quiet=0.2)
    assert all(DESCRIPTION not in text_of(m) for m in server.bot_messages(OTHER_COORD))

    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        denied = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("denied.%"))
        )
        owner = await session.scalar(select(Case.owner_id))
    await engine.dispose()
    assert denied is not None and denied >= 9
    assert owner is None  # nobody took the case through a forged button


async def test_two_coordinators_accept_at_the_same_instant(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    # A second coordinator for the same district.
    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        user = User(telegram_id=2003, roles=[])
        session.add(user)
        await session.flush()
        session.add(UserRole(user_id=user.id, role="coordinator", oblast="kharkiv", district=None))
    await file_request(Person(server, CITIZEN))
    first = await server.wait_for_bot_message(COORD)
    second = await server.wait_for_bot_message(2003)
    mark = len(server.calls)
    server.press_button(COORD, first["message_id"], Person(server, COORD).button_data("Прийняти", first))
    server.press_button(2003, second["message_id"], Person(server, 2003).button_data("Прийняти", second))
    answers = [await server.wait_for_call("answerCallbackQuery", after=mark)]
    answers.append(
        await server.wait_for_call("answerCallbackQuery", after=server.calls.index(answers[0]) + 1)
    )
    await server.wait_idle(quiet=0.3)
    taken = [a for a in answers if a.params.get("text") == "Цю справу вже прийняв інший координатор."]
    assert len(taken) == 1
    async with create_sessionmaker(engine)() as session:
        owners = (await session.scalars(select(Case.owner_id))).all()
    await engine.dispose()
    assert len(owners) == 1 and owners[0] is not None
    await asyncio.sleep(0)


async def test_commands_while_writing_are_commands_and_forget_unlinks_requests(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    code = await file_request(citizen)
    await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    mark = len(server.calls)
    confirm = await citizen.say("/forget")  # typed while writing: the command, not a message to relay
    assert "відкриті запити" in text_of(confirm)
    assert not [c for c in server.calls[mark:] if str(c.params.get("chat_id")) == str(COORD)]
    await citizen.press("Залишити відкритими", confirm)
    mine = await citizen.press("Мій запит", await citizen.say("/start"))
    assert "запитів немає" in text_of(mine)  # the request no longer leads back to this chat
    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        case = await session.scalar(select(Case))
    await engine.dispose()
    assert case is not None and case.citizen_chat_enc is None and case.citizen_key is None
    assert case.description_enc is not None  # what was asked stays with the coordinator, anonymous


async def test_a_double_tap_on_send_files_one_request(bot: RunningBot, server: FakeTelegramServer) -> None:
    citizen = Person(server, CITIZEN)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    for label in ("Інше", "Харківська", "Ізюмський", "Ні, не терміново", "Лише через цей бот", "Поки нікому"):
        step = await citizen.press(label, step)
    send = citizen.button_data("Надіслати", step)
    server.press_button(CITIZEN, step["message_id"], send)
    server.press_button(CITIZEN, step["message_id"], send)
    await server.wait_idle(quiet=0.5)
    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        count = await session.scalar(select(func.count()).select_from(Case))
    await engine.dispose()
    assert count == 1


async def test_a_removed_coordinators_cases_go_to_the_area_to_take_over(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    """The admin removes the coordinator who owns a case: the case goes back to "new" and the area's
    coordinators are asked to take it over (the other district's are not); the person's message
    written in between reaches whoever takes it; from then on their messages go to the new owner."""
    await enrol(bot.settings, server)
    regional_id = 2005
    server.add_user(regional_id)
    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        user = User(telegram_id=regional_id, roles=[])
        session.add(user)
        await session.flush()
        session.add(UserRole(user_id=user.id, role=Role.COORDINATOR.value, oblast="kharkiv"))
    await engine.dispose()
    citizen, coord, regional = Person(server, CITIZEN), Person(server, COORD), Person(server, regional_id)
    admin = Person(server, ADMIN_ID)

    code = await file_request(citizen)
    await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)

    staff_list = await admin.press("Працівники", await admin.say("/admin"))
    await admin.press("Так, прибрати", await admin.press(str(COORD), staff_list))
    await citizen.say(CITIZEN_SAYS)  # written after the removal: kept for whoever takes over

    def take_over_notices(chat_id: int) -> list[dict[str, Any]]:
        return [m for m in staff_messages(server, chat_id) if "без координатора" in text_of(m)]

    notice = await server.wait_until(lambda: next(iter(take_over_notices(regional_id)), None))
    assert code in text_of(notice) and DESCRIPTION not in text_of(notice)  # the minimum data
    assert not take_over_notices(OTHER_COORD)  # the other district's coordinator is not asked
    heard = server.last_message_id(CITIZEN)
    card = await regional.press("Прийняти", notice)
    await bot_says(server, CITIZEN, ACCEPTED, after=heard)  # the person hears it first
    assert DESCRIPTION in text_of(card) and CITIZEN_SAYS in text_of(card)
    assert "координатора знято" in text_of(card)  # the case's history says what happened

    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    mark = len(server.calls)
    await citizen.say("Чи можна зателефонувати завтра?")
    relayed = await server.wait_for_call(
        "sendMessage", lambda c: c.params.get("chat_id") in (regional_id, str(regional_id)), after=mark
    )
    assert "зателефонувати завтра" in relayed.params["text"]


async def test_the_victim_status_buttons_record_the_procedure_on_the_card(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    await file_request(citizen)
    card = await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    assert "Статус постраждалої особи:" not in text_of(card)

    steps = await coord.press("Статус постраждалої особи", card)
    assert "процедурою встановлення статусу" in text_of(steps)
    card = await coord.press("Заяву подано", steps)
    assert "Збережено." in text_of(card)
    assert "Статус постраждалої особи: Заяву подано, рішення очікується" in text_of(card)

    card = await coord.press("Статус встановлено", await coord.press("Статус постраждалої особи", card))
    assert "Статус постраждалої особи: Статус встановлено" in text_of(card)

    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        case = await session.scalar(select(Case))
        assert case is not None
        actions = list(await session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case.id)))
    await engine.dispose()
    assert case.victim_status_decision == "granted"
    # The application keeps its own date; the decision is dated when it was pressed, not before.
    assert case.victim_status_applied_on is not None and case.victim_status_decided_on is not None
    assert case.victim_status_decided_on >= case.victim_status_applied_on
    assert actions.count("case.victim_status") == 2


async def test_the_card_gives_times_in_kyiv_time(bot: RunningBot, server: FakeTelegramServer) -> None:
    # Stored in UTC, read by a coordinator in Kyiv: the timeline and the messages say Kyiv's hour.
    await enrol(bot.settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    await file_request(citizen)
    card = await coord.press("Прийняти", await server.wait_for_bot_message(COORD))

    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        accepted = await session.scalar(select(CaseEvent.at).where(CaseEvent.kind == "accepted"))
    await engine.dispose()
    assert accepted is not None
    utc = accepted.replace(tzinfo=accepted.tzinfo or UTC)
    kyiv = utc.astimezone(ZoneInfo("Europe/Kyiv"))
    assert f"{kyiv:%d.%m %H:%M} прийнято координатором" in text_of(card)
    assert f"{utc:%d.%m %H:%M} прийнято" not in text_of(card)  # Kyiv is never at UTC's hour
