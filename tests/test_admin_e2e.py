"""Admins and coordinators end to end: organisations, invites, staff removal, audited refusals."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import AdminInvite, AdminMenu, AdminOrganisation, AdminStaff
from bot.services.staff import Role, StaffRole, StaffService
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import AuditEntry, Invite, Organisation, User, UserRole
from tests.conftest import ADMIN_ID, Person, RunningBot, is_person, person_key
from tests.test_citizen_e2e import text_of

ADMIN_ROLE = (StaffRole(Role.ADMIN, None, None, None),)
BOHODUKHIV = "kharkiv-bohodukhiv"
IZIUM = "kharkiv-izium"
MENU_FIRST_BUTTON = "🆘 Мені загрожує небезпека зараз"


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def user_id(settings: Settings, telegram_id: int) -> int:
    async with database(settings) as sm, sm() as session:
        found = await session.scalar(select(User.id).where(is_person(settings, telegram_id)))
    assert found is not None, f"user {telegram_id} has not written to the bot"
    return int(found)


async def audit_actions(settings: Settings, telegram_id: int) -> list[str]:
    async with database(settings) as sm, sm() as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .outerjoin(User, AuditEntry.actor_id == User.id)
            .where(
                or_(
                    is_person(settings, telegram_id),
                    AuditEntry.actor_key == person_key(settings, telegram_id),
                )
            )
            .order_by(AuditEntry.id)
        )
        return list(rows)


async def count(settings: Settings, model: Any) -> int:
    async with database(settings) as sm, sm() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def add_organisation(settings: Settings, name: str, district: str | None, kind: str = "ngo") -> int:
    """An organisation added straight through the service (the dialog has a test of its own)."""
    async with database(settings) as sm:
        org = await StaffService(sm).add_organisation(
            await user_id(settings, ADMIN_ID), name, kind, "kharkiv", district
        )
    return org.id


def token_in(message: dict[str, Any]) -> str:
    found = re.search(r"\?start=inv_([A-Za-z0-9_-]+)", text_of(message))
    assert found, text_of(message)
    return found.group(1)


async def forge(person: Person, data: str, message: dict[str, Any]) -> dict[str, Any]:
    """Press a button with callback data no keyboard offered this person; return the bot's reply."""
    mark = len(person.server.calls)
    person.server.press_button(person.id, message["message_id"], data, language_code=person.language_code)
    return await person._reply_after(mark)


async def invite_coordinator(admin: Person, district_label: str = "Богодухівський") -> str:
    menu = await admin.say("/admin")
    step = await admin.press("Створити запрошення", menu)
    step = await admin.press("Координатор", step)
    step = await admin.press("Харківська", step)
    step = await admin.press(district_label, step)
    done = await admin.press("Замінити наявні ролі", step)
    assert "Запрошення готове" in text_of(done)
    return token_in(done)


async def enrol_coordinator(admin: Person, person: Person) -> None:
    token = await invite_coordinator(admin)
    welcome = await person.say(f"/start inv_{token}")
    assert "Вітаємо в команді" in text_of(welcome), text_of(welcome)


async def test_admin_adds_an_organisation(bot: RunningBot, server: FakeTelegramServer) -> None:
    admin = Person(server, ADMIN_ID)
    menu = await admin.say("/admin")
    assert {"➕ Додати організацію", "✉️ Створити запрошення", "👥 Працівники"} <= set(admin.labels(menu))
    ask = await admin.press("Додати організацію", menu)
    assert "Нова організація" in text_of(ask)
    # A sticker, a photo, a name too short or too long: explained, and the dialog goes on.
    assert "текстом" in text_of(await admin.send("sticker"))
    assert "текстом" in text_of(await admin.send("photo"))
    assert "від 3 до 300" in text_of(await admin.say("ab"))
    assert "від 3 до 300" in text_of(await admin.say("x" * 301))
    kinds = await admin.say("Богодухівський районний центр <соціальних> служб")
    assert "<соціальних>" in text_of(kinds)  # escaped, shown as typed
    assert "Центр соціальних служб" in admin.labels(kinds) and "Поліція (ГУНП)" in admin.labels(kinds)
    step = await admin.press("Центр соціальних служб", kinds)
    step = await admin.press("Харківська", step)
    assert any("Уся область" in label for label in admin.labels(step))
    done = await admin.press("Богодухівський", step)
    assert "Організацію додано" in text_of(done) and "Богодухівський район" in text_of(done)
    async with database(bot.settings) as sm, sm() as session:
        orgs = list(await session.scalars(select(Organisation)))
    assert [(o.name, o.kind, o.oblast, o.district) for o in orgs] == [
        ("Богодухівський районний центр <соціальних> служб", "social_services", "kharkiv", BOHODUKHIV)
    ]
    # The finished dialog's buttons are stale: pressing one again adds nothing.
    again = await forge(admin, AdminOrganisation(kind=0, oblast="kharkiv", district=BOHODUKHIV).pack(), done)
    assert "застаріла" in text_of(again)
    assert await count(bot.settings, Organisation) == 1
    assert "organisation.add" in await audit_actions(bot.settings, ADMIN_ID)


