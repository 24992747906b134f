"""Need to know, end to end (issue 12): a case's content reaches its owner only; the other coordinators
of the area (district or oblast-wide) see the minimum data; an oblast-wide coordinator hands a case
over or opens it by break-glass with a reason the owner is told; a referral goes only to an
organisation that serves the case's area, whatever the callback data says."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.services.staff import Role
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import AuditEntry, Case, CaseEvent, Organisation, Referral, User, UserRole
from tests.conftest import ACCEPTED, Person, RunningBot, bot_says
from tests.test_cases_e2e import CITIZEN, CITIZEN_SAYS, COORD, DESCRIPTION, enrol, file_request
from tests.test_citizen_e2e import text_of

SAME_DISTRICT, REGIONAL, IZIUM_SPECIALIST = 2006, 2007, 3002
PHONE_TYPED, PHONE = "067 123 45 67", "+380671234567"
REASON = "Людина не відповідає третю добу, а координатор у відпустці; треба передати дані поліції"
MINIMUM = "Лише основні дані"

pytestmark = pytest.mark.usefixtures("quick_chat_pacing")


async def add_coordinators(settings: Settings, server: FakeTelegramServer) -> dict[str, int]:
    """Beside enrol()'s staff: a second coordinator of the Bohodukhiv district, an oblast-wide one,
    and a specialist of an organisation that works only in the Izium district. Returns ids."""
    engine = create_engine(settings.database_url)
    ids: dict[str, int] = {}
    async with create_sessionmaker(engine)() as session, session.begin():
        izium = Organisation(
            name="Центр соціальних служб Ізюмської громади",
            kind="social_services",
            oblast="kharkiv",
            district="kharkiv-izium",
        )
        session.add(izium)
        await session.flush()
        ids["izium_org"] = izium.id
        for telegram_id, role, district, org in (
            (SAME_DISTRICT, Role.COORDINATOR, "kharkiv-bohodukhiv", None),
            (REGIONAL, Role.COORDINATOR, None, None),
            (IZIUM_SPECIALIST, Role.SPECIALIST, "kharkiv-izium", izium.id),
        ):
            server.add_user(telegram_id)
            user = User(telegram_id=telegram_id, roles=[])
            session.add(user)
            await session.flush()
            session.add(
                UserRole(
                    user_id=user.id, role=role.value, oblast="kharkiv", district=district, organisation_id=org
                )
            )
            ids[str(telegram_id)] = user.id
        ids[str(COORD)] = int(await session.scalar(select(User.id).where(User.telegram_id == COORD)) or 0)
    await engine.dispose()
    return ids


async def audit_rows(settings: Settings) -> list[tuple[str, int | None, str | None]]:
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        rows = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.detail).order_by(AuditEntry.id)
            )
        ).all()
    await engine.dispose()
    return [(a, actor, detail) for a, actor, detail in rows]


async def the_case(settings: Settings) -> Case:
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        case = await session.scalar(select(Case))
    await engine.dispose()
    assert case is not None
    return case


def no_content(message: dict[str, Any]) -> bool:
    shown = text_of(message)
    return all(secret not in shown for secret in (DESCRIPTION, PHONE, "0671234567", CITIZEN_SAYS))


async def wait_for_text(server: FakeTelegramServer, chat_id: int, needle: str) -> dict[str, Any]:
    return await server.wait_until(
        lambda: next((m for m in server.bot_messages(chat_id) if needle in text_of(m)), None),
        what=f"{needle!r} for {chat_id}",
    )


async def owned_case_with_a_message(
    bot: RunningBot, server: FakeTelegramServer
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A request with a phone number, filed and accepted by COORD; the person wrote to them.
    Returns the code and the new-case notices of the second district coordinator and the regional one."""
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    code = await file_request(citizen, contact_phone=PHONE_TYPED)
    same_notice = await server.wait_for_bot_message(SAME_DISTRICT)
    regional_notice = await server.wait_for_bot_message(REGIONAL)
    card = await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    assert DESCRIPTION in text_of(card) and PHONE in text_of(card)  # the owner reads it
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    await citizen.say(CITIZEN_SAYS)
    await wait_for_text(server, COORD, CITIZEN_SAYS)
    return code, same_notice, regional_notice


