"""Directory import in the bot, through the fake Bot API: a regional coordinator gets their entries as a
CSV, sends one with good and bad rows, sees the dry run (added, changed, withdrawn, the refused rows with
their lines and reasons) and confirms: the good rows are in "where to get help" and the bad ones are not;
cancelling writes nothing; a district coordinator has no button and a forged press is refused, audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable
from typing import Any

from sqlalchemy import func, select

from bot.app import build_app
from bot.services.directory import DirectoryChecks, load_directory
from bot.settings import Settings
from bot.telegram_emulator.records import UploadedFile
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import AuditEntry, DirectoryCheck, User, UserRole
from tests.conftest import ADMIN_ID, Person, RunningBot
from tests.test_citizen_e2e import text_of
from tests.test_directory_exchange import NEW_ID, ROOT, good_and_bad

REGIONAL, IZIUM = 2001, 2102
BUTTON = "Імпорт довідника"


async def enrol(settings: Settings, server: FakeTelegramServer) -> None:
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        for telegram_id, district in ((REGIONAL, None), (IZIUM, "kharkiv-izium")):
            server.add_user(telegram_id)
            user = User(telegram_id=telegram_id, roles=[])
            session.add(user)
            await session.flush()
            session.add(UserRole(user_id=user.id, role="coordinator", oblast="kharkiv", district=district))
    await engine.dispose()


def send_csv(server: FakeTelegramServer, person: Person, content: bytes) -> Awaitable[dict[str, Any]]:
    return person.reply_to(
        lambda: server.send_document(
            person.id, filename="directory.csv", content=content, mime_type="text/csv"
        )
    )


async def stored_checks(settings: Settings) -> int:
    app = await build_app(settings)
    try:
        async with app.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(DirectoryCheck)) or 0)
    finally:
        await app.close()


async def test_a_regional_coordinator_imports_the_good_rows_after_the_dry_run(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    coordinator = Person(server, REGIONAL)
    asked = await coordinator.press(BUTTON, await coordinator.say("/admin"))
    assert "service_status" in text_of(asked)
    mark = len(server.calls)
    await coordinator.press("Чинні записи файлом CSV", asked)
    upload = next(c for c in server.calls[mark:] if c.method == "sendDocument").params["document"]
    assert isinstance(upload, UploadedFile)
    ids = {r["service_id"] for r in csv.DictReader(io.StringIO(upload.data.decode("utf-8-sig")))}
    assert "kharkiv-police" in ids and not any(i.startswith(("zhytomyr", "hotline")) for i in ids)

    plan = await send_csv(server, coordinator, good_and_bad(load_directory(ROOT / "data")))
    text = text_of(plan)
    assert "Нові записи: 1" in text and "Змінені записи: 1" in text and "Вилучені записи: 1" in text
    assert "Неприйняті рядки: 6" in text
    assert "рядок 5 (kharkiv-police): невідомий вид допомоги" in text and "(magic)" in text
    assert "рядок 11" in text and "уже був вище" in text
    assert await stored_checks(bot.settings) == 0  # the dry run writes nothing

    done = await coordinator.press("Імпортувати", plan)
    assert "Імпорт виконано" in text_of(done)
    app = await build_app(bot.settings)
    try:
        checks = DirectoryChecks(app.sessionmaker, app.directory)
        await checks.load()
        added = app.directory.entry(NEW_ID)
        assert added is not None and added.phones == ("0 800 213 103", "05743 2-11-00")
        assert app.directory.entry("kharkiv-labour-inspection") is None
        police = app.directory.entry("kharkiv-police")
        assert police is not None and police.description.uk != "а\nб"
    finally:
        await app.close()
    assert await stored_checks(bot.settings) == 3  # the new, the changed and the withdrawn entry


async def test_cancelling_writes_nothing(bot: RunningBot, server: FakeTelegramServer) -> None:
    server.add_user(ADMIN_ID)
    admin = Person(server, ADMIN_ID)
    await admin.press(BUTTON, await admin.say("/admin"))
    typed = await admin.say("ось файл")
    assert "файлом CSV" in text_of(typed)
    refused = await send_csv(server, admin, "це не таблиця".encode("cp1251"))
    assert "не файл CSV" in text_of(refused)
    # A bad network day: Telegram cannot give the file. Said so, the same file again works.
    server.fail_next("getFile", status=400, description="Bad Request: file is temporarily unavailable")
    lost = await send_csv(server, admin, good_and_bad(load_directory(ROOT / "data")))
    assert "Не вдалося отримати файл від Telegram" in text_of(lost) and "ще раз" in text_of(lost)
    plan = await send_csv(server, admin, good_and_bad(load_directory(ROOT / "data")))
    cancelled = await admin.press("Скасувати", plan)
    assert "скасовано" in text_of(cancelled)
    assert await stored_checks(bot.settings) == 0


async def test_a_district_coordinator_cannot_import(bot: RunningBot, server: FakeTelegramServer) -> None:
    await enrol(bot.settings, server)
    district = Person(server, IZIUM)
    menu = await district.say("/admin")
    assert not any(BUTTON in label for label in district.labels(menu))
    answer = await district.press_data("dim:start", menu["message_id"])
    assert answer.params.get("text")  # refused, as every button beyond one's role is
    mark = len(server.calls)
    await send_csv(server, district, good_and_bad(load_directory(ROOT / "data")))
    assert not any("Нові записи" in str(c.params.get("text")) for c in server.calls[mark:])
    assert await stored_checks(bot.settings) == 0
    app = await build_app(bot.settings)
    try:
        async with app.sessionmaker() as session:
            denied = list(
                await session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("denied.%")))
            )
    finally:
        await app.close()
    assert "denied.directory_import" in denied
