"""Event rules on the real database: what is refused, and indicators counted in SQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.services.events import EventDraft, EventError
from bot.services.staff import AccessDenied, Role, StaffRole
from bot.settings import Settings
from db.models import MeasureRow, User

KHARKIV = StaffRole(Role.SPECIALIST, None, "kharkiv", None)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    built = await build_app(settings)
    built.events.clock = lambda: datetime(2024, 6, 1, 12, tzinfo=UTC)
    yield built
    await built.close()


async def _author(app: App) -> int:
    async with app.sessionmaker() as session, session.begin():
        user = User(telegram_id=3001, roles=[])
        session.add(user)
        await session.flush()
        return user.id


async def _measure(app: App, programme: str, task: str, number: str) -> int:
    async with app.sessionmaker() as session:
        found = await session.scalar(
            select(MeasureRow.id).where(
                MeasureRow.programme_id == programme,
                MeasureRow.task_number == task,
                MeasureRow.number == number,
            )
        )
        assert found is not None
        return found


async def test_refusals(app: App) -> None:
    author = await _author(app)
    seminars = await _measure(app, "kharkiv-2023-2025", "2", "2")
    zhytomyr = await _measure(app, "zhytomyr-2021", "II.1", "1")

    def draft(**changes: object) -> EventDraft:
        base = EventDraft(
            measure_id=seminars,
            event_type="seminar",
            held_on=date(2024, 5, 1),
            district=None,
            participants=40,
        )
        for key, value in changes.items():
            setattr(base, key, value)
        return base

    cases = {
        "event.date_future": draft(held_on=date(2024, 6, 2)),
        "event.date_before_programme": draft(held_on=date(2022, 12, 31)),
        "event.participants_range": draft(participants=100_001),
        "event.bad_measure": draft(measure_id=zhytomyr),  # another oblast's programme
        "event.breakdown_exceeds": draft(breakdown={"pupils": 50}),
        "event.bad_cost": draft(cost="-1"),
        "event.bad_type": draft(event_type="party"),
    }
    for key, bad in cases.items():
        with pytest.raises(EventError, match=f"^{key.replace('.', '[.]')}$"):
            await app.events.log(author, [KHARKIV], bad)
    with pytest.raises(AccessDenied):
        await app.events.log(author, [StaffRole(Role.POLICE, None, "kharkiv", None)], draft())
    assert await app.events.of_author(author) == []  # nothing half-saved


async def test_indicators_count_in_sql_by_year_and_district(app: App) -> None:
    author = await _author(app)
    seminars = await _measure(app, "kharkiv-2023-2025", "2", "2")
    for held_on, district, people in (
        (date(2024, 3, 1), "kharkiv-izium", 20),
        (date(2024, 4, 1), None, 15),
        (date(2023, 9, 1), None, 7),
    ):
        await app.events.log(author, [KHARKIV], EventDraft(seminars, "seminar", held_on, district, people))
    by_key = {p.key: p for p in await app.events.progress("kharkiv-2023-2025", 2024)}
    assert (by_key["2.2.a"].actual, by_key["2.2.b"].actual) == (2, 35)
    assert by_key["2.2.a"].target == 4 and by_key["2.2.a"].percent == 50.0
    izium = {p.key: p.actual for p in await app.events.progress("kharkiv-2023-2025", 2024, "kharkiv-izium")}
    assert izium["2.2.b"] == 20


def test_breakdowns_the_programme_way_and_the_humanitarian_way() -> None:
    from bot.services.events import breakdown_fits

    assert breakdown_fits({"specialists": 10, "pupils": 20, "idps": 5, "others": 5}, 40)
    assert not breakdown_fits({"specialists": 10, "pupils": 20, "idps": 5, "others": 6}, 40)
    humanitarian = {"girls": 5, "boys": 5, "women": 12, "men": 8, "elderly": 2, "disability": 1, "idps": 30}
    assert breakdown_fits(humanitarian, 32)  # of whom IDPs overlap the age groups
    assert not breakdown_fits({**humanitarian, "idps": 33}, 32)
    assert not breakdown_fits({**humanitarian, "women": 13}, 32)
    assert not breakdown_fits({"girls": 1, "pupils": 1}, 10)  # the two ways are not mixed
    assert not breakdown_fits({"girls": -1}, 10)
