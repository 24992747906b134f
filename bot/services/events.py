"""Programme events: the catalogue in the database, events logged against measures, and the
indicators they feed. No Telegram types.

An event counts toward its measure's indicators automatically (one per event, or its participants)
through SQL aggregation; a correction or withdrawal writes a new version and keeps the old ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import DEFAULT_ZONE, local_date
from bot.services.catalogue import EventType, Feed, Indicator, Programme
from bot.services.staff import AccessDenied, Role, StaffRole
from db.models import AuditEntry, Event, EventVersion, IndicatorRow, MeasureRow, ProgrammeRow

MAX_PARTICIPANTS = 100_000
MAX_COST = Decimal("100000000")  # UAH; beyond this a typo is more likely than a real event
BREAKDOWN_GROUPS = ("specialists", "pupils", "idps", "others")
# As humanitarian reporting counts people: girls/boys 0-17, women/men 18-59, 60+; then, of all of
# them, persons with disability and IDPs (these two overlap the others).
HUMANITARIAN_GROUPS = ("girls", "boys", "women", "men", "elderly", "disability", "idps")
_HUMANITARIAN_OF_WHICH = ("disability", "idps")


def breakdown_fits(breakdown: dict[str, int], participants: int) -> bool:
    """Counts are non-negative, of known groups, and no more people than took part."""
    if any(v < 0 for v in breakdown.values()):
        return False
    if set(breakdown) <= set(BREAKDOWN_GROUPS):
        return sum(breakdown.values()) <= participants
    if set(breakdown) <= set(HUMANITARIAN_GROUPS):
        by_age = sum(v for k, v in breakdown.items() if k not in _HUMANITARIAN_OF_WHICH)
        return by_age <= participants and all(
            breakdown.get(k, 0) <= participants for k in _HUMANITARIAN_OF_WHICH
        )
    return False


FUNDING_SOURCES = ("state", "oblast", "local", "other", "none")


class EventError(Exception):
    """A refused event; str() is the i18n key of the explanation."""


@dataclass
class EventDraft:
    measure_id: int
    event_type: str
    held_on: date
    district: str | None
    participants: int
    community: str | None = None
    breakdown: dict[str, int] = field(default_factory=dict)
    cost: str | None = None
    funding_source: str | None = None
    attachment_file_id: str | None = None
    attachment_kind: str | None = None


@dataclass(frozen=True)
class MeasureView:
    id: int
    programme_id: str
    task_number: str
    number: str
    title: str
    event_types: tuple[str, ...]


@dataclass(frozen=True)
class Progress:
    indicator_id: int
    key: str
    name: str
    unit: str | None
    feed: str
    target: Decimal | None
    actual: Decimal

    @property
    def percent(self) -> float | None:
        return float(self.actual / self.target * 100) if self.target else None


def _dec(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


async def sync_catalogue(session: AsyncSession, programmes: Sequence[Programme]) -> None:
    """Make the database's catalogue match the files: insert new, update changed, keep ids stable."""
    for programme in programmes:
        row = await session.get(ProgrammeRow, programme.id)
        if row is None:
            row = ProgrammeRow(id=programme.id)
            session.add(row)
        row.oblast, row.title_uk, row.title_en = programme.oblast, programme.title.uk, programme.title.en
        row.first_year, row.last_year = min(programme.years), max(programme.years)
        await session.flush()
        existing = {
            (m.task_number, m.number): m
            for m in await session.scalars(select(MeasureRow).where(MeasureRow.programme_id == programme.id))
        }
        indicators = {
            i.key: i
            for i in await session.scalars(
                select(IndicatorRow).where(IndicatorRow.programme_id == programme.id)
            )
        }

        for item in programme.indicators:
            _upsert_indicator(session, indicators, programme.id, item, None)
        for task, measure in programme.measures():
            m = existing.get((task.number, measure.number))
            if m is None:
                m = MeasureRow(programme_id=programme.id, task_number=task.number, number=measure.number)
                session.add(m)
            m.task_title, m.title = task.title, measure.title
            m.event_types = ",".join(t.value for t in measure.event_types)
            await session.flush()
            for item in measure.indicators:
                _upsert_indicator(session, indicators, programme.id, item, m.id)