async def test_add_organisation_for_the_whole_oblast_and_cancel(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    admin = Person(server, ADMIN_ID)
    menu = await admin.say("/admin")
    await admin.press("Додати організацію", menu)
    cancelled = await admin.say("/cancel")
    assert "Скасовано" in text_of(cancelled)
    assert "кнопки" in text_of(await admin.say("ГУНП в Харківській області"))  # no dialog any more
    menu = await admin.say("/admin")
    await admin.press("Додати організацію", menu)
    kinds = await admin.say("ГУНП в Харківській області")
    step = await admin.press("Поліція (ГУНП)", kinds)
    step = await admin.press("Харківська", step)
    done = await admin.press("Уся область", step)
    assert "уся Харківська область" in text_of(done)
    assert any("представника поліції" in label for label in admin.labels(done))


async def test_coordinator_invite_is_redeemed_once(bot: RunningBot, server: FakeTelegramServer) -> None:
    admin, newcomer, other = Person(server, ADMIN_ID), Person(server, 2001), Person(server, 2002)
    menu = await admin.say("/admin")
    step = await admin.press("Створити запрошення", menu)
    assert {"Координатор", "Фахівець"} <= set(admin.labels(step))
    step = await admin.press("Координатор", step)
    step = await admin.press("Харківська", step)
    step = await admin.press("Богодухівський", step)
    assert "Якщо людина вже має роль" in text_of(step)
    done = await admin.press("Замінити наявні ролі", step)
    text = text_of(done)
    assert "https://t.me/dovira_test_bot?start=inv_" in text
    assert "72" in text and "один раз" in text
    token = token_in(done)

    # Before: a citizen without /admin.
    assert "лише для працівників" in text_of(await newcomer.say("/admin"))
    welcome = await newcomer.say(f"/start inv_{token}")
    assert "координатор" in text_of(welcome) and "Богодухівський район" in text_of(welcome)
    coordinator_menu = await newcomer.say("/admin")
    labels = newcomer.labels(coordinator_menu)
    assert "✉️ Створити запрошення" in labels and "👥 Працівники" in labels
    assert "➕ Додати організацію" not in labels

    # The same link a second time, by someone else or by the same person: refused, with the menu.
    used = await other.say(f"/start inv_{token}")
    assert "вже використано" in text_of(used)
    assert other.labels(used)[0] == MENU_FIRST_BUTTON
    assert "лише для працівників" in text_of(await other.say("/admin"))
    assert "вже використано" in text_of(await newcomer.say(f"/start inv_{token}"))
    async with database(bot.settings) as sm, sm() as session:
        roles = list(await session.scalars(select(UserRole)))
    assert [(r.role, r.oblast, r.district) for r in roles] == [("coordinator", "kharkiv", BOHODUKHIV)]


async def test_expired_unknown_and_garbage_invites_are_refused(
    bot: RunningBot, server: FakeTelegramServer, person: Person
) -> None:
    admin = Person(server, ADMIN_ID)
    await admin.say("/admin")
    long_ago = datetime.now(UTC) - timedelta(hours=73)
    async with database(bot.settings) as sm:
        token = await StaffService(sm, clock=lambda: long_ago).create_invite(
            await user_id(bot.settings, ADMIN_ID),
            ADMIN_ROLE,
            role=Role.COORDINATOR,
            organisation_id=None,
            oblast="kharkiv",
            district=BOHODUKHIV,
        )
    expired = await person.say(f"/start inv_{token}")
    assert "минув" in text_of(expired)
    assert person.labels(expired)[0] == MENU_FIRST_BUTTON
    for text in ("/start inv_", "/start inv_nosuchtoken", "/start inv_<b>&</b>", "/start inv_" + "x" * 500):
        reply = await person.say(text)
        assert "недійсне" in text_of(reply), text
        assert person.labels(reply)[0] == MENU_FIRST_BUTTON
    assert "лише для працівників" in text_of(await person.say("/admin"))
    assert await count(bot.settings, UserRole) == 0
    assert (await audit_actions(bot.settings, person.id)).count("invite.refused") == 5
    # Other deep links still reach the ordinary /start.
    assert "Довіра" in text_of(await person.say("/start hello"))


async def test_coordinator_invites_specialists_of_their_district_only(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    admin, coordinator, specialist = Person(server, ADMIN_ID), Person(server, 2001), Person(server, 2003)
    await admin.say("/admin")
    ours = await add_organisation(bot.settings, "ЦСС Богодухів", BOHODUKHIV, "social_services")
    theirs = await add_organisation(bot.settings, "ЦСС Ізюм", IZIUM, "social_services")
    regional = await add_organisation(bot.settings, "Обласний центр", None, "social_services")
    await enrol_coordinator(admin, coordinator)

    menu = await coordinator.say("/admin")
    choice = await coordinator.press("Створити запрошення", menu)
    labels = " ".join(coordinator.labels(choice))
    assert "ЦСС Богодухів" in labels and "ЦСС Ізюм" not in labels and "Обласний центр" not in labels
    done = await coordinator.press("Замінити", await coordinator.press("ЦСС Богодухів", choice))
    token = token_in(done)
    welcome = await specialist.say(f"/start inv_{token}")
    assert "фахівець" in text_of(welcome) and "ЦСС Богодухів" in text_of(welcome)
    invites_before = await count(bot.settings, Invite)

    # Forged: a coordinator invite, a police invite, specialists of an organisation outside the district.
    for data in (
        AdminInvite(role="c", oblast="kharkiv", district=BOHODUKHIV).pack(),
        AdminInvite(role="c", oblast="kharkiv", district="*").pack(),
        AdminInvite(role="p", org=ours).pack(),
        AdminInvite(role="s", org=theirs).pack(),
        AdminInvite(role="s", org=regional).pack(),
        AdminMenu(action="org").pack(),
    ):
        refused = await forge(coordinator, data, menu)
        assert "немає прав" in text_of(refused), data
    assert await count(bot.settings, Invite) == invites_before
    denials = [a for a in await audit_actions(bot.settings, coordinator.id) if a.startswith("denied.")]
    assert len(denials) == 6

    # A coordinator sees and removes only the specialists of their area, never another coordinator.
    staff_list = await coordinator.press("Працівники", await coordinator.say("/admin"))
    assert str(specialist.id) in text_of(staff_list) and str(coordinator.id) not in text_of(staff_list)
    admin_list = await admin.press("Працівники", await admin.say("/admin"))
    assert str(coordinator.id) in text_of(admin_list)
    coordinator_uid = await user_id(bot.settings, coordinator.id)
    refused = await forge(
        coordinator, AdminStaff(action="y", user=coordinator_uid, role="coordinator").pack(), staff_list
    )
    assert "вже немає" in text_of(refused)
    assert await count(bot.settings, UserRole) == 2


async def test_citizen_gets_refusals_and_they_are_audited(
    bot: RunningBot, server: FakeTelegramServer, person: Person
) -> None:
    admin = Person(server, ADMIN_ID)
    await admin.say("/admin")
    org = await add_organisation(bot.settings, "ЦСС Богодухів", BOHODUKHIV)
    refusal = await person.say("/admin")
    assert "лише для працівників" in text_of(refusal)
    assert person.labels(refusal)[0] == MENU_FIRST_BUTTON
    forged = [
        AdminMenu(action="menu").pack(),
        AdminMenu(action="org").pack(),
        AdminMenu(action="staff").pack(),
        AdminOrganisation(kind=0, oblast="kharkiv", district="*").pack(),
        AdminInvite(role="c", oblast="kharkiv", district=BOHODUKHIV).pack(),
        AdminInvite(role="s", org=org).pack(),
        AdminStaff(action="l").pack(),
        AdminStaff(action="y", user=1, role="admin").pack(),
    ]
    for data in forged:
        mark = len(server.calls)
        answer = await person.press_data(data, refusal["message_id"])
        assert answer.params.get("text") == "Ця кнопка вже не діє.", data
        reply = await server.wait_for_bot_message(person.id, after_id=refusal["message_id"])
        assert "застаріла" in text_of(reply)
        assert not [c for c in server.calls[mark:] if not c.ok]
        refusal = reply
    actions = await audit_actions(bot.settings, person.id)
    assert actions.count("denied.admin") == 1
    assert len([a for a in actions if a.startswith("denied.")]) == 1 + len(forged)
    assert await count(bot.settings, Invite) == 0
    assert await count(bot.settings, Organisation) == 1
    # Typed text after a forged "add organisation" press does not create anything either.
    assert "кнопки" in text_of(await person.say("Фальшива організація"))
    assert await count(bot.settings, Organisation) == 1


async def test_removed_coordinator_loses_admin(bot: RunningBot, server: FakeTelegramServer) -> None:
    admin, coordinator = Person(server, ADMIN_ID), Person(server, 2001)
    await enrol_coordinator(admin, coordinator)
    assert "Створити запрошення" in " ".join(coordinator.labels(await coordinator.say("/admin")))

    staff_list = await admin.press("Працівники", await admin.say("/admin"))
    assert "2001" in text_of(staff_list) and "Координатор" in text_of(staff_list)
    confirm = await admin.press("2001", staff_list)
    assert "Прибрати цю людину" in text_of(confirm)
    kept = await admin.press("Ні, залишити", confirm)
    assert "2001" in text_of(kept)
    confirm = await admin.press("2001", kept)
    done = await admin.press("Так, прибрати", confirm)
    assert "Прибрано" in text_of(done) and "Працівників поки немає" in text_of(done)
    assert await count(bot.settings, UserRole) == 0
    assert "staff.remove" in await audit_actions(bot.settings, ADMIN_ID)

    refused = await coordinator.say("/admin")
    assert "лише для працівників" in text_of(refused)
    # The old confirmation pressed again removes nothing and says so.
    again = await forge(admin, admin.button_data("Так, прибрати", confirm), done)
    assert "вже немає" in text_of(again)


async def test_a_role_removed_in_the_middle_of_a_staff_dialog_ends_it(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    admin, coordinator = Person(server, ADMIN_ID), Person(server, 2001)
    await enrol_coordinator(admin, coordinator)
    step = await coordinator.press("Зареєструвати захід", await coordinator.say("/staff"))
    step = await coordinator.press("Семінар", step)
    await coordinator.press("Пошук", step)  # typing a search next

    staff_list = await admin.press("Працівники", await admin.say("/admin"))
    await admin.press("Так, прибрати", await admin.press("2001", staff_list))

    answer = await coordinator.say("тренінг")  # the search, from someone who no longer logs events
    assert "роль працівника змінено або знято" in text_of(answer)
    assert "🗂 Робочий кабінет" not in coordinator.labels(answer)
    assert "denied.role_gone" in await audit_actions(bot.settings, 2001)
    again = await coordinator.say("тренінг")  # out of the dialog: plain text gets the usual answer
    assert "роль працівника" not in text_of(again)


async def test_staff_cannot_erase_themselves_and_their_audit_trail(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    """/forget deletes the user row: for a member of staff that would drop their role unaudited and
    blank the actor of every audit entry of theirs. Refused until an admin has removed the role."""
    admin, coordinator = Person(server, ADMIN_ID), Person(server, 2001)
    await enrol_coordinator(admin, coordinator)
    refused = await coordinator.say("/forget")  # refused at once: no confirmation to press for nothing
    assert "роль працівника" in text_of(refused) and coordinator.labels(refused) == ["⬅️ Меню"]
    refused = await admin.press(
        "Стерти мої дані", await admin.press("Приватність", await admin.say("/start"))
    )
    assert "ADMIN_IDS" in text_of(refused)  # an admin's role is in the settings, not the bot
    assert await count(bot.settings, UserRole) == 1
    assert "invite.redeem" in await audit_actions(bot.settings, 2001)
    assert await audit_actions(bot.settings, ADMIN_ID)

    staff_list = await admin.press("Працівники", await admin.say("/admin"))
    confirm = await admin.press("2001", staff_list)
    await admin.press("Так, прибрати", confirm)
    confirm = await coordinator.say("/forget")
    done = await coordinator.press("Так, стерти", confirm)  # no role now: a person like any other
    assert "стерто" in text_of(done)
    async with database(bot.settings) as sm, sm() as session:
        assert await session.scalar(select(func.count()).where(User.telegram_id == 2001)) == 0


async def test_staff_get_the_way_to_their_workspace_from_every_menu(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    admin, coordinator, citizen = Person(server, ADMIN_ID), Person(server, 2001), Person(server, 3001)
    await enrol_coordinator(admin, coordinator)
    for said in ("/help", "/cancel", "що тут робити?", "/nonsense"):
        assert "🗂 Робочий кабінет" in coordinator.labels(await coordinator.say(said)), said
        assert "🗂 Робочий кабінет" not in citizen.labels(await citizen.say(said)), said
    chosen = await coordinator.press("English", await coordinator.say("/language"))
    assert "🗂 Staff workspace" in coordinator.labels(chosen)


async def test_long_lists_are_paged(bot: RunningBot, server: FakeTelegramServer) -> None:
    admin = Person(server, ADMIN_ID)
    await admin.say("/admin")
    org_ids = [await add_organisation(bot.settings, f"Організація {i:02d}", BOHODUKHIV) for i in range(11)]
    async with database(bot.settings) as sm:
        service = StaffService(sm)
        actor = await user_id(bot.settings, ADMIN_ID)
        async with sm() as session, session.begin():
            session.add_all(User(telegram_id=3000 + i, roles=[]) for i in range(10))
        for i in range(10):
            token = await service.create_invite(
                actor,
                ADMIN_ROLE,
                role=Role.SPECIALIST,
                organisation_id=org_ids[i],
                oblast="kharkiv",
                district=None,
            )
            await service.redeem_invite(await user_id(bot.settings, 3000 + i), token)

    menu = await admin.say("/admin")
    step = await admin.press("Створити запрошення", menu)
    step = await admin.press("Фахівець", step)
    first = await admin.press("Харківська", step)
    assert "Сторінка 1 з 2" in text_of(first)
    assert len([label for label in admin.labels(first) if "Організація" in label]) == 8
    second = await admin.press("Наступні", first)
    assert "Організація 10" in text_of(second) and "Сторінка 2 з 2" in text_of(second)

    staff_first = await admin.press("Працівники", await admin.say("/admin"))
    assert "усього: 10" in text_of(staff_first) and "Сторінка 1 з 2" in text_of(staff_first)
    assert len([label for label in admin.labels(staff_first) if "Прибрати" in label]) == 8
    staff_second = await admin.press("Наступні", staff_first)
    assert len([label for label in admin.labels(staff_second) if "Прибрати" in label]) == 2
    for message in (first, second, staff_first, staff_second):
        assert all(len(data.encode()) <= 64 for _, data in server.buttons(message))
    assert not [c for c in server.calls if not c.ok]


async def test_admin_menu_in_english(bot: RunningBot, server: FakeTelegramServer) -> None:
    admin = Person(server, ADMIN_ID, language_code="en")
    menu = await admin.say("/admin")
    assert "Management" in text_of(menu)
    assert "➕ Add organisation" in admin.labels(menu)
    step = await admin.press("Create invite", menu)
    step = await admin.press("Police liaison", step)
    step = await admin.press("Kharkiv", step)
    assert "Police (regional HQ)" in text_of(step)
