"""A specialist logs a programme event from the phone; the measure's indicators follow; corrections
keep the history."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import app as bot_app
from bot.clock import today as kyiv_today
from bot.services.events import EventService
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import AuditEntry, Organisation, User, UserRole
from tests.conftest import Person, RunningBot, start_bot
from tests.test_citizen_e2e import text_of

SPECIALIST = 3001
SEMINARS, PEOPLE = "2.2.a", "2.2.b"  # Kharkiv task 2 measure 2: practical seminars and specialists trained


async def enrol_specialist(settings: Settings, server: FakeTelegramServer) -> None:
    server.add_user(SPECIALIST)
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        org = Organisation(
            name="Харківський обласний центр соціальних служб",
            kind="social_services",
            oblast="kharkiv",
            district=None,
        )
        session.add(org)
        await session.flush()
        user = User(telegram_id=SPECIALIST, roles=[])
        session.add(user)
        await session.flush()
        session.add(UserRole(user_id=user.id, role="specialist", organisation_id=org.id, oblast="kharkiv"))
    await engine.dispose()


async def progress(settings: Settings, year: int) -> dict[str, Decimal]:
    engine = create_engine(settings.database_url)
    try:
        rows = await EventService(create_sessionmaker(engine)).progress("kharkiv-2023-2025", year)
        return {p.key: p.actual for p in rows}
    finally:
        await engine.dispose()


async def test_seminar_raises_the_indicators_and_a_correction_keeps_history(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol_specialist(bot.settings, server)
    year = kyiv_today().year  # the bot's "Сьогодні" is Kyiv's date
    before = await progress(bot.settings, year)
    specialist = Person(server, SPECIALIST)
    menu = await specialist.say("/staff")

    # The common case: six taps and one typed number.
    step = await specialist.press("Зареєструвати захід", menu)  # 1
    step = await specialist.press("Семінар", step)  # 2
    assert specialist.labels(step)[0].startswith("2.2 ")  # the seminar measure is suggested first
    step = await specialist.press("2.2 ", step)  # 3
    step = await specialist.press("Сьогодні", step)  # 4
    step = await specialist.press("Богодухівський", step)  # 5
    step = await specialist.say("40")
    assert "Учасників: 40" in text_of(step)
    saved = await specialist.press("Зберегти", step)  # 6
    assert "збережено" in text_of(saved)

    after = await progress(bot.settings, year)
    assert after[SEMINARS] - before.get(SEMINARS, Decimal(0)) == 1
    assert after[PEOPLE] - before.get(PEOPLE, Decimal(0)) == 40

    view = await specialist.press("Переглянути", saved)
    step = await specialist.press("Виправити", view)
    step = await specialist.say("45")
    saved = await specialist.press("Зберегти", step)
    corrected = await progress(bot.settings, year)
    assert corrected[PEOPLE] - before.get(PEOPLE, Decimal(0)) == 45
    assert corrected[SEMINARS] - before.get(SEMINARS, Decimal(0)) == 1  # still one seminar
    view = await specialist.press("Переглянути", saved)
    history = text_of(view)
    assert "учасників: 40" in history and "учасників: 45" in history and "виправлено" in history

    confirm = await specialist.press("Відкликати", view)
    assert "Відкликати цей захід?" in text_of(confirm)
    kept = await specialist.press("Ні, залишити", confirm)
    assert "учасників: 45" in text_of(kept)
    assert await progress(bot.settings, year) == corrected  # asked, not done
    confirm = await specialist.press("Відкликати", kept)
    await specialist.press("Так, відкликати", confirm)
    withdrawn = await progress(bot.settings, year)
    assert withdrawn[PEOPLE] == before.get(PEOPLE, Decimal(0))
    # The old confirmation pressed again: already withdrawn, nothing changes.
    mark = len(server.calls)
    server.press_button(SPECIALIST, confirm["message_id"], specialist.button_data("Так, відкликати", confirm))
    answer = await server.wait_for_call("answerCallbackQuery", after=mark)
    assert "уже відкликано" in answer.params.get("text", "")
    assert await progress(bot.settings, year) == withdrawn
    await server.wait_for_call("editMessageText", after=mark)  # the event's history shown again
    # (The screen already shows that history: Telegram answers "not modified", which is fine.)
    refused = [c for c in server.calls[mark:] if not c.ok and "not modified" not in (c.error or "")]
    assert not refused, refused
    assert sum(c.method == "answerCallbackQuery" for c in server.calls[mark:]) == 1  # answered once


async def test_bad_event_input_is_refused_and_nothing_is_saved(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol_specialist(bot.settings, server)
    specialist = Person(server, SPECIALIST)
    step = await specialist.press("Зареєструвати захід", await specialist.say("/staff"))
    step = await specialist.press("Семінар", step)
    step = await specialist.press("2.2 ", step)
    step = await specialist.press("Інша дата", step)
    assert "не настала" in text_of(await specialist.say("01.01.2099"))
    assert "раніша за початок програми" in text_of(await specialist.say("31.12.2022"))  # asked again at once
    assert "Не розпізнано" in text_of(await specialist.say("31.02.2024"))
    step = await specialist.say("15.05.2024")
    step = await specialist.press("Уся область", step)
    for bad in ("-5", "сорок", "100001", "1e9"):
        assert "ціле число від 0 до 100000" in text_of(await specialist.say(bad))
    assert "число" in text_of(await specialist.send("sticker"))
    step = await specialist.say("30")
    step = await specialist.press("Вартість", step)
    assert "сума в гривнях" in text_of(await specialist.say("-100"))
    step = await specialist.say("11500,50")
    step = await specialist.press("Обласний бюджет", step)
    assert "Вартість: 11\xa0500,50 грн" in text_of(step)  # as Ukrainian writes an amount
    await specialist.press("Скасувати", step)
    assert (await progress(bot.settings, 2024)).get(PEOPLE, Decimal(0)) == 0  # cancelled: nothing saved


async def test_a_citizen_cannot_log_events(
    bot: RunningBot, server: FakeTelegramServer, person: Person
) -> None:
    menu = await person.say("/start")
    answer = await person.press_data("ev:start:", menu["message_id"])
    assert answer.params.get("text") == "Ця дія вам недоступна."
    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        audited = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "denied.event.start")
        )
    await engine.dispose()
    assert audited == 1
    reply = await person.say("/event")
    assert "Такої команди немає" in text_of(reply)


async def test_coordinators_see_events_in_their_area_and_huge_files_are_refused(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol_specialist(bot.settings, server)
    specialist = Person(server, SPECIALIST)
    step = await specialist.press("Зареєструвати захід", await specialist.say("/staff"))
    step = await specialist.press("Семінар", step)
    step = await specialist.press("2.2 ", step)
    step = await specialist.press("Сьогодні", step)
    step = await specialist.press("Богодухівський", step)
    step = await specialist.say("12")
    step = await specialist.press("Фото чи документ", step)
    big = {"file_id": "big", "file_unique_id": "big", "file_name": "report.pdf", "file_size": 60 << 20}
    refused = await specialist.reply_to(lambda: server.send_message_update(SPECIALIST, document=big))
    assert "до 20 МБ" in text_of(refused)
    step = await specialist.send("photo")
    assert "Додано файл" in text_of(step)
    await specialist.press("Зберегти", step)

    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        for telegram_id, district in ((2001, "kharkiv-bohodukhiv"), (2002, "kharkiv-izium")):
            server.add_user(telegram_id)
            user = User(telegram_id=telegram_id, roles=[])
            session.add(user)
            await session.flush()
            session.add(UserRole(user_id=user.id, role="coordinator", oblast="kharkiv", district=district))
    await engine.dispose()
    here = Person(server, 2001)
    listing = await here.press("Заходи в моїй зоні", await here.say("/staff"))
    assert "Заходи у вашій зоні: 1" in text_of(listing) and "Семінар · 2.2" in text_of(listing)
    other = Person(server, 2002)
    listing = await other.press("Заходи в моїй зоні", await other.say("/staff"))
    assert "Заходи у вашій зоні: 0" in text_of(listing)
    denied = await specialist.press_data("ev:scope:", listing["message_id"])
    assert denied.params.get("text") == "Ця дія вам недоступна."


# 22:30 UTC on 7 December is 00:30 on 8 December in Kharkiv: "today" is the 8th.
KYIV_AFTER_MIDNIGHT = datetime(2026, 12, 7, 22, 30, tzinfo=UTC)


async def test_a_date_typed_just_after_kyiv_midnight_is_kyivs_today(
    server: FakeTelegramServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot as `python -m bot` runs it, its event service's clock set to just after Kyiv's midnight:
    the 8th typed is today, not "in the future"; the 9th is refused; "today" and "yesterday" agree."""
    build_app = bot_app.build_app

    async def at_kyiv_midnight(given: Settings) -> bot_app.App:
        app = await build_app(given)
        app.events.clock = lambda: KYIV_AFTER_MIDNIGHT
        return app

    monkeypatch.setattr(bot_app, "build_app", at_kyiv_midnight)
    running = await start_bot(server, settings)
    try:
        await enrol_specialist(settings, server)
        specialist = Person(server, SPECIALIST)

        async def date_step() -> dict[str, Any]:
            step = await specialist.press("Зареєструвати захід", await specialist.say("/staff"))
            return await specialist.press("2.2 ", await specialist.press("Семінар", step))

        async def summary_after(district_step: dict[str, Any]) -> str:
            """The date the summary shows; the dialog is then cancelled (nothing saved)."""
            await specialist.press("Уся область", district_step)
            summary = await specialist.say("12")
            await specialist.press("Скасувати", summary)
            return text_of(summary)

        await specialist.press("Інша дата", await date_step())
        assert "не настала" in text_of(await specialist.say("09.12.2026"))
        typed = await specialist.say("08.12.2026")
        assert "Де відбувся" in text_of(typed)
        assert "Дата: 08.12.2026" in await summary_after(typed)
        today = await specialist.press("Сьогодні", await date_step())
        assert "Дата: 08.12.2026" in await summary_after(today)
        yesterday = await specialist.press("Учора", await date_step())
        assert "Дата: 07.12.2026" in await summary_after(yesterday)
    finally:
        await running.shutdown()