def _upsert_indicator(
    session: AsyncSession,
    known: dict[str, IndicatorRow],
    programme_id: str,
    item: Indicator,
    measure_id: int | None,
) -> None:
    row = known.get(item.id)
    if row is None:
        row = known[item.id] = IndicatorRow(programme_id=programme_id, key=item.id)
        session.add(row)
    row.measure_id, row.name, row.unit, row.feed = measure_id, item.name, item.unit, item.feed.value
    row.total = str(item.total) if item.total is not None else None
    row.by_year = json.dumps({str(y): (str(v) if v is not None else None) for y, v in item.by_year.items()})


class EventService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timezone: str = DEFAULT_ZONE,
    ) -> None:
        self._sm = sessionmaker
        self.clock = clock
        self.timezone = timezone

    def today(self) -> date:
        """Kyiv's date: "today" for an event held at 00:30 in Kharkiv is that day, not UTC's yesterday."""
        return local_date(self.clock(), self.timezone)

    # --- catalogue ---------------------------------------------------------------------------
    async def programmes_for(self, oblast: str) -> list[tuple[str, str, int, int]]:
        async with self._sm() as session:
            rows = await session.scalars(select(ProgrammeRow).where(ProgrammeRow.oblast == oblast))
            return [(p.id, p.title_uk, p.first_year, p.last_year) for p in rows]

    async def _current_programme(self, oblast: str) -> str | None:
        programmes = await self.programmes_for(oblast)
        begun = [p for p in programmes if p[2] <= self.today().year] or programmes
        return max(begun, key=lambda p: p[2])[0] if begun else None

    async def measures(
        self,
        oblast: str,
        event_type: str | None = None,
        query: str | None = None,
        organisation_id: int | None = None,
    ) -> list[MeasureView]:
        """Measures of the oblast's current programme (the latest to have begun by this year, so that a
        region's next programme takes over in its first year and a finished one stays until then), filtered
        by text; suggested first: those that list `event_type`, then those the organisation has logged
        events against most."""
        used: dict[int, int] = {}
        current = await self._current_programme(oblast)
        async with self._sm() as session:
            if organisation_id is not None:
                used = dict(
                    (
                        await session.execute(
                            select(Event.measure_id, func.count(Event.id))
                            .where(Event.organisation_id == organisation_id, Event.status == "active")
                            .group_by(Event.measure_id)
                        )
                    ).all()
                )
            rows = (
                (
                    await session.execute(
                        select(MeasureRow)
                        .join(ProgrammeRow)
                        .where(ProgrammeRow.oblast == oblast, ProgrammeRow.id == current)
                        .order_by(MeasureRow.id)
                    )
                )
                .scalars()
                .all()
            )
        views = [
            MeasureView(
                m.id,
                m.programme_id,
                m.task_number,
                m.number,
                m.title,
                tuple(t for t in m.event_types.split(",") if t),
            )
            for m in rows
        ]
        if query:
            needle = query.casefold()
            views = [
                v for v in views if needle in v.title.casefold() or needle == f"{v.task_number}.{v.number}"
            ]
        views.sort(key=lambda v: (bool(event_type) and event_type not in v.event_types, -used.get(v.id, 0)))
        return views

    # --- events ------------------------------------------------------------------------------
    @staticmethod
    def _author_org(staff: Sequence[StaffRole]) -> StaffRole:
        for role in staff:
            if role.role in (Role.SPECIALIST, Role.COORDINATOR) and role.oblast:
                return role
        raise AccessDenied("event.log")

    async def _validate(self, session: AsyncSession, author: StaffRole, draft: EventDraft) -> MeasureRow:
        measure = await session.get(MeasureRow, draft.measure_id)
        programme = await session.get(ProgrammeRow, measure.programme_id) if measure else None
        if measure is None or programme is None or programme.oblast != author.oblast:
            raise EventError("event.bad_measure")
        if draft.event_type not in {t.value for t in EventType}:
            raise EventError("event.bad_type")
        self._check_held_on(draft.held_on, programme.first_year)
        if not 0 <= draft.participants <= MAX_PARTICIPANTS:
            raise EventError("event.participants_range")
        if not breakdown_fits(draft.breakdown, draft.participants):
            raise EventError("event.breakdown_exceeds")
        if draft.cost is not None:
            cost = _dec(draft.cost)
            if cost is None or cost < 0 or cost > MAX_COST:
                raise EventError("event.bad_cost")
        if draft.funding_source is not None and draft.funding_source not in FUNDING_SOURCES:
            raise EventError("event.bad_funding")
        return measure

    async def log(self, actor_id: int, staff: Sequence[StaffRole], draft: EventDraft) -> int:
        author = self._author_org(staff)
        async with self._sm() as session, session.begin():
            measure = await self._validate(session, author, draft)
            event = Event(
                programme_id=measure.programme_id,
                measure_id=measure.id,
                organisation_id=author.organisation_id,
                author_id=actor_id,
                event_type=draft.event_type,
                held_on=draft.held_on,
                oblast=author.oblast or "",
                district=draft.district,
                community=draft.community,
                participants=draft.participants,
                breakdown=json.dumps(draft.breakdown),
                cost=draft.cost,
                funding_source=draft.funding_source,
                attachment_file_id=draft.attachment_file_id,
                attachment_kind=draft.attachment_kind,
                created_at=self.clock(),
            )
            session.add(event)
            await session.flush()
            self._version(session, event, "logged", actor_id)
            return event.id

    def _version(self, session: AsyncSession, event: Event, action: str, actor_id: int) -> None:
        snapshot = {
            "measure_id": event.measure_id,
            "event_type": event.event_type,
            "held_on": event.held_on.isoformat(),
            "district": event.district,
            "participants": event.participants,
            "breakdown": json.loads(event.breakdown),
            "cost": event.cost,
            "funding_source": event.funding_source,
            "status": event.status,
        }
        session.add(
            EventVersion(
                event_id=event.id,
                version=event.version,
                action=action,
                snapshot=json.dumps(snapshot, ensure_ascii=False),
                actor_id=actor_id,
                at=self.clock(),
            )
        )
        session.add(
            AuditEntry(
                at=self.clock(), actor_id=actor_id, action=f"event.{action}", detail=f"event={event.id}"
            )
        )

    async def _own(self, session: AsyncSession, actor_id: int, event_id: int) -> Event:
        event = await session.get(Event, event_id, with_for_update=True)
        if event is None or event.author_id != actor_id:
            raise AccessDenied("event.edit")
        if event.status != "active":
            raise EventError("event.already_withdrawn")
        return event

    async def correct(
        self, actor_id: int, staff: Sequence[StaffRole], event_id: int, draft: EventDraft
    ) -> None:
        """The author corrects their event: a new version; the old one stays in the history."""
        author = self._author_org(staff)
        async with self._sm() as session, session.begin():
            event = await self._own(session, actor_id, event_id)
            measure = await self._validate(session, author, draft)
            event.programme_id, event.measure_id, event.event_type = (
                measure.programme_id,
                measure.id,
                draft.event_type,
            )
            event.held_on, event.district, event.community = draft.held_on, draft.district, draft.community
            event.participants, event.breakdown = draft.participants, json.dumps(draft.breakdown)
            event.cost, event.funding_source = draft.cost, draft.funding_source
            event.version += 1
            self._version(session, event, "corrected", actor_id)

    async def withdraw(self, actor_id: int, event_id: int) -> None:
        async with self._sm() as session, session.begin():
            event = await self._own(session, actor_id, event_id)
            event.status = "withdrawn"
            event.version += 1
            self._version(session, event, "withdrawn", actor_id)

    async def draft_of(self, actor_id: int, event_id: int) -> EventDraft:
        async with self._sm() as session:
            event = await session.get(Event, event_id)
            if event is None or event.author_id != actor_id:
                raise AccessDenied("event.read")
            return EventDraft(
                event.measure_id,
                event.event_type,
                event.held_on,
                event.district,
                event.participants,
                event.community,
                json.loads(event.breakdown),
                event.cost,
                event.funding_source,
                event.attachment_file_id,
                event.attachment_kind,
            )

    def _check_held_on(self, held_on: date, first_year: int | None) -> None:
        """Not after Kyiv's today (self.today(), not the UTC date: from 22:00 UTC Kyiv is a day ahead), nor
        before the first year of the measure's programme."""
        if held_on > self.today():
            raise EventError("event.date_future")
        if first_year is not None and held_on < date(first_year, 1, 1):
            raise EventError("event.date_before_programme")

    async def check_held_on(self, measure_id: int, held_on: date) -> None:
        """The date rule of `log`, asked by the dialog while the date can still be typed again."""
        async with self._sm() as session:
            first_year = await session.scalar(
                select(ProgrammeRow.first_year).join(MeasureRow).where(MeasureRow.id == measure_id)
            )
        self._check_held_on(held_on, first_year)

    async def of_author(self, actor_id: int) -> list[tuple[int, date, str, int, str]]:
        """(id, date, type, participants, status) of the author's events, newest first."""
        async with self._sm() as session:
            rows = await session.scalars(
                select(Event)
                .where(Event.author_id == actor_id)
                .order_by(Event.held_on.desc(), Event.id.desc())
                .limit(50)
            )
            return [(e.id, e.held_on, e.event_type, e.participants, e.status) for e in rows]

    async def in_scope(
        self, staff: Sequence[StaffRole], limit: int = 20
    ) -> tuple[list[tuple[date, str, int, str | None, str]], int]:
        """Events in a coordinator's scope, newest first: (date, type, participants, district, measure)."""
        scopes = [r for r in staff if r.role == Role.COORDINATOR and r.oblast]
        if not scopes:
            raise AccessDenied("event.scope")
        conditions = [
            and_(Event.oblast == r.oblast, Event.district == r.district)
            if r.district
            else Event.oblast == r.oblast
            for r in scopes
        ]
        query = select(Event, MeasureRow).join(MeasureRow).where(or_(*conditions), Event.status == "active")
        async with self._sm() as session:
            total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
            rows = (
                await session.execute(query.order_by(Event.held_on.desc(), Event.id.desc()).limit(limit))
            ).all()
            return [
                (e.held_on, e.event_type, e.participants, e.district, f"{m.task_number}.{m.number}")
                for e, m in rows
            ], total

    async def history(self, event_id: int) -> list[tuple[int, str, dict[str, object]]]:
        async with self._sm() as session:
            rows = await session.scalars(
                select(EventVersion).where(EventVersion.event_id == event_id).order_by(EventVersion.version)
            )
            return [(v.version, v.action, json.loads(v.snapshot)) for v in rows]

    # --- indicators --------------------------------------------------------------------------
    async def progress(self, programme_id: str, year: int, district: str | None = None) -> list[Progress]:
        """Each indicator's target for the year and what the logged events add up to, in SQL."""
        start, end = date(year, 1, 1), date(year, 12, 31)
        async with self._sm() as session:
            conditions = [
                Event.status == "active",
                Event.held_on >= start,
                Event.held_on <= end,
                Event.programme_id == programme_id,
            ]
            if district is not None:
                conditions.append(Event.district == district)
            per_measure = {
                m: (n, p)
                for m, n, p in (
                    await session.execute(
                        select(
                            Event.measure_id,
                            func.count(Event.id),
                            func.coalesce(func.sum(Event.participants), 0),
                        )
                        .where(*conditions)
                        .group_by(Event.measure_id)
                    )
                ).all()
            }
            indicators = await session.scalars(
                select(IndicatorRow)
                .where(IndicatorRow.programme_id == programme_id)
                .order_by(IndicatorRow.id)
            )
            result = []
            for ind in indicators:
                count, participants = per_measure.get(ind.measure_id, (0, 0)) if ind.measure_id else (0, 0)
                actual = {Feed.PER_EVENT.value: count, Feed.PARTICIPANTS.value: participants}.get(ind.feed, 0)
                target = _dec(json.loads(ind.by_year).get(str(year)))
                result.append(
                    Progress(ind.id, ind.key, ind.name, ind.unit, ind.feed, target, Decimal(actual))
                )
            return result

    @staticmethod
    def as_dict(draft: EventDraft) -> dict[str, Any]:
        data = asdict(draft)
        data["held_on"] = draft.held_on.isoformat()
        return data
