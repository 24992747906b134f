"""An organisation's answer to a referral, end to end: the notice names the organisation (and why it
declined), and its reply button opens a conversation between the case's owner and that organisation
through the outbox. The person never receives any of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.telegram_emulator.server import Call, FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import AuditEntry, Case, OutboxMessage, User, UserRole
from tests.conftest import Person, RunningBot
from tests.test_cases_e2e import CITIZEN, COORD, OTHER_COORD, POLICE, SPECIALIST, enrol, file_request
from tests.test_citizen_e2e import text_of

CENTRE = "Обласний центр соціальних служб"
POLICE_HQ = "ГУНП в Харківській області"
COORD_ASKS = "Чи можете порадити, куди ще звернутися в Ізюмі?"
ORG_ANSWERS = "Так, спробуйте районний центр у Балаклії, ми попередили їх"
DENIED = "Ця дія вам недоступна."

pytestmark = pytest.mark.usefixtures("quick_chat_pacing")  # several outbox messages reach one chat


def to(chat_id: int) -> Any:
    return lambda call: str(call.params.get("chat_id")) == str(chat_id)


def sent_to(server: FakeTelegramServer, chat_id: int, after: int) -> list[Call]:
    return [c for c in server.calls[after:] if to(chat_id)(c)]


async def answered(server: FakeTelegramServer, chat_id: int, words: str, after: int) -> Call:
    """The outbox's message to `chat_id` carrying `words` (as Telegram shows it, unescaped)."""
    return await server.wait_for_call(
        "sendMessage", lambda c: to(chat_id)(c) and c.ok and words in c.result.get("text", ""), after=after
    )


async def refer(server: FakeTelegramServer, coord: Person, organisation: str) -> None:
    card = await coord.press("✅", await server.wait_for_bot_message(COORD))  # accept the new case
    await coord.press(organisation, await coord.press("📨", card))


async def declined_notice(server: FakeTelegramServer, code: str) -> dict[str, Any]:
    """The specialist declines the centre's referral as outside its area; the owner's notice."""
    specialist = Person(server, SPECIALIST)
    listing = await specialist.press("Направлення", await server.wait_for_bot_message(SPECIALIST))
    reasons = await specialist.press("Відхилити", await specialist.press(code, listing))
    await specialist.press("Поза нашою територією", reasons)
    return await server.wait_until(
        lambda: next((m for m in server.bot_messages(COORD) if "відхилила" in text_of(m)), None)
    )


async def test_the_decline_notice_names_the_organisation_and_its_reply_goes_to_the_organisation(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    citizen, coord, specialist = Person(server, CITIZEN), Person(server, COORD), Person(server, SPECIALIST)
    code = await file_request(citizen)
    await refer(server, coord, CENTRE)
    from_referral = len(server.calls)

    notice = await declined_notice(server, code)
    assert text_of(notice) == (
        f"✖️ Організація «{CENTRE}» відхилила направлення у справі {code}. "
        "Причина: справа поза територією, де вона працює."
    )
    assert "Відповісти" not in " ".join(coord.labels(notice))  # the old button wrote to the person

    prompt = await coord.press("Написати організації", notice)
    assert CENTRE in text_of(prompt) and code in text_of(prompt)
    mark = len(server.calls)
    ack = await coord.say(COORD_ASKS)
    # The outbox sends it shortly: the coordinator is told it is being passed on, not that it arrived.
    assert "Передаємо організації" in text_of(ack) and "Надіслано" not in text_of(ack)
    to_org = await answered(server, SPECIALIST, COORD_ASKS, mark)
    assert to_org.result["text"].startswith(f"✉️ Повідомлення від координатора у справі {code}")
    assert to_org.params.get("protect_content") is True and str(COORD) not in to_org.params["text"]
    await coord.say("Дякую!")  # a second message is a message of its own, not a repeat the outbox drops
    await answered(server, SPECIALIST, "Дякую!", mark)

    # The organisation answers back, to the case's owner.
    await specialist.press(
        "Відповісти координатору", server.get_message(SPECIALIST, to_org.result["message_id"])
    )
    ack = await specialist.say(ORG_ANSWERS)
    assert "Передаємо координатору" in text_of(ack)
    to_coord = await answered(server, COORD, ORG_ANSWERS, mark)
    assert to_coord.result["text"].startswith(f"✉️ Організація «{CENTRE}» пише щодо справи {code}")
    back = server.get_message(COORD, to_coord.result["message_id"])
    assert coord.button_data("Написати організації", back).startswith("rm:org:")

    # Nothing of it reaches the person, nor the police (another organisation).
    await server.wait_idle(quiet=0.3)
    assert sent_to(server, CITIZEN, from_referral) == []
    assert sent_to(server, POLICE, from_referral) == []

    # The audit log records each message, not what it said; the outbox holds the text only encrypted.
    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        case_id = await session.scalar(select(Case.id))
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        outbox_texts = list(await session.scalars(select(OutboxMessage.text)))
    await engine.dispose()
    messages = [e for e in entries if e.action == "referral.message"]
    assert [(e.case_id, (e.detail or "").split(" to=")[1]) for e in messages] == [
        (case_id, "organisation"),
        (case_id, "organisation"),
        (case_id, "coordinator"),
    ]
    for said in (COORD_ASKS, ORG_ANSWERS):
        assert all(said not in (e.detail or "") for e in entries)
        assert all(said not in text for text in outbox_texts)


async def test_only_the_owner_and_the_organisations_staff_may_write(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    """Ownership is checked on every message: handed over meanwhile, the former owner is refused
    and the organisation's answer goes to the new owner. Anyone outside the referral is refused."""
    await enrol(bot.settings, server)
    citizen, coord, specialist = Person(server, CITIZEN), Person(server, COORD), Person(server, SPECIALIST)
    code = await file_request(citizen)
    await refer(server, coord, CENTRE)
    notice = await declined_notice(server, code)
    referral_id = int(coord.button_data("Написати організації", notice).split(":")[2])

    await coord.press("Написати організації", notice)
    mark = len(server.calls)
    await coord.say(COORD_ASKS)
    to_org = await answered(server, SPECIALIST, COORD_ASKS, mark)

    # The case is handed to an oblast-wide coordinator (as a reassignment leaves it).
    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        new_owner = User(telegram_id=2003, roles=[])
        session.add(new_owner)
        await session.flush()
        session.add(UserRole(user_id=new_owner.id, role="coordinator", oblast="kharkiv", district=None))
        await session.execute(update(Case).values(owner_id=new_owner.id))

    mark = len(server.calls)
    refused = await coord.say("Ще одне питання")  # still in the writing mode the old notice opened
    assert "не можна" in text_of(refused)

    # The organisation's answer goes to whoever owns the case now.
    await specialist.press(
        "Відповісти координатору", server.get_message(SPECIALIST, to_org.result["message_id"])
    )
    await specialist.say(ORG_ANSWERS)
    await answered(server, 2003, ORG_ANSWERS, mark)

    # Outside the referral: the police liaison (another organisation), a coordinator of another district.
    police_menu = await Person(server, POLICE).say("/start")
    answer = await Person(server, POLICE).press_data(f"rm:coord:{referral_id}", police_menu["message_id"])
    assert answer.params.get("text") == DENIED
    other_menu = await Person(server, OTHER_COORD).say("/start")
    answer = await Person(server, OTHER_COORD).press_data(f"rm:org:{referral_id}", other_menu["message_id"])
    assert answer.params.get("text") == DENIED
    # The former owner, pressing the notice's button again.
    answer = await coord.press_data(f"rm:org:{referral_id}", notice["message_id"])
    assert answer.params.get("text") == DENIED

    await server.wait_idle(quiet=0.3)
    assert all("Ще одне питання" not in c.params.get("text", "") for c in server.calls[mark:])
    assert all(ORG_ANSWERS not in c.params.get("text", "") for c in sent_to(server, COORD, mark))
    assert sent_to(server, CITIZEN, mark) == []
    async with create_sessionmaker(engine)() as session:
        denied = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.action == "denied.referral.message")
            )
        )
    await engine.dispose()
    assert len(denied) == 4


