"""A month of police notifications end to end: two organisations file (one nil), one does not ->
reminders reach only the one that did not -> the digest on the deadline lists all three states ->
the police liaison acknowledges -> the coordinator's compliance table shows it."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import build_app
from bot.clock import today as kyiv_today
from bot.services.police_reports import ReportError, Signal, previous_month
from bot.services.staff import Role, StaffRole
from bot.services.wording import month_name
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import Organisation, User, UserRole
from scheduler.jobs import police_digest, police_reminders
from tests.conftest import Person, RunningBot
from tests.test_citizen_e2e import text_of

CENTRE, NGO, SCHOOL, LIAISON, COORD = 3001, 3002, 3003, 4001, 2001
SIGNAL = "Оголошення про роботу за кордоном без договору, вербують випускниць"


async def enrol(settings: Settings, server: FakeTelegramServer) -> None:
    for telegram_id in (CENTRE, NGO, SCHOOL, LIAISON, COORD):
        server.add_user(telegram_id)
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        orgs = {}
        for name, kind in (
            ("Центр соціальних служб", "social_services"),
            ("ГО «Світанок»", "ngo"),
            ("Ліцей №1", "school"),
            ("ГУНП в Харківській області", "police"),
        ):
            org = Organisation(name=name, kind=kind, oblast="kharkiv", district=None)
            session.add(org)
            await session.flush()
            orgs[kind] = org.id
        for telegram_id, role, org in (
            (CENTRE, "specialist", "social_services"),
            (NGO, "specialist", "ngo"),
            (SCHOOL, "specialist", "school"),
            (LIAISON, "police", "police"),
            (COORD, "coordinator", None),
        ):
            user = User(telegram_id=telegram_id, roles=[])
            session.add(user)
            await session.flush()
            session.add(
                UserRole(
                    user_id=user.id, role=role, oblast="kharkiv", organisation_id=orgs[org] if org else None
                )
            )
    await engine.dispose()


def kyiv(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), ZoneInfo("Europe/Kyiv")).astimezone(UTC)


async def test_a_month_of_police_notifications(bot: RunningBot, server: FakeTelegramServer) -> None:
    await enrol(bot.settings, server)
    month = previous_month(kyiv_today())
    label = month_name(month, "uk")  # "листопад 2026", as a person reads it

    # The social services centre reports a signal; the NGO files "nothing detected"; the school is silent.
    centre = Person(server, CENTRE)
    step = await centre.press("Повідомлення поліції", await centre.say("/staff"))
    step = await centre.press(label, step)
    step = await centre.press("Додати сигнал", step)
    step = await centre.press("Загроза залучення", step)
    step = await centre.press("Трудова", step)
    step = await centre.press("Ізюмський", step)
    step = await centre.say(SIGNAL)
    assert "1. Загроза" in text_of(step)
    done = await centre.press("Надіслати", step)
    assert "сигналів — 1" in text_of(done)

    ngo = Person(server, NGO)
    step = await ngo.press(label, await ngo.press("Повідомлення поліції", await ngo.say("/staff")))
    done = await ngo.press("Нічого не виявлено", step)
    assert "нічого не виявлено" in text_of(done)
    # A second filing of the same month is not possible: only additions, with history.
    step = await ngo.press(label, await ngo.press("Повідомлення поліції", await ngo.say("/staff")))
    assert "вже подала" in text_of(step) and "Нічого не виявлено" not in " ".join(ngo.labels(step))

    # The scheduler's jobs at chosen instants of the following month, on the same database.
    app = await build_app(bot.settings)
    reporting = bot.settings.police_report_day
    following = (date.fromisoformat(f"{month}-01").replace(day=28) + timedelta(days=5)).replace(day=1)
    sender = server.create_bot()
    ctx = app.job_context(sender)  # exactly what the running bot's scheduler gets
    try:
        ctx.clock = lambda: kyiv(following.replace(day=2), 10)
        assert await police_reminders(ctx) == 1
        assert await police_reminders(ctx) == 0  # the same day again: nothing twice
        assert await police_digest(ctx) == 0  # not the deadline yet
        await app.outbox.send_due(sender)
        reminded = [m for m in server.bot_messages(SCHOOL) if "ще не подала" in text_of(m)]
        assert len(reminded) == 1 and label in text_of(reminded[0])
        assert not any("ще не подала" in text_of(m) for c in (CENTRE, NGO) for m in server.bot_messages(c))

        ctx.clock = lambda: kyiv(following.replace(day=reporting), 12)
        assert await police_reminders(ctx) == 0  # the deadline: reminders stop, the digest goes out
        assert await police_digest(ctx) == 1
        await app.outbox.send_due(sender)
    finally:
        await sender.session.close()
        await app.close()

    digest_call = next(
        c for c in server.calls_to("sendDocument") if str(c.params.get("chat_id")) == str(LIAISON)
    )
    caption = digest_call.params["caption"]
    assert "Центр соціальних служб: 1" in caption and "ГО «Світанок»" in caption and "Ліцей №1" in caption
    upload = next(u for u in server.uploads if u.filename and u.filename.endswith(".docx"))
    with zipfile.ZipFile(io.BytesIO(upload.data)) as docx:
        letter = docx.read("word/document.xml").decode()
    assert SIGNAL in letter and "Ізюмський" in letter

    liaison = Person(server, LIAISON)
    digest_message = next(m for m in server.bot_messages(LIAISON) if m.get("document") or m.get("caption"))
    mark = len(server.calls)
    server.press_button(
        LIAISON, digest_message["message_id"], liaison.button_data("Отримано", digest_message)
    )
    ack = await server.wait_for_call("answerCallbackQuery", after=mark)
    assert ack.params.get("text") == "Дякуємо, отримання підтверджено."

    coord = Person(server, COORD)
    table = await coord.press("Хто подав", await coord.say("/staff"))
    text = text_of(table)
    assert "📨 Центр соціальних служб — сигнали (1)" in text
    assert "✅ ГО «Світанок» — нічого не виявлено" in text
    assert "❌ Ліцей №1 — не подано" in text
    assert (
        "ГУНП підтвердило" in text and "ГУНП в Харківській" not in text
    )  # police are not a reporting subject


async def test_a_second_filing_of_a_month_is_refused_and_amendments_keep_history(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    app = await build_app(bot.settings)
    try:
        async with app.sessionmaker() as session:
            org_id = await session.scalar(select(Organisation.id).where(Organisation.kind == "ngo"))
            user_id = await session.scalar(select(User.id).where(User.telegram_id == NGO))
        assert org_id is not None and user_id is not None
        staff = [StaffRole(Role.SPECIALIST, org_id, "kharkiv", None)]
        month = previous_month(kyiv_today())
        await app.police.file(user_id, staff, month, [])
        try:
            await app.police.file(user_id, staff, month, [])
            raise AssertionError("a second filing was accepted")
        except ReportError as exc:
            assert str(exc) == "police.already_filed"
        await app.police.amend(user_id, staff, month, [Signal("offence", "sexual", None, "опис")])
        assert await app.police.versions(org_id, month) == 2
        statuses = {s.organisation_id: s for s in await app.police.compliance("kharkiv", month)}
        assert statuses[org_id].state == "signals" and statuses[org_id].version == 2
        future = f"{kyiv_today().year + 1}-01"
        try:
            await app.police.file(user_id, staff, future, [])
            raise AssertionError("a future month was accepted")
        except ReportError as exc:
            assert str(exc) == "police.month_future"
    finally:
        await app.close()
