"""A request from another oblast, from abroad, or from someone who would rather not say where: it goes to
the oblast-wide coordinators of every oblast, any of them may take it, and a district coordinator never
sees it."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from bot.app import App
from bot.services.cases import Status
from bot.services.places import ABROAD, NOT_SAID, OTHER_OBLAST
from bot.services.staff import AccessDenied, Role, StaffRole, serves_area
from db.models import Organisation, UserRole
from tests.test_case_rules import COORD, REGIONAL, add_staff, app, draft

__all__ = ["app"]  # the fixture, imported for these tests

ZHYTOMYR_REGIONAL = StaffRole(Role.COORDINATOR, None, "zhytomyr", None)
ZHYTOMYR_DISTRICT = StaffRole(Role.COORDINATOR, None, "zhytomyr", "zhytomyr-berdychiv")


def test_an_outside_case_is_in_the_scope_of_every_oblast_wide_coordinator_only() -> None:
    for code in (OTHER_OBLAST, ABROAD, NOT_SAID):
        assert REGIONAL.covers(code, None) and ZHYTOMYR_REGIONAL.covers(code, None)
        assert not COORD.covers(code, None) and not ZHYTOMYR_DISTRICT.covers(code, None)
    # an oblast's own cases stay its own
    assert not ZHYTOMYR_REGIONAL.covers("kharkiv", None)


def test_an_outside_case_may_go_to_any_region_wide_organisation() -> None:
    assert serves_area("zhytomyr", None, ABROAD, None) and serves_area("kharkiv", None, ABROAD, None)
    assert not serves_area("kharkiv", "kharkiv-izium", ABROAD, None)


@pytest.mark.parametrize("code", [OTHER_OBLAST, ABROAD, NOT_SAID])
async def test_an_outside_case_reaches_every_oblast_wide_coordinator_and_one_owns_it(
    app: App, code: str
) -> None:
    kharkiv_id = await add_staff(app, 2001, REGIONAL)
    zhytomyr_id = await add_staff(app, 2002, ZHYTOMYR_REGIONAL)
    district_id = await add_staff(app, 2003, COORD)
    case = await app.cases.create(draft(oblast=code, district=None), 1001)

    assert await app.cases.coordinators_for(code, None) == [2001, 2002]
    assert await app.cases.coordinators_for(code, None, regional_only=True) == [2001, 2002]
    for staff in ([REGIONAL], [ZHYTOMYR_REGIONAL]):
        listed, total = await app.cases.list_for_coordinator(staff, None, 0)
        assert total == 1 and listed[0].id == case.id
    assert await app.cases.list_for_coordinator([COORD], None, 0) == ([], 0)
    with pytest.raises(AccessDenied):
        await app.cases.accept(district_id, [COORD], case.id)

    await app.cases.accept(zhytomyr_id, [ZHYTOMYR_REGIONAL], case.id)
    card = await app.cases.card(zhytomyr_id, [ZHYTOMYR_REGIONAL], case.id)
    assert card.content_shown
    # the other oblast's coordinator sees the minimum, may hand it over or break the glass
    other = await app.cases.card(kharkiv_id, [REGIONAL], case.id)
    assert not other.content_shown and other.may_reassign and other.may_break_glass
    # neither the actor nor the owner is a candidate; the district coordinator does not cover it
    assert await app.cases.reassign_candidates(kharkiv_id, [REGIONAL], case.id) == []
    # the owner keeps it while an oblast-wide role is held; it is released when the role goes
    assert await app.cases.release_orphans() == []
    async with app.sessionmaker() as session, session.begin():
        await session.execute(delete(UserRole).where(UserRole.user_id == zhytomyr_id))
    released = await app.cases.release_orphans()
    assert [c.id for c in released] == [case.id] and released[0].status == Status.NEW


async def test_an_outside_case_may_be_referred_to_a_region_wide_organisation(app: App) -> None:
    owner = await add_staff(app, 2001, REGIONAL)
    async with app.sessionmaker() as session, session.begin():
        org = Organisation(name="Центр", kind="social_services", oblast="zhytomyr", district=None)
        local = Organisation(
            name="Районний", kind="social_services", oblast="kharkiv", district="kharkiv-izium"
        )
        session.add_all([org, local])
    offered = await app.staff.organisations(ABROAD, None)
    assert [o.name for o in offered] == ["Центр"]
    case = await app.cases.create(draft(oblast=ABROAD, district=None, consent_orgs=True), 1001)
    await app.cases.accept(owner, [REGIONAL], case.id)
    _summary, _recipients = await app.cases.refer(owner, [REGIONAL], case.id, org.id)