async def test_only_text_within_the_limit_is_passed_on(bot: RunningBot, server: FakeTelegramServer) -> None:
    await enrol(bot.settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    code = await file_request(citizen)
    await refer(server, coord, CENTRE)
    await coord.press("Написати організації", await declined_notice(server, code))
    mark = len(server.calls)

    assert "лише текст" in text_of(await coord.send("photo"))
    assert "до 2000 символів" in text_of(await coord.say("а" * 2001))
    # Counted as the organisation will see it: 2,000 "&" are 10,000 characters escaped, and arrive whole.
    assert "Передаємо організації" in text_of(await coord.say("&" * 2000))
    whole = await answered(server, SPECIALIST, "&" * 2000, mark)
    assert not whole.result["text"].endswith("…")
    await server.wait_idle(quiet=0.3)
    assert [c for c in sent_to(server, SPECIALIST, mark) if c.method.lower() != "sendmessage"] == []
    assert len(sent_to(server, SPECIALIST, mark)) == 1
    assert sent_to(server, CITIZEN, mark) == []


async def test_a_referral_to_the_police_is_answered_in_the_owners_language_and_reaches_the_liaison(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    ids = await enrol(bot.settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    code = await file_request(citizen)
    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        # The person consented to the police too; the coordinator chose English.
        await session.execute(update(Case).values(consent_police_at=datetime.now(UTC)))
        await session.execute(update(User).where(User.telegram_id == COORD).values(language="en"))
        # A specialist of the police organisation, who gets a referral to the police as well.
        colleague = User(telegram_id=4002, roles=[])
        session.add(colleague)
        await session.flush()
        session.add(
            UserRole(user_id=colleague.id, role="specialist", oblast="kharkiv", organisation_id=ids["police"])
        )
    await engine.dispose()
    server.add_user(4002)
    await refer(server, coord, POLICE_HQ)

    police = Person(server, POLICE)
    listing = await police.press("Направлення", await server.wait_for_bot_message(POLICE))
    await police.press("Прийняти", await police.press(code, listing))
    notice = await server.wait_until(
        lambda: next((m for m in server.bot_messages(COORD) if "accepted the referral" in text_of(m)), None)
    )
    assert text_of(notice) == f"✅ “{POLICE_HQ}” accepted the referral on case {code}."

    await coord.press("Write to the organisation", notice)
    mark = len(server.calls)
    assert "Passing it on to the organisation" in text_of(await coord.say(COORD_ASKS))
    # Each recipient reads it in their own language; the organisation's specialist of another is left out.
    liaison = await answered(server, POLICE, COORD_ASKS, mark)
    assert liaison.result["text"].startswith("✉️ Повідомлення від координатора")
    await answered(server, 4002, COORD_ASKS, mark)
    await server.wait_idle(quiet=0.3)
    assert sent_to(server, SPECIALIST, mark) == []
    assert sent_to(server, CITIZEN, mark) == []
