"""Quarterly reconciliation on the real database: figures that contradict themselves are refused,
discrepancies are listed, corrected or explained, and the quarter is reconciled when both confirm."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from bot.services.reconciliation import (
    FIELDS,
    ReconciliationError,
    ReconciliationService,
    previous_quarter,
    quarter_of,
)
from bot.services.staff import AccessDenied, Role, StaffRole
from db.engine import create_engine, create_sessionmaker
from db.migrate import upgrade_to_head
from db.models import User

POLICE = [StaffRole(Role.POLICE, 1, "kharkiv", None)]
REGION = [StaffRole(Role.COORDINATOR, None, "kharkiv", None)]
FIGURES = dict(zip(FIELDS, (10, 6, 4, 8, 2, 5, 4, 1, 3, 2, 9), strict=True))


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[tuple[ReconciliationService, int, int]]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        police, region = User(telegram_id=4001, roles=[]), User(telegram_id=2001, roles=[])
        session.add_all([police, region])
        await session.flush()
        ids = (police.id, region.id)
    yield ReconciliationService(sessionmaker, clock=lambda: datetime(2026, 10, 2, 9, tzinfo=UTC)), *ids
    await engine.dispose()


async def test_a_discrepancy_is_corrected_then_both_confirm(
    service: tuple[ReconciliationService, int, int],
) -> None:
    rec, police_id, region_id = service
    await rec.enter(police_id, POLICE, "kharkiv", "2026-Q3", FIGURES)
    view = await rec.enter(region_id, REGION, "kharkiv", "2026-Q3", {**FIGURES, "statuses_granted": 3})
    assert view.discrepancies == [("statuses_granted", 2, 3)]
    with pytest.raises(ReconciliationError, match="explain_first"):
        await rec.confirm(police_id, POLICE, "kharkiv", "2026-Q3")
    view = await rec.enter(region_id, REGION, "kharkiv", "2026-Q3", FIGURES)  # the region corrects
    assert view.discrepancies == []
    view = await rec.confirm(police_id, POLICE, "kharkiv", "2026-Q3")
    assert view.police_confirmed and not view.reconciled
    view = await rec.confirm(region_id, REGION, "kharkiv", "2026-Q3")
    assert view.reconciled
    assert await rec.entries("kharkiv", "2026-Q3") == [
        ("police", "entered"),
        ("region", "entered"),
        ("region", "entered"),
        ("police", "confirmed"),
        ("region", "confirmed"),
        ("region", "reconciled"),
    ]
    with pytest.raises(ReconciliationError, match="already_reconciled"):
        await rec.enter(police_id, POLICE, "kharkiv", "2026-Q3", FIGURES)


async def test_an_explained_discrepancy_can_be_confirmed_and_new_figures_withdraw_confirmations(
    service: tuple[ReconciliationService, int, int],
) -> None:
    rec, police_id, region_id = service
    await rec.enter(police_id, POLICE, "kharkiv", "2026-Q3", FIGURES)
    await rec.enter(region_id, REGION, "kharkiv", "2026-Q3", {**FIGURES, "persons_assisted": 12})
    await rec.explain(
        region_id, REGION, "kharkiv", "2026-Q3", "Троє отримали допомогу без звернення до поліції"
    )
    view = await rec.confirm(region_id, REGION, "kharkiv", "2026-Q3")
    assert view.region_confirmed
    view = await rec.enter(police_id, POLICE, "kharkiv", "2026-Q3", {**FIGURES, "criminal_proceedings": 4})
    assert not view.region_confirmed and not view.police_confirmed  # new figures: confirm again


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"women": 7}, "sex_mismatch"),
        ({"children": 3}, "age_mismatch"),
        ({"labour": 11}, "part_exceeds_total"),
        ({"men": -1}, "bad_number"),
        ({"victims_total": 1_000_000}, "bad_number"),
    ],
)
async def test_figures_that_contradict_themselves_are_refused(
    service: tuple[ReconciliationService, int, int], change: dict[str, int], reason: str
) -> None:
    rec, police_id, _ = service
    with pytest.raises(ReconciliationError, match=reason):
        await rec.enter(police_id, POLICE, "kharkiv", "2026-Q3", {**FIGURES, **change})
    assert (await rec.view("kharkiv", "2026-Q3")).police is None  # nothing half-saved


async def test_only_the_two_sides_may_enter(service: tuple[ReconciliationService, int, int]) -> None:
    rec, police_id, _ = service
    for staff in (
        [StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-izium")],  # a district coordinator
        [StaffRole(Role.POLICE, 1, "zhytomyr", None)],
        [StaffRole(Role.SPECIALIST, 2, "kharkiv", None)],
    ):
        with pytest.raises(AccessDenied):
            await rec.enter(police_id, staff, "kharkiv", "2026-Q3", FIGURES)
    with pytest.raises(ReconciliationError, match="future_quarter"):
        await rec.enter(police_id, POLICE, "kharkiv", "2027-Q1", FIGURES)


def test_quarters() -> None:
    assert quarter_of(date(2026, 3, 31)) == "2026-Q1" and quarter_of(date(2026, 4, 1)) == "2026-Q2"
    assert (
        previous_quarter(date(2026, 1, 15)) == "2025-Q4" and previous_quarter(date(2026, 7, 1)) == "2026-Q2"
    )
