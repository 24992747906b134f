"""Reports for every year with data, and the figures issue 16 found wrong: a district is not "behind" the
oblast's targets, an organisation owes only the months after it joined, the reconciliation report carries
the explanations and the date, and the indicators the bot collects (5.2.a, 2.10.a) are counted."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main
from bot.services.catalogue import load_catalogue
from bot.services.directory import load_directory
from bot.services.events import EventService, sync_catalogue
from bot.services.report_files import to_text
from bot.services.reports import ReportError, ReportService
from db.engine import create_engine, create_sessionmaker
from db.migrate import upgrade_to_head
from db.models import MeasureRow, Organisation, PoliceReport, Reconciliation, User
from tests.test_reports import (
    DATA,
    NOW,
    PROGRAMME,
    REGIONAL,
    _case,
    _event,
    _in_thread,
    _measure,
    _section,
    seed,
)


@pytest.fixture
async def sm(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def service(sm: async_sessionmaker[AsyncSession], data: Path = DATA) -> ReportService:
    directory = load_directory(data)
    programmes = load_catalogue(data, {o.id for o in directory.oblasts})
    async with sm() as session, session.begin():
        await sync_catalogue(session, programmes)
    return ReportService(sm, programmes, directory, clock=lambda: NOW)


def shifted(node: object, years: int) -> object:
    """A programme file's contents with every yearly value moved `years` later."""
    if isinstance(node, dict):
        return {(k + years if isinstance(k, int) else k): shifted(v, years) for k, v in node.items()}
    if isinstance(node, list):
        return [shifted(v, years) for v in node]
    return node


