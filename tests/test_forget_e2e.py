"""/forget with open requests, end to end: the person chooses to withdraw them (content erased at once,
referrals revoked, the organisation asked to delete what it got) or to keep them open (reachable only by
code); either way the final message says exactly what was erased and what remains."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.callbacks import CaseAction, Cases, Privacy
from bot.services.cases import CaseService
from bot.services.crypto import Cipher, load_or_create_key
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import AuditEntry, Case, CaseEvent, CaseMessage, OutboxMessage, Referral
from tests.conftest import ACCEPTED, Person, RunningBot, bot_says
from tests.test_admin_e2e import forge
from tests.test_case_rules import draft
from tests.test_cases_e2e import (
    CITIZEN,
    CITIZEN_SAYS,
    COORD,
    SPECIALIST,
    STAFF_SAYS,
    enrol,
    file_request,
)
from tests.test_citizen_e2e import count_users, text_of

PHONE = "067 123 45 67"

ORGS_ASKED = (
    "Організаціям, яким передавали ваш запит, надіслано прохання видалити все, що вони про нього отримали."
)
WITHDRAWN = (
    "Готово. Запити відкликано:\n"
    "• {code}\n"
    "\n"
    "Координатор більше ними не займатиметься. Усе, що ви в них написали, стерто: опис, номер телефону"
    " й листування з координатором.\n"
    "\n"
    f"{ORGS_ASKED}\n"
    "\n"
    "Залишилися лише анонімні дані для статистики, не пов'язані з вами: що сталося, яка допомога була"
    " потрібна, район, стать і вікова група (якщо ви їх вказали), дати й те, що запит відкликано.\n"
    "\n"
    "Також стерто ваш ідентифікатор у Telegram, вибрану мову й незавершені діалоги: бот вас більше не"
    " пам'ятає.\n"
    "\n"
    "Якщо хочете, очистьте й цей чат."
)
KEPT = (
    "Готово: ваш ідентифікатор у Telegram, вибрану мову й незавершені діалоги стерто, бот вас більше не"
    " пам'ятає.\n"
    "\n"
    "Ваші запити залишаються відкритими:\n"
    "• {code}\n"
    "\n"
    "Запишіть ці коди: тепер лише за ними можна дізнатися стан запиту («Мій запит» → «Ввести код»)."
    " Координатор більше не зможе писати вам тут, а ви — йому.\n"
    "\n"
    "Опис, номер телефону (якщо ви його залишили) і листування залишаються в координатора, поки запит"
    " відкритий, і стираються через 180 днів після його закриття.\n"
    "\n"
    "Якщо хочете, очистьте й цей чат."
)
NOTHING_OPEN = (
    "Готово: ваші дані стерто — ідентифікатор у Telegram, вибрану мову й незавершені діалоги. Бот вас"
    " більше не пам'ятає.\n"
    "\n"
    "Якщо хочете, очистьте й цей чат."
)
CLOSED_KEPT = (
    "Ваші закриті запити більше не пов'язані з вами. Те, що ви в них написали, і номер телефону"
    " стираються через 180 днів після закриття запиту; анонімні дані для статистики залишаються."
)


async def _case(settings: Settings) -> Case:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            case = await session.scalar(select(Case))
            assert case is not None
            return case
    finally:
        await engine.dispose()


async def _rows(settings: Settings, query: Any) -> list[Any]:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return list(await session.scalars(query))
    finally:
        await engine.dispose()


async def wait_for_text(server: FakeTelegramServer, chat_id: int, part: str) -> dict[str, Any]:
    """The first message the bot shows in this chat with `part` in it (waits for it)."""
    found: dict[str, Any] = await server.wait_until(
        lambda: next((m for m in server.bot_messages(chat_id) if part in text_of(m)), None),
        what=f"{part!r} in chat {chat_id}",
    )
    return found


async def _accepted_referred_and_talked(server: FakeTelegramServer, citizen: Person) -> str:
    """A request with a phone, accepted, referred to the centre (which accepted), and messages both ways."""
    coord, specialist = Person(server, COORD), Person(server, SPECIALIST)
    code = await file_request(citizen, contact_phone=PHONE)
    card = await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    await coord.press("Обласний центр соціальних служб", await coord.press("Направити", card))
    referral_notice = await server.wait_for_bot_message(SPECIALIST)
    opened = await specialist.press(code, await specialist.press("Направлення", referral_notice))
    await specialist.press("Прийняти", opened)
    await coord.press("Написати людині", card)
    await coord.say(STAFF_SAYS)
    await wait_for_text(server, CITIZEN, STAFF_SAYS)
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    assert "Надіслано" in text_of(await citizen.say(CITIZEN_SAYS))
    return code


async def test_forget_with_an_open_request_withdraws_it_and_erases_what_it_held(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    citizen = Person(server, CITIZEN)
    code = await _accepted_referred_and_talked(server, citizen)

    question = await citizen.say("/forget")
    assert code in text_of(question) and "відкриті запити" in text_of(question)
    assert {"🗑 Відкликати й стерти", "📂 Залишити відкритими", "Ні, нічого не стирати"} <= set(
        citizen.labels(question)
    )
    done = await citizen.press("Відкликати й стерти", question)
    assert text_of(done) == WITHDRAWN.format(code=code)

    case = await _case(bot.settings)
    assert (case.status, case.outcome) == ("closed", "declined")
    assert case.description_enc is None and case.phone_enc is None  # erased now, not in 180 days
    assert case.citizen_key is None and case.citizen_chat_enc is None and not case.relay_open
    assert (case.situation, case.district, case.needs) == (
        "labour",
        "kharkiv-bohodukhiv",
        "legal_aid,psychological",
    )
    assert await _rows(bot.settings, select(CaseMessage)) == []
    referrals = await _rows(bot.settings, select(Referral))
    assert [r.status for r in referrals] == ["revoked"]
    events = await _rows(bot.settings, select(CaseEvent.kind).order_by(CaseEvent.id))
    assert {"withdrawn", "referral_revoked", "content_erased"} <= set(events)
    audit = await _rows(bot.settings, select(AuditEntry.action))
    assert {"case.withdraw", "referral.revoked", "case.content_erase", "case.citizen_forgotten"} <= set(audit)
    assert await count_users(bot.settings, CITIZEN) == 0

    # The organisation's specialist is asked to delete what they received; the owner is told, as a
    # withdrawal tells them.
    deleted = await wait_for_text(server, SPECIALIST, "Направлення скасовано")
    assert code in text_of(deleted) and "Видаліть" in text_of(deleted)
    told = await wait_for_text(server, COORD, "відкликала запит")
    assert code in text_of(told)

    # The button pressed again: nothing is done twice and the screen with what was done stays.
    outbox_before = len(await _rows(bot.settings, select(OutboxMessage.id)))
    answer = await citizen.press_data(Privacy(action="forget_withdraw").pack(), done["message_id"])
    assert answer.params.get("text") == "Це вже зроблено."
    await server.wait_idle(quiet=0.2)
    assert text_of(server.get_message(CITIZEN, done["message_id"]) or {}) == WITHDRAWN.format(code=code)
    assert len(await _rows(bot.settings, select(OutboxMessage.id))) == outbox_before
    assert (await _rows(bot.settings, select(AuditEntry.action))).count("case.withdraw") == 1


async def test_forget_keeping_the_request_open_leaves_it_reachable_by_code_only(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    code = await file_request(citizen, contact_phone=PHONE)
    card = await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    assert "Написати людині" in " ".join(coord.labels(card))

    done = await citizen.press("Залишити відкритими", await citizen.say("/forget"))
    assert text_of(done) == KEPT.format(code=code)

    case = await _case(bot.settings)
    assert case.status == "accepted" and case.outcome is None
    assert case.description_enc is not None and case.phone_enc is not None  # what was asked stays
    assert case.citizen_key is None and case.citizen_chat_enc is None
    assert await count_users(bot.settings, CITIZEN) == 0

    # The coordinator still has the request, but no way to write to the person.
    card = await forge(coord, Cases(action=CaseAction.OPEN, id=case.id).pack(), card)
    assert "+380671234567" in text_of(card)
    assert not any("Написати людині" in label for label in coord.labels(card))

    # The code still shows the status; the chat no longer lists the request.
    mine = await citizen.press("Мій запит", await citizen.say("/start"))
    assert "запитів немає" in text_of(mine)
    await citizen.press("Ввести код", mine)
    status = await citizen.say(code)
    assert code in text_of(status) and "не знайдено" not in text_of(status)


async def test_forget_without_open_requests_confirms_and_says_exactly_what_went(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    await enrol(bot.settings, server)
    # Nothing ever asked: the plain confirmation and the plain final message.
    nobody = Person(server, 1007)
    await nobody.say("/start")
    confirm = await nobody.say("/forget")
    assert "Стерти ваші дані?" in text_of(confirm)
    assert text_of(await nobody.press("Так, стерти", confirm)) == NOTHING_OPEN

    # A withdrawn (closed) request: the same confirmation, and the message says what stays of it.
    citizen = Person(server, CITIZEN)
    code = await file_request(citizen)
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Так, відкликати", await citizen.press("Відкликати запит", view))
    confirm = await citizen.say("/forget")
    assert "Стерти ваші дані?" in text_of(confirm)

    # A confirmation from before a new request was filed does not erase it unasked: the choice comes first.
    cases = CaseService(
        create_sessionmaker(engine := create_engine(settings.database_url)),
        Cipher(load_or_create_key(None, settings.key_file)),
    )
    await cases.create(draft(), CITIZEN)
    await engine.dispose()
    question = await citizen.press("Так, стерти", confirm)
    assert "відкриті запити" in text_of(question)
    await citizen.press("Ні, нічого не стирати", question)
    linked = await _rows(
        bot.settings, select(func.count()).select_from(Case).where(Case.citizen_key.is_not(None))
    )
    assert linked == [2]

    done = await citizen.press("Відкликати й стерти", await citizen.say("/forget"))
    new_code = (await _rows(bot.settings, select(Case.code).order_by(Case.id)))[1]
    expected = WITHDRAWN.format(code=f"{new_code[:4]}-{new_code[4:]}").replace(
        f"\n\n{ORGS_ASKED}",
        "",
    )
    expected = expected.replace("\n\nТакож стерто", f"\n\n{CLOSED_KEPT}\n\nТакож стерто")
    assert text_of(done) == expected
