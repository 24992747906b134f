"""No stranded cases: a role replaced by an invite ends as an admin's removal ends one (its open cases go to
the area's coordinators), an invite may instead add its role, and a person writing to a case whose
coordinator no longer covers it is told the truth (saved for the next coordinator), never "Надіслано"."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.services.staff import Role
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.models import AuditEntry, Case, User, UserRole
from tests.conftest import ACCEPTED, ADMIN_ID, Person, RunningBot, bot_says
from tests.test_admin_e2e import database, token_in, user_id
from tests.test_cases_e2e import CITIZEN, CITIZEN_SAYS, COORD, DESCRIPTION, OTHER_COORD, enrol, file_request
from tests.test_citizen_e2e import text_of
from tests.test_forget_e2e import wait_for_text

REGIONAL = 2005
TAKE_OVER = "без координатора"


async def _add_regional(settings: Settings, server: FakeTelegramServer) -> None:
    """A coordinator for the whole oblast: the one asked to take over a Bohodukhiv case."""
    server.add_user(REGIONAL)
    async with database(settings) as sm, sm() as session, session.begin():
        user = User(telegram_id=REGIONAL, roles=[])
        session.add(user)
        await session.flush()
        session.add(UserRole(user_id=user.id, role=Role.COORDINATOR.value, oblast="kharkiv"))


async def _accepted_case(server: FakeTelegramServer) -> str:
    code = await file_request(Person(server, CITIZEN))
    await Person(server, COORD).press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    return code


async def _invite(admin: Person, role_label: str, place_label: str, keep_label: str) -> tuple[str, str]:
    """The admin's invite dialog to the end; returns the token and the text shown to the admin."""
    step = await admin.press("Створити запрошення", await admin.say("/admin"))
    step = await admin.press(role_label, step)
    step = await admin.press("Харківська", step)
    step = await admin.press(place_label, step)
    assert "Якщо людина вже має роль" in text_of(step)
    done = await admin.press(keep_label, step)
    return token_in(done), text_of(done)


async def _roles(settings: Settings, telegram_id: int) -> list[tuple[str, str | None]]:
    uid = await user_id(settings, telegram_id)
    async with database(settings) as sm, sm() as session:
        rows = await session.scalars(select(UserRole).where(UserRole.user_id == uid).order_by(UserRole.role))
        return [(r.role, r.district) for r in rows]


async def _the_case(settings: Settings) -> Case:
    async with database(settings) as sm, sm() as session:
        case = await session.scalar(select(Case))
        assert case is not None
        return case


async def test_a_coordinator_enrolled_for_another_district_passes_their_cases_on(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    await _add_regional(bot.settings, server)
    code = await _accepted_case(server)
    admin, coord = Person(server, ADMIN_ID), Person(server, COORD)

    token, created = await _invite(admin, "Координатор", "Ізюмський", "Замінити наявні ролі")
    assert "Наявні ролі людини буде замінено новою" in created  # the creator is told which

    welcome = await coord.say(f"/start inv_{token}")
    text = text_of(welcome)
    assert "Ізюмський район" in text
    assert "Ваша попередня роль завершилася: координатор — Богодухівський район" in text
    assert "передано координаторам їхньої території: 1." in text

    assert await _roles(bot.settings, COORD) == [("coordinator", "kharkiv-izium")]
    case = await _the_case(bot.settings)
    assert case.status == "new" and case.owner_id is None
    async with database(bot.settings) as sm, sm() as session:
        audit = list(await session.execute(select(AuditEntry.action, AuditEntry.detail)))
    assert any(a == "staff.remove" and "role=coordinator" in (d or "") for a, d in audit)
    assert any(a == "case.release" for a, _d in audit)

    # The area's coordinators are asked to take it over, with the minimum data; Izium's is not.
    notice = await wait_for_text(server, REGIONAL, TAKE_OVER)
    assert code in text_of(notice) and DESCRIPTION not in text_of(notice)
    await server.wait_idle(quiet=0.2)
    assert not [m for m in server.bot_messages(OTHER_COORD) if TAKE_OVER in text_of(m)]
    assert not [m for m in server.bot_messages(COORD) if TAKE_OVER in text_of(m)]


async def test_an_invite_keeps_or_replaces_the_roles_held_as_its_creator_chose(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    await _accepted_case(server)
    admin, coord = Person(server, ADMIN_ID), Person(server, COORD)

    token, created = await _invite(admin, "Фахівець", "Обласний центр", "Додати до наявних ролей")
    assert "Наявні ролі людини залишаться, нова роль додасться до них" in created

    welcome = await coord.say(f"/start inv_{token}")
    assert "фахівець" in text_of(welcome) and "завершилася" not in text_of(welcome)
    assert await _roles(bot.settings, COORD) == [
        ("coordinator", "kharkiv-bohodukhiv"),
        ("specialist", None),
    ]
    case = await _the_case(bot.settings)
    assert case.status == "accepted" and case.owner_id == await user_id(bot.settings, COORD)

    # Then an invite that replaces: both roles end, not only the one of the same kind.
    token, _created = await _invite(admin, "Координатор", "Ізюмський", "Замінити наявні ролі")
    text = text_of(await coord.say(f"/start inv_{token}"))
    assert "Ваша попередня роль завершилася: координатор — Богодухівський район" in text
    assert "Ваша попередня роль завершилася: фахівець" in text
    assert await _roles(bot.settings, COORD) == [("coordinator", "kharkiv-izium")]
    assert (await _the_case(bot.settings)).status == "new"


async def test_a_message_to_a_case_whose_coordinator_lost_the_area_waits_for_the_next_one(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    """The coordinator's role was changed to another district outside the bot (the database, another
    replica): the person's next message releases the case at once, is kept, and the person is told so."""
    await enrol(bot.settings, server)
    await _add_regional(bot.settings, server)
    code = await _accepted_case(server)
    citizen, regional = Person(server, CITIZEN), Person(server, REGIONAL)
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    coord_uid = await user_id(bot.settings, COORD)
    async with database(bot.settings) as sm, sm() as session, session.begin():
        await session.execute(
            update(UserRole).where(UserRole.user_id == coord_uid).values(district="kharkiv-izium")
        )

    mark = len(server.calls)
    reply = await citizen.say(CITIZEN_SAYS)
    assert "Надіслано" not in text_of(reply)
    assert text_of(reply) == (
        "Збережено. Ваш запит зараз чекає на координатора: той, хто його візьме, побачить це повідомлення"
        " й зможе вам відповісти."
    )
    assert (await _the_case(bot.settings)).status == "new"
    notice = await wait_for_text(server, REGIONAL, TAKE_OVER)
    assert code in text_of(notice)
    await server.wait_idle(quiet=0.2)
    assert not [c for c in server.calls[mark:] if str(c.params.get("chat_id")) == str(COORD)]

    heard = server.last_message_id(CITIZEN)
    card = await regional.press("Прийняти", notice)
    await bot_says(server, CITIZEN, ACCEPTED, after=heard)  # the person hears it first
    assert CITIZEN_SAYS in text_of(card) and DESCRIPTION in text_of(card)
