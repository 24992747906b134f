"""Quarterly reconciliation of victim statistics between the regional police and the regional
department of social protection (Kharkiv task 2, measure 10). No Telegram types.

Each side enters its figures; Dovira lines them up and lists every discrepancy; each side can correct
or explain; the quarter is reconciled when both have confirmed the figures as they now stand. New
figures from either side withdraw both confirmations. Every step is kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import DEFAULT_ZONE, local_date
from bot.services.staff import AccessDenied, Role, StaffRole
from db.models import AuditEntry, Reconciliation, ReconciliationEntry

# The figures, in the order people are asked for them.
FIELDS = (
    "victims_total",
    "women",
    "men",
    "adults",
    "children",
    "labour",
    "sexual",
    "other_exploitation",
    "criminal_proceedings",
    "statuses_granted",
    "persons_assisted",
)
SIDES = ("police", "region")
MAX_FIGURE = 100_000
NOTE_LIMIT = 1000
REMINDER_EVERY = 3  # days, until both sides confirm


class ReconciliationError(Exception):
    """Refused figures or step; str() is the i18n key of the reason."""


@dataclass(frozen=True)
class QuarterView:
    oblast: str
    quarter: str
    police: dict[str, int] | None
    region: dict[str, int] | None
    police_note: str | None
    region_note: str | None
    police_confirmed: bool
    region_confirmed: bool
    reconciled: bool

    @property
    def discrepancies(self) -> list[tuple[str, int, int]]:
        if self.police is None or self.region is None:
            return []
        return [(f, self.police[f], self.region[f]) for f in FIELDS if self.police[f] != self.region[f]]


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def previous_quarter(day: date) -> str:
    year, q = day.year, (day.month - 1) // 3 + 1
    return f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}"


def quarter_key(year: int, quarter: int) -> str:
    return f"{year}-Q{quarter}"


def last_working_day(year: int, quarter: int) -> date:
    """The quarter's last Monday-to-Friday. Public holidays are working days under martial law
    (since 24.02.2022), so only weekends are skipped."""
    first_of_next = date(year + 1, 1, 1) if quarter == 4 else date(year, quarter * 3 + 1, 1)
    day = first_of_next - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


@dataclass(frozen=True)
class ReconciliationDue:
    quarter: str
    opened_on: date
    reminder: int  # 0: the opening message; n: the n-th reminder (every 3 days after opening)


def reconciliation_due(today: date) -> ReconciliationDue:
    """The quarter to reconcile now: the latest one whose opening day (its last working day) has
    come. A bot that was down across a quarter's end opens that quarter on its first run."""
    quarter = (today.month - 1) // 3 + 1
    year = today.year
    opened = last_working_day(year, quarter)
    if opened > today:
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
        opened = last_working_day(year, quarter)
    return ReconciliationDue(quarter_key(year, quarter), opened, (today - opened).days // REMINDER_EVERY)


def check_figures(figures: dict[str, int]) -> None:
    """Figures that contradict themselves are refused with the reason."""
    if set(figures) != set(FIELDS) or any(
        not isinstance(v, int) or not 0 <= v <= MAX_FIGURE for v in figures.values()
    ):
        raise ReconciliationError("reconcile.bad_number")
    total = figures["victims_total"]
    if figures["women"] + figures["men"] != total:
        raise ReconciliationError("reconcile.sex_mismatch")
    if figures["adults"] + figures["children"] != total:
        raise ReconciliationError("reconcile.age_mismatch")
    if any(figures[f] > total for f in ("labour", "sexual", "other_exploitation", "statuses_granted")):
        raise ReconciliationError("reconcile.part_exceeds_total")


def speaks_for(role: StaffRole, side: str, oblast: str) -> bool:
    """The police liaison speaks for the police; a regional coordinator for the regional department."""
    if role.oblast != oblast:
        return False
    if side == "police":
        return role.role == Role.POLICE
    return role.role == Role.COORDINATOR and role.district is None


def side_of(staff: Sequence[StaffRole], oblast: str) -> str:
    for side in SIDES:
        if any(speaks_for(r, side, oblast) for r in staff):
            return side
    raise AccessDenied("reconcile")


def reconciling_oblast(staff: Sequence[StaffRole]) -> str:
    """The oblast this person reconciles for (as police liaison or regional coordinator)."""
    for role in staff:
        if role.oblast and any(speaks_for(role, side, role.oblast) for side in SIDES):
            return role.oblast
    raise AccessDenied("reconcile")


def other_side(side: str) -> str:
    return "region" if side == "police" else "police"


class ReconciliationService:
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
        return local_date(self.clock(), self.timezone)

    def due(self) -> ReconciliationDue:
        """The quarter to reconcile today (in the service's zone)."""
        return reconciliation_due(self.today())

    async def _quarter(self, session: AsyncSession, oblast: str, quarter: str) -> Reconciliation:
        row = await session.scalar(
            select(Reconciliation)
            .where(Reconciliation.oblast == oblast, Reconciliation.quarter == quarter)
            .with_for_update()
        )
        if row is None:
            row = Reconciliation(oblast=oblast, quarter=quarter)
            session.add(row)
            await session.flush()
        return row

    def _log(
        self,
        session: AsyncSession,
        row: Reconciliation,
        side: str,
        action: str,
        actor_id: int,
        figures: dict[str, int] | None = None,
        note: str | None = None,
    ) -> None:
        session.add(
            ReconciliationEntry(
                reconciliation_id=row.id,
                side=side,
                action=action,
                actor_id=actor_id,
                figures=json.dumps(figures) if figures else None,
                note=note,
                at=self.clock(),
            )
        )
        session.add(
            AuditEntry(
                at=self.clock(),
                actor_id=actor_id,
                action=f"reconcile.{action}",
                detail=f"{row.oblast} {row.quarter} {side}",
            )
        )

    async def enter(
        self, actor_id: int, staff: Sequence[StaffRole], oblast: str, quarter: str, figures: dict[str, int]
    ) -> QuarterView:
        """A side enters or corrects its figures; both confirmations are withdrawn."""
        side = side_of(staff, oblast)
        check_figures(figures)
        if quarter > quarter_of(self.today()):
            raise ReconciliationError("reconcile.future_quarter")
        async with self._sm() as session, session.begin():
            row = await self._quarter(session, oblast, quarter)
            if row.reconciled_at is not None:
                raise ReconciliationError("reconcile.already_reconciled")
            setattr(row, f"{side}_figures", json.dumps(figures))
            row.police_confirmed_at = row.region_confirmed_at = None
            self._log(session, row, side, "entered", actor_id, figures)
            return self._view(row)

    async def explain(
        self, actor_id: int, staff: Sequence[StaffRole], oblast: str, quarter: str, note: str
    ) -> QuarterView:
        side = side_of(staff, oblast)
        note = note.strip()
        if not note or len(note) > NOTE_LIMIT:
            raise ReconciliationError("reconcile.bad_note")
        async with self._sm() as session, session.begin():
            row = await self._quarter(session, oblast, quarter)
            setattr(row, f"{side}_note", note)
            self._log(session, row, side, "explained", actor_id, note=note)
            return self._view(row)

    async def confirm(
        self, actor_id: int, staff: Sequence[StaffRole], oblast: str, quarter: str
    ) -> QuarterView:
        """A side confirms the figures as they stand; both confirmed -> the quarter is reconciled.
        Discrepancies left standing need an explanation from the side confirming."""
        side = side_of(staff, oblast)
        async with self._sm() as session, session.begin():
            row = await self._quarter(session, oblast, quarter)
            view = self._view(row)
            if view.police is None or view.region is None:
                raise ReconciliationError("reconcile.other_side_missing")
            if view.discrepancies and not getattr(row, f"{side}_note"):
                raise ReconciliationError("reconcile.explain_first")
            setattr(row, f"{side}_confirmed_at", self.clock())
            self._log(session, row, side, "confirmed", actor_id)
            if row.police_confirmed_at and row.region_confirmed_at:
                row.reconciled_at = self.clock()
                self._log(session, row, side, "reconciled", actor_id)
            return self._view(row)

    async def view(self, oblast: str, quarter: str) -> QuarterView:
        async with self._sm() as session:
            row = await session.scalar(
                select(Reconciliation).where(
                    Reconciliation.oblast == oblast, Reconciliation.quarter == quarter
                )
            )
            return (
                self._view(row)
                if row
                else QuarterView(oblast, quarter, None, None, None, None, False, False, False)
            )

    async def history(self, oblast: str) -> list[QuarterView]:
        async with self._sm() as session:
            rows = await session.scalars(
                select(Reconciliation)
                .where(Reconciliation.oblast == oblast)
                .order_by(Reconciliation.quarter.desc())
            )
            return [self._view(r) for r in rows]

    async def entries(self, oblast: str, quarter: str) -> list[tuple[str, str]]:
        async with self._sm() as session:
            row = await session.scalar(
                select(Reconciliation).where(
                    Reconciliation.oblast == oblast, Reconciliation.quarter == quarter
                )
            )
            if row is None:
                return []
            found = await session.scalars(
                select(ReconciliationEntry)
                .where(ReconciliationEntry.reconciliation_id == row.id)
                .order_by(ReconciliationEntry.id)
            )
            return [(e.side, e.action) for e in found]

    @staticmethod
    def _view(row: Reconciliation) -> QuarterView:
        return QuarterView(
            row.oblast,
            row.quarter,
            json.loads(row.police_figures) if row.police_figures else None,
            json.loads(row.region_figures) if row.region_figures else None,
            row.police_note,
            row.region_note,
            row.police_confirmed_at is not None,
            row.region_confirmed_at is not None,
            row.reconciled_at is not None,
        )