def next_programme(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    """A copy of the data folder, and the Kharkiv programme's file moved three years on as the region's
    next programme (kharkiv-2026-2028), not yet in it."""
    shutil.copytree(DATA, tmp_path / "data")
    source = yaml.safe_load((DATA / "programmes" / "kharkiv-2023-2025.yaml").read_text(encoding="utf-8"))
    following = shifted(source, 3)
    assert isinstance(following, dict)
    following.update(id="kharkiv-2026-2028", years=[2026, 2027, 2028])
    following["title"] = {"uk": "Програма 2026–2028", "en": "Programme 2026-2028"}
    return tmp_path / "data", following


def add_next_programme(tmp_path: Path) -> Path:
    data, following = next_programme(tmp_path)
    (data / "programmes" / "kharkiv-2026-2028.yaml").write_text(yaml.safe_dump(following, allow_unicode=True))
    return data


async def seed_2026(sm: async_sessionmaker[AsyncSession]) -> None:
    """After the Kharkiv programme (2023-2025): an event, a case, a notification and a reconciliation."""
    async with sm() as session, session.begin():
        session.add(User(telegram_id=101))  # user 1: the coordinator asking, audited
        seminars = await _measure(session, "2", "2")
        session.add(_event(seminars, date(2026, 3, 12), 25, "kharkiv-izium"))
        for _ in range(6):
            session.add(_case("kharkiv-izium", "female", created_at=datetime(2026, 4, 3, tzinfo=UTC)))
        org = Organisation(name="Центр 2026", kind="social_services", oblast="kharkiv")
        org.created_at = datetime(2026, 1, 5, tzinfo=UTC)
        session.add(org)
        await session.flush()
        session.add(PoliceReport(organisation_id=org.id, month="2026-02", nil=True))
        session.add(
            Reconciliation(
                oblast="kharkiv",
                quarter="2026-Q1",
                police_figures=json.dumps({"victims_total": 3}),
                region_figures=json.dumps({"victims_total": 3}),
                reconciled_at=datetime(2026, 4, 14, 21, 30, tzinfo=UTC),  # 15 April in Kyiv
            )
        )


async def test_a_year_after_the_programme_has_its_reports(sm: async_sessionmaker[AsyncSession]) -> None:
    reports = await service(sm)
    await seed_2026(sm)
    assert 2026 in reports.years_for("kharkiv")

    events = await reports.produce(1, REGIONAL, "events", "kharkiv", 2026, None, "uk")
    assert "Заходів: 1, учасників: 25" in to_text(events)
    assert "Поза строком дії програми" in events.subtitle
    # Logged against a measure of a programme no longer in force: counted, but outside any programme.
    assert _section(events, "заходами програми") == {
        "Поза будь-якою програмою (захід за програмою, яка того року не діяла)": (1, 25)
    }
    cases = await reports.produce(1, REGIONAL, "cases", "kharkiv", 2026, None, "uk")
    assert "Звернень: 6" in to_text(cases)
    compliance = await reports.produce(1, REGIONAL, "compliance", "kharkiv", 2026, None, "uk")
    assert "Подано 1 з 11" in to_text(compliance)  # January to November are due on 1 December
    reconciliation = await reports.produce(1, REGIONAL, "reconciliation", PROGRAMME, 2026, None, "uk")
    assert _section(reconciliation, "кварталами")["2026-Q1"][-1] == "15.04.2026"

    for kind in ("indicators", "annual"):  # measured against a programme: none in force in 2026
        with pytest.raises(ReportError, match=r"^report\.no_programme$"):
            await reports.produce(1, REGIONAL, kind, "kharkiv", 2026, None, "uk")


async def test_the_next_programme_loaded_is_reported_on(
    sm: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    # A region adds its next programme as data/README.md says: another file in data/programmes/.
    reports = await service(sm, add_next_programme(tmp_path))
    await seed_2026(sm)
    async with sm() as session, session.begin():
        seminars = await _measure_of(session, "kharkiv-2026-2028", "2", "2")
        ev = _event(seminars, date(2026, 5, 20), 40, "kharkiv-izium")
        ev.programme_id = "kharkiv-2026-2028"
        session.add(ev)

    indicators = await reports.produce(1, REGIONAL, "indicators", "kharkiv", 2026, None, "uk")
    assert indicators.programme_id == "kharkiv-2026-2028" and "Програма 2026–2028" in indicators.subtitle
    assert _section(indicators, "Показники")["2.2.a"][2] == 1  # the new programme's event, not the old one's
    events = await reports.produce(1, REGIONAL, "events", "kharkiv", 2026, None, "uk")
    by_measure = _section(events, "заходами програми")
    assert sum(n for n, _p in by_measure.values()) == 2 and len(by_measure) == 2  # one in, one outside


async def _measure_of(session: AsyncSession, programme: str, task: str, number: str) -> int:
    found = await session.scalar(
        select(MeasureRow.id).where(
            MeasureRow.programme_id == programme, MeasureRow.task_number == task, MeasureRow.number == number
        )
    )
    assert found is not None
    return found


async def test_months_due_count_from_when_an_organisation_joined(
    sm: async_sessionmaker[AsyncSession],
) -> None:
    reports = await service(sm)
    await seed(sm)
    async with sm() as session, session.begin():
        joined = Organisation(name="Нова громада", kind="administration", oblast="kharkiv")
        joined.created_at = datetime(2024, 7, 10, tzinfo=UTC)
        session.add(joined)
    compliance = await reports.produce(1, REGIONAL, "compliance", PROGRAMME, 2024, None, "uk")
    by_org = _section(compliance, "суб’єктами")
    assert by_org["Нова громада"] == (0, 0, 6)  # July to December, not twelve
    assert by_org["Ізюмська РДА"] == (2, 0, 12)


async def test_the_reconciliation_report_has_both_explanations_and_the_date(
    sm: async_sessionmaker[AsyncSession],
) -> None:
    reports = await service(sm)
    async with sm() as session, session.begin():
        session.add(User(telegram_id=101))  # user 1: the coordinator asking, audited
        session.add(
            Reconciliation(
                oblast="kharkiv",
                quarter="2025-Q2",
                police_figures=json.dumps({"victims_total": 5}),
                region_figures=json.dumps({"victims_total": 4}),
                police_note="Одну особу встановлено після закриття кварталу",
                region_note="Звернення надійшло в липні",
                reconciled_at=datetime(2025, 7, 20, 9, 0, tzinfo=UTC),
            )
        )
    report = await reports.produce(1, REGIONAL, "reconciliation", PROGRAMME, 2025, None, "uk")
    assert _section(report, "кварталами")["2025-Q2"][-1] == "20.07.2025"
    explanations = next(s for s in report.sections if "Пояснення" in s.title)
    assert set(explanations.rows) == {
        ("2025-Q2", "Поліція", "Одну особу встановлено після закриття кварталу"),
        ("2025-Q2", "Область", "Звернення надійшло в липні"),
    }


async def test_notifications_and_reconciliations_are_counted_not_entered_by_hand(
    sm: async_sessionmaker[AsyncSession],
) -> None:
    reports = await service(sm)
    await seed(sm)  # 14 notifications filed in 2024 by the oblast's organisations; 2024-Q1 not reconciled
    async with sm() as session, session.begin():
        session.add(Reconciliation(oblast="kharkiv", quarter="2024-Q2", reconciled_at=NOW))
        session.add(Reconciliation(oblast="kharkiv", quarter="2024-Q3", reconciled_at=NOW))
    report = await reports.produce(1, REGIONAL, "indicators", PROGRAMME, 2024, None, "uk")
    rows = _section(report, "Показники")
    assert rows["5.2.a"][2:] == (14, None, "план на рік не визначено")
    assert rows["2.10.a"][1:] == (4, 2, 50.0, "відстає")


async def test_catalogue_load_checks_a_programme_file_and_adds_it(
    sm: async_sessionmaker[AsyncSession], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, following = next_programme(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(data))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KEY_FILE", str(tmp_path / "dovira.key"))
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    source = yaml.safe_load((DATA / "programmes" / "kharkiv-2023-2025.yaml").read_text(encoding="utf-8"))

    overlapping = tmp_path / "overlapping.yaml"  # 2025 is the running programme's
    moved = shifted(source, 2)
    assert isinstance(moved, dict)
    overlapping.write_text(yaml.safe_dump({**moved, "id": "kharkiv-2025-2027", "years": [2025, 2026, 2027]}))
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: kharkiv-x\nyears: soon\n")
    for refused in (overlapping, broken):
        assert await _in_thread(main, ["catalogue", "load", str(refused)]) == 2
    assert sorted(p.name for p in (data / "programmes").glob("*.yaml")) == [
        "kharkiv-2023-2025.yaml",
        "zhytomyr-2021.yaml",
    ]

    new_file = tmp_path / "next.yaml"
    new_file.write_text(yaml.safe_dump(following, allow_unicode=True), encoding="utf-8")
    assert await _in_thread(main, ["catalogue", "load", str(new_file)]) == 0
    assert (data / "programmes" / "kharkiv-2026-2028.yaml").exists()
    async with sm() as session:  # in the database, for events to be logged against its measures
        loaded = select(MeasureRow.id).where(MeasureRow.programme_id == "kharkiv-2026-2028")
        assert await session.scalar(loaded) is not None
    reports = await service(sm, data)  # what the bot builds at its next start
    assert reports.programme_in_force("kharkiv", 2026) is not None


async def test_specialists_log_against_the_programme_in_force(
    sm: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    # With the next programme loaded, its measures are the ones offered from its first year; until then,
    # the running programme's: never both, which would list every measure twice.
    await service(sm, add_next_programme(tmp_path))
    for now, programme in ((datetime(2025, 12, 31, 12, tzinfo=UTC), PROGRAMME), (NOW, "kharkiv-2026-2028")):
        events = EventService(sm, clock=lambda now=now: now)  # type: ignore[misc]
        offered = await events.measures("kharkiv")
        assert offered and {m.programme_id for m in offered} == {programme}