async def test_other_coordinators_see_the_minimum_data_of_new_and_owned_cases(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    ids = await add_coordinators(bot.settings, server)
    citizen, same, regional = Person(server, CITIZEN), Person(server, SAME_DISTRICT), Person(server, REGIONAL)

    code = await file_request(citizen, contact_phone=PHONE_TYPED)
    # A new case, before anyone accepted: the minimum data and the button to accept.
    for person in (same, regional):
        card = await person.press("Відкрити", await server.wait_for_bot_message(person.id))
        assert code in text_of(card) and MINIMUM in text_of(card) and "Примусова праця" in text_of(card)
        assert no_content(card), text_of(card)
        assert any("Прийняти" in label for label in person.labels(card))
    assert not any("Екстрений доступ" in label for label in same.labels(same._newest_with("Прийняти")))

    # Owned by COORD, with a message from the person: still the minimum data for the others.
    coord = Person(server, COORD)
    await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    await citizen.say(CITIZEN_SAYS)
    await wait_for_text(server, COORD, CITIZEN_SAYS)
    for person in (same, regional):
        card = await person.press("Відкрити", await server.wait_for_bot_message(person.id))
        assert code in text_of(card) and MINIMUM in text_of(card) and no_content(card), text_of(card)
        assert not any("Прийняти" in label or "Написати" in label for label in person.labels(card))
    labels = regional.labels(card)
    assert any("Передати" in label for label in labels) and any("Екстрений" in label for label in labels)
    await server.wait_idle(quiet=0.2)
    for chat in (SAME_DISTRICT, REGIONAL):
        assert all(no_content(m) for m in server.bot_messages(chat))

    audit = await audit_rows(bot.settings)
    for telegram_id in (SAME_DISTRICT, REGIONAL):
        actions = [a for a, actor, _d in audit if actor == ids[str(telegram_id)]]
        assert actions == ["case.view", "case.view"]  # a minimum-data view is not a content read
    assert ("case.read", ids[str(COORD)], None) in audit


async def test_break_glass_shows_the_content_once_audits_the_reason_and_tells_the_owner(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    ids = await add_coordinators(bot.settings, server)
    code, same_notice, regional_notice = await owned_case_with_a_message(bot, server)
    regional, same = Person(server, REGIONAL), Person(server, SAME_DISTRICT)
    case = await the_case(bot.settings)

    # A district coordinator has no break-glass, even with forged callback data.
    answer = await same.press_data(f"cs:bg:{case.id}::0", same_notice["message_id"])
    assert answer.params.get("text") == "Ця дія вам недоступна."

    card = await regional.press("Відкрити", regional_notice)
    prompt = await regional.press("Екстрений доступ", card)
    assert "причин" in text_of(prompt).lower() and no_content(prompt)
    too_long = await regional.say("x" * 201)
    assert "задовга" in text_of(too_long) and no_content(too_long)
    opened = await regional.say(REASON)
    assert DESCRIPTION in text_of(opened) and PHONE in text_of(opened) and CITIZEN_SAYS in text_of(opened)
    assert opened.get("has_protected_content") is not False
    assert "Екстрений доступ" in text_of(opened)

    told = await wait_for_text(server, COORD, "екстрений доступ")
    assert REASON in text_of(told) and code in text_of(told) and str(REGIONAL) in text_of(told)
    assert "обласний координатор" in text_of(told)

    # Shown once: opening the card again is the minimum data again.
    again = await regional.press("Відкрити", regional_notice)
    assert no_content(again)

    audit = await audit_rows(bot.settings)
    assert ("case.break_glass", ids[str(REGIONAL)], REASON) in audit
    assert ("denied.case.break_glass", ids[str(SAME_DISTRICT)], None) in audit
    assert not [a for a, actor, _d in audit if actor == ids[str(SAME_DISTRICT)] and a == "case.break_glass"]
    assert not [a for a, actor, _d in audit if actor == ids[str(REGIONAL)] and a == "case.read"]


async def test_an_oblast_wide_coordinator_reassigns_a_case_and_both_owners_are_told(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    ids = await add_coordinators(bot.settings, server)
    code, same_notice, regional_notice = await owned_case_with_a_message(bot, server)
    regional, same, coord = Person(server, REGIONAL), Person(server, SAME_DISTRICT), Person(server, COORD)

    # A district coordinator may not hand a case over, not even to themselves by forged data.
    case = await the_case(bot.settings)
    for data in (f"cs:reassign:{case.id}::0", f"cs:reassign_to:{case.id}:{ids[str(SAME_DISTRICT)]}:0"):
        answer = await same.press_data(data, same_notice["message_id"])
        assert answer.params.get("text") == "Ця дія вам недоступна.", data
    assert (await the_case(bot.settings)).owner_id == ids[str(COORD)]

    card = await regional.press("Відкрити", regional_notice)
    choose = await regional.press("Передати іншому координатору", card)
    labels = regional.labels(choose)
    assert any(str(SAME_DISTRICT) in label for label in labels)
    assert not any(str(COORD) in label or str(REGIONAL) in label for label in labels)  # owner, self
    assert not any("2002" in label for label in labels)  # the Izium district's coordinator
    done = await regional.press(str(SAME_DISTRICT), choose)
    assert "Справу передано" in text_of(done) and no_content(done)

    case = await the_case(bot.settings)
    assert case.owner_id == ids[str(SAME_DISTRICT)] and case.status == "accepted"

    yours = await wait_for_text(server, SAME_DISTRICT, "Вам передано справу")
    assert code in text_of(yours) and no_content(yours)
    card = await same.press("Відкрити", yours)
    assert DESCRIPTION in text_of(card) and CITIZEN_SAYS in text_of(card)  # theirs now
    assert any("Написати людині" in label for label in same.labels(card))
    away = await wait_for_text(server, COORD, "передано іншому координатору")
    assert code in text_of(away) and str(SAME_DISTRICT) in text_of(away)
    card = await coord.press("Відкрити", await wait_for_text(server, COORD, "Повідомлення у справі"))
    assert no_content(card)  # the previous owner: the minimum data from now on

    audit = await audit_rows(bot.settings)
    detail = f"from={ids[str(COORD)]} to={ids[str(SAME_DISTRICT)]}"
    assert ("case.reassign", ids[str(REGIONAL)], detail) in audit
    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        kinds = list(await session.scalars(select(CaseEvent.kind).order_by(CaseEvent.id)))
    await engine.dispose()
    assert kinds[-1] == "reassigned"


async def test_a_forged_referral_to_another_areas_organisation_is_refused_and_audited(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    ids = await add_coordinators(bot.settings, server)
    coord = Person(server, COORD)
    await file_request(Person(server, CITIZEN))
    card = await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    choose = await coord.press("Направити", card)
    assert not any("Ізюмської" in label for label in coord.labels(choose))  # not offered...
    case = await the_case(bot.settings)
    # ...and refused by the service when forged into the callback data.
    answer = await coord.press_data(f"cs:refer_to:{case.id}:{ids['izium_org']}:0", choose["message_id"])
    assert answer.params.get("text") == "Ця дія вам недоступна."
    # Another coordinator of the district is not offered organisations for a case they do not own.
    same_notice = await server.wait_for_bot_message(SAME_DISTRICT)
    answer = await Person(server, SAME_DISTRICT).press_data(
        f"cs:refer:{case.id}::0", same_notice["message_id"]
    )
    assert answer.params.get("text") == "Цю дію може виконати лише координатор, який прийняв справу."
    await server.wait_idle(quiet=0.3)
    assert server.bot_messages(IZIUM_SPECIALIST) == []
    assert not any("Обласний центр" in str(m) for m in server.bot_messages(SAME_DISTRICT))

    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        referrals = await session.scalar(select(func.count()).select_from(Referral))
        status = await session.scalar(select(Case.status))
    await engine.dispose()
    assert referrals == 0 and status == "accepted"
    denials = [row for row in await audit_rows(bot.settings) if row[0].startswith("denied.")]
    assert denials == [("denied.refer.outside_area", ids[str(COORD)], f"org={ids['izium_org']}")]
