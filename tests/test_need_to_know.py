"""Need to know in the service (bot/services/cases.py), whoever calls it: content for the owner only,
break-glass and reassignment for oblast-wide coordinators only, referrals only inside the case's area."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.services.cases import BREAK_GLASS_REASON_LIMIT, CaseError
from bot.services.staff import AccessDenied, Role, StaffRole, serves_area
from bot.settings import Settings
from db.models import AuditEntry, Case, CaseEvent, Organisation, Referral
from tests.test_case_rules import COORD, REGIONAL, add_staff, draft

IZIUM = StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-izium")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    built = await build_app(settings)
    yield built
    await built.close()


async def audit(app: App, case_id: int | None = None) -> list[tuple[str, int | None, str | None]]:
    async with app.sessionmaker() as session:
        query = select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.detail).order_by(AuditEntry.id)
        if case_id is not None:
            query = query.where(AuditEntry.case_id == case_id)
        return [(a, actor, d) for a, actor, d in (await session.execute(query)).all()]


async def organisation(app: App, oblast: str, district: str | None, kind: str = "social_services") -> int:
    async with app.sessionmaker() as session, session.begin():
        org = Organisation(name=f"{oblast} {district}", kind=kind, oblast=oblast, district=district)
        session.add(org)
        await session.flush()
        return org.id


async def test_only_the_owner_reads_the_content_others_in_scope_get_the_minimum(app: App) -> None:
    owner = await add_staff(app, 2001, COORD)
    colleague = await add_staff(app, 2002, COORD)
    regional = await add_staff(app, 2003, REGIONAL)
    case = await app.cases.create(draft(phone="+380671234567", contact="phone", age_group="18-29"), 1001)

    for actor, staff in ((owner, COORD), (colleague, COORD), (regional, REGIONAL)):
        card = await app.cases.card(actor, [staff], case.id)  # new: nobody's yet
        assert not card.content_shown and card.description is None and card.phone is None
        assert card.age_group == "18-29" and card.summary.code == case.code
    await app.cases.accept(owner, [COORD], case.id)
    await app.cases.citizen_message(1001, case.id, "таємне повідомлення", None)
    await app.cases.record_victim_status(
        owner, [COORD], case.id, applied_on=case.created_at, decision="pending", decided_on=None
    )

    mine = await app.cases.card(owner, [COORD], case.id)
    assert mine.content_shown and mine.description == "опис" and mine.phone == "+380671234567"
    assert [m[2] for m in mine.messages] == ["таємне повідомлення"] and mine.victim_status[1] == "pending"
    for actor, staff in ((colleague, COORD), (regional, REGIONAL)):
        card = await app.cases.card(actor, [staff], case.id)
        assert not card.content_shown and not card.owner_is_me
        assert (card.description, card.phone, card.messages, card.timeline) == (None, None, (), ())
        assert card.victim_status == (None, None, None) and card.referrals == () and card.sex is None
    assert not (await app.cases.card(colleague, [COORD], case.id)).may_break_glass
    regional_card = await app.cases.card(regional, [REGIONAL], case.id)
    assert regional_card.may_break_glass and regional_card.may_reassign

    rows = await audit(app, case.id)
    reads = [actor for action, actor, _d in rows if action == "case.read"]
    views = [actor for action, actor, _d in rows if action == "case.view"]
    assert reads == [owner] and sorted(set(views)) == sorted({owner, colleague, regional})


async def test_break_glass_is_for_oblast_wide_coordinators_with_a_reason(app: App) -> None:
    owner = await add_staff(app, 2001, COORD)
    colleague = await add_staff(app, 2002, COORD)
    regional = await add_staff(app, 2003, REGIONAL)
    case = await app.cases.create(draft(), 1001)

    # Nobody owns it yet: break-glass opens it, and there is no owner to tell.
    card, told = await app.cases.break_glass(regional, [REGIONAL], case.id, "перевірка  терміново")
    assert card.content_shown and card.description == "опис" and told is None

    await app.cases.accept(owner, [COORD], case.id)
    with pytest.raises(AccessDenied):
        await app.cases.break_glass(colleague, [COORD], case.id, "хочу подивитися")
    for reason in ("", "   \n "):
        with pytest.raises(CaseError, match=r"^access\.reason_empty$"):
            await app.cases.break_glass(regional, [REGIONAL], case.id, reason)
    with pytest.raises(CaseError, match=r"^access\.reason_too_long$"):
        await app.cases.break_glass(regional, [REGIONAL], case.id, "я" * (BREAK_GLASS_REASON_LIMIT + 1))
    longest = "я" * BREAK_GLASS_REASON_LIMIT
    card, told = await app.cases.break_glass(regional, [REGIONAL], case.id, longest)
    assert card.description == "опис" and told == 2001
    # An oblast-wide coordinator of another oblast: out of scope.
    with pytest.raises(AccessDenied):
        await app.cases.break_glass(
            regional, [StaffRole(Role.COORDINATOR, None, "zhytomyr", None)], case.id, "x"
        )

    rows = await audit(app)
    glass = [(actor, d) for action, actor, d in rows if action == "case.break_glass"]
    assert glass == [(regional, "перевірка терміново"), (regional, longest)]
    denied = [actor for action, actor, _d in rows if action == "denied.case.break_glass"]
    assert denied == [colleague, regional]  # recorded by the service, once each
    async with app.sessionmaker() as session:
        kinds = list(await session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)))
    assert kinds.count("break_glass") == 2


async def test_reassignment_by_an_oblast_wide_coordinator_within_the_case_scope(app: App) -> None:
    owner = await add_staff(app, 2001, COORD)
    colleague = await add_staff(app, 2002, COORD)
    izium = await add_staff(app, 2004, IZIUM)
    regional = await add_staff(app, 2003, REGIONAL)
    case = await app.cases.create(draft(), 1001)

    with pytest.raises(CaseError, match=r"^access\.reassign_not_open$"):  # new: accepting is theirs
        await app.cases.reassign(regional, [REGIONAL], case.id, colleague)
    await app.cases.accept(owner, [COORD], case.id)
    with pytest.raises(AccessDenied):  # a district coordinator may not, even to a coordinator in scope
        await app.cases.reassign(colleague, [COORD], case.id, regional)
    with pytest.raises(AccessDenied):
        await app.cases.reassign_candidates(colleague, [COORD], case.id)
    with pytest.raises(AccessDenied):  # the Izium district's coordinator does not cover the case
        await app.cases.reassign(regional, [REGIONAL], case.id, izium)
    with pytest.raises(AccessDenied):  # a forged user id
        await app.cases.reassign(regional, [REGIONAL], case.id, 99_999)
    with pytest.raises(CaseError, match=r"^access\.reassign_same_owner$"):
        await app.cases.reassign(regional, [REGIONAL], case.id, owner)
    offered = await app.cases.reassign_candidates(regional, [REGIONAL], case.id)
    assert [c.user_id for c in offered] == [colleague]  # not the owner, not Izium, not oneself

    summary, new_owner, previous = await app.cases.reassign(regional, [REGIONAL], case.id, colleague)
    assert (summary.status, new_owner, previous) == ("accepted", 2002, 2001)
    assert (await app.cases.card(colleague, [COORD], case.id)).content_shown
    assert not (await app.cases.card(owner, [COORD], case.id)).content_shown
    async with app.sessionmaker() as session:
        assert await session.scalar(select(Case.owner_id).where(Case.id == case.id)) == colleague
    rows = await audit(app, case.id)
    assert ("case.reassign", regional, f"from={owner} to={colleague}") in rows
    assert [a for a, _actor, _d in rows if a == "denied.case.reassign"] == ["denied.case.reassign"] * 4


def test_the_area_rule_of_referrals() -> None:
    assert serves_area("kharkiv", None, "kharkiv", "kharkiv-izium")  # region-wide organisation
    assert serves_area("kharkiv", "kharkiv-izium", "kharkiv", None)  # the case's district unknown
    assert serves_area("kharkiv", "kharkiv-izium", "kharkiv", "kharkiv-izium")
    assert not serves_area("kharkiv", "kharkiv-izium", "kharkiv", "kharkiv-bohodukhiv")
    assert not serves_area("zhytomyr", None, "kharkiv", "kharkiv-izium")
    assert not serves_area("zhytomyr", None, "kharkiv", None)


async def test_a_referral_outside_the_case_area_is_refused_by_the_service_and_audited(app: App) -> None:
    owner = await add_staff(app, 2001, COORD)
    elsewhere = await organisation(app, "kharkiv", "kharkiv-izium")
    other_oblast = await organisation(app, "zhytomyr", None)
    regionwide = await organisation(app, "kharkiv", None)
    own_district = await organisation(app, "kharkiv", "kharkiv-bohodukhiv")
    case = await app.cases.create(draft(), 1001)
    await app.cases.accept(owner, [COORD], case.id)

    for org_id in (elsewhere, other_oblast):
        with pytest.raises(AccessDenied):
            await app.cases.refer(owner, [COORD], case.id, org_id)
    offered = {o.id for o in await app.staff.organisations("kharkiv", "kharkiv-bohodukhiv")}
    assert offered == {regionwide, own_district}  # the same rule lists what is offered
    await app.cases.refer(owner, [COORD], case.id, own_district)
    await app.cases.refer(owner, [COORD], case.id, regionwide)

    # A case whose district the person did not say: any organisation of its oblast.
    unknown = await app.cases.create(draft(district=None), 1002)
    await app.cases.accept(owner, [REGIONAL], unknown.id)
    await app.cases.refer(owner, [REGIONAL], unknown.id, elsewhere)
    with pytest.raises(AccessDenied):
        await app.cases.refer(owner, [REGIONAL], unknown.id, other_oblast)

    rows = await audit(app)
    denied = [(a, d) for a, _actor, d in rows if a.startswith("denied.")]
    assert denied == [
        ("denied.refer.outside_area", f"org={elsewhere}"),
        ("denied.refer.outside_area", f"org={other_oblast}"),
        ("denied.refer.outside_area", f"org={other_oblast}"),
    ]
    async with app.sessionmaker() as session:
        sent = set(await session.scalars(select(Referral.organisation_id)))
    assert sent == {own_district, regionwide, elsewhere}
