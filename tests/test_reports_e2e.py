"""A coordinator asks the bot for a report: the message, the chart picture, then the XLSX on a tap.
Citizens get no reports; a forged year is refused with a clear message."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

# `conftest`, not `tests.conftest`: this file runs with both `pytest` and `python -m pytest`.
from conftest import Person, RunningBot
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select

from bot.callbacks import ReportAction, Reports
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import AuditEntry, Event, MeasureRow, User, UserRole

COORDINATOR = 2001
PROGRAMME = "kharkiv-2023-2025"


def text_of(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")


async def seed(settings: Settings, server: FakeTelegramServer) -> None:
    """A regional coordinator of Kharkiv oblast, and three seminars held in 2024."""
    server.add_user(COORDINATOR)
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        user = User(telegram_id=COORDINATOR, roles=[])
        session.add(user)
        await session.flush()
        session.add(UserRole(user_id=user.id, role="coordinator", oblast="kharkiv"))
        measure = await session.scalar(
            select(MeasureRow.id).where(
                MeasureRow.programme_id == PROGRAMME, MeasureRow.task_number == "2", MeasureRow.number == "2"
            )
        )
        assert measure is not None
        for month in (3, 6, 9):
            session.add(
                Event(
                    programme_id=PROGRAMME,
                    measure_id=measure,
                    event_type="seminar",
                    held_on=date(2024, month, 10),
                    oblast="kharkiv",
                    district="kharkiv-izium",
                    participants=25,
                )
            )
    await engine.dispose()


async def audited(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(
                await session.scalar(
                    select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("report.%"))
                )
                or 0
            )
    finally:
        await engine.dispose()


async def test_a_coordinator_gets_the_report_its_chart_and_the_xlsx(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await seed(bot.settings, server)
    coordinator = Person(server, COORDINATOR)
    step = await coordinator.press("Звіти", await coordinator.say("/staff"))  # the workspace button
    # One oblast: its years straight away, this one too although the programme ran to 2025.
    assert "Харківська область" in text_of(step) and "За який рік?" in text_of(step)
    assert coordinator.labels(step)[:4] == ["2023", "2024", "2025", "2026"]
    step = await coordinator.press("2024", step)
    step = await coordinator.press("Виконання показників", step)
    mark = len(server.calls)
    step = await coordinator.press("Ізюмський", step)

    # The report as a message: the seminars counted against the year's target.
    text = text_of(step)
    assert "Виконання показників програми за 2024 рік" in text and "Ізюмський район" in text
    # A district has no targets of its own: its actual values, not "behind" the oblast's targets.
    assert "Для районів плани не встановлено" in text and "Відстають" not in text
    # ...and as a chart picture with its title.
    photo_call = await server.wait_for_call("sendPhoto", after=mark)
    photo = photo_call.result
    assert "Фактичні значення показників" in text_of(photo)
    picture = next(u for u in reversed(server.uploads) if u.filename.endswith(".png"))
    image = Image.open(io.BytesIO(picture.data))
    assert image.format == "PNG" and image.info["Title"] == text_of(photo)

    # XLSX on a tap: a document that opens and holds the same figures.
    document = await coordinator.press("XLSX", photo)
    assert document["document"]["file_name"] == f"indicators-{PROGRAMME}-2024-kharkiv-izium.xlsx"
    upload = next(u for u in reversed(server.uploads) if u.filename.endswith(".xlsx"))
    sheet = load_workbook(io.BytesIO(upload.data)).active
    assert sheet is not None
    rows = {r[0]: r for r in sheet.iter_rows(values_only=True) if r and r[0]}
    assert rows["2.2.a"][2:5] == (None, 3, None)
    assert len(sheet._charts) == 1

    csv_file = await coordinator.press("CSV", photo)
    assert csv_file["document"]["file_name"].endswith(".csv")
    assert await audited(bot.settings) == 3  # the report, the XLSX and the CSV

    # A forged button for a year with no reports, or for indicators in a year no programme was in force:
    # a clear answer, nothing produced.
    for forged, said in (
        (
            Reports(action=ReportAction.REPORT, oblast=PROGRAMME, year=2019, kind="i"),
            "За цей рік звітів немає",
        ),
        (
            Reports(action=ReportAction.REPORT, oblast="kharkiv", year=2026, kind="i"),
            "програма в області не діяла",
        ),
    ):
        mark = len(server.calls)
        await coordinator.press_data(forged.pack(), photo["message_id"])
        refusal = await server.wait_for_call("sendMessage", after=mark)
        assert said in refusal.params["text"]
    assert await audited(bot.settings) == 3

    # A kind no letter names, or a file in no format: stale buttons, nothing produced.
    for stale in (
        Reports(action=ReportAction.KIND, oblast=PROGRAMME, year=2024, kind="z"),
        Reports(action=ReportAction.REPORT, oblast=PROGRAMME, year=2024, kind="z"),
        Reports(action=ReportAction.FILE, oblast=PROGRAMME, year=2024, kind="z", file_format="csv"),
        Reports(action=ReportAction.FILE, oblast=PROGRAMME, year=2024, kind="i"),
    ):
        answer = await coordinator.press_data(stale.pack(), photo["message_id"])
        assert answer.params.get("text") == "Ця кнопка вже не діє."
    assert await audited(bot.settings) == 3

    # 2026, after the programme: the reports of any year, without the programme's.
    step = await coordinator.press("2026", await coordinator.say("/report"))
    assert "Програма цього року не діяла" in text_of(step)
    assert not any("показників" in label or "Річна" in label for label in coordinator.labels(step))
    step = await coordinator.press("Проведені заходи", step)
    step = await coordinator.press("Уся область", step)
    assert "Заходів: 0" in text_of(step) and "Поза строком дії програми" in text_of(step)


async def test_a_citizen_gets_no_reports(bot: RunningBot, server: FakeTelegramServer, person: Person) -> None:
    reply = await person.say("/report")
    assert "координаторам" in text_of(reply)
    answer = await person.press_data(
        Reports(action=ReportAction.REPORT, oblast=PROGRAMME, year=2024, kind="c").pack(),
        reply["message_id"],
    )
    assert "координаторам" in str(answer.params.get("text"))
    stale = await person.press_data("rp:r:../../etc:2024:c:-1:", reply["message_id"])  # does not parse
    assert stale.params.get("text")


async def test_a_district_coordinator_gets_their_district_without_asking(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await seed(bot.settings, server)
    engine = create_engine(bot.settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():  # now of Izium only
        role = await session.scalar(select(UserRole))
        assert role is not None
        role.district = "kharkiv-izium"
    await engine.dispose()
    coordinator = Person(server, COORDINATOR)
    step = await coordinator.press("2024", await coordinator.say("/report"))
    assert not any("Звіряння" in label for label in coordinator.labels(step))  # the regional department's
    step = await coordinator.press("Проведені заходи", step)  # no district question: theirs
    text = text_of(step)
    assert "Ізюмський район" in text and "Заходів: 3, учасників: 75" in text

    # A forged button for the whole oblast, or another district, is refused.
    for forged in (
        Reports(action=ReportAction.REPORT, oblast=PROGRAMME, year=2024, kind="e", district=0),
        Reports(action=ReportAction.REPORT, oblast=PROGRAMME, year=2024, kind="r"),
    ):
        answer = await coordinator.press_data(forged.pack(), step["message_id"])
        assert "координаторам" in str(answer.params.get("text"))
