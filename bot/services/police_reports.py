"""Monthly notifications to the regional police HQ (Kharkiv task 5, measure 2): each reporting
organisation files, for each month, "nothing detected" or signals; the police liaison gets a digest
on the deadline and acknowledges it; coordinators see who filed. No Telegram types.

A month is filed once per organisation and then amended: every version is kept, encrypted (signal
descriptions are free text).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import DEFAULT_ZONE, local_date
from bot.services.crypto import Cipher
from bot.services.police_letter import SHIPPED_DATA, LetterTemplates
from bot.services.staff import AccessDenied, Role, StaffRole
from db.models import AuditEntry, DigestAck, Organisation, PoliceReport, PoliceReportVersion, PoliceSignal

SIGNAL_KINDS = ("threat", "offence", "persons")
EXPLOITATION_TYPES = ("labour", "sexual", "begging", "criminal", "organs", "other")
DESCRIPTION_LIMIT = 1000
DIGESTS_KEPT = 12  # the police liaison can get again the digest of any of the last 12 months


class ReportError(Exception):
    """A refused filing; str() is the i18n key of the explanation."""


@dataclass(frozen=True)
class Signal:
    kind: str
    exploitation: str
    district: str | None
    description: str
    added_in: int = 1  # the report's version that added it: above 1, an amendment (marked in the letter)


@dataclass(frozen=True)
class OrgStatus:
    organisation_id: int
    name: str
    state: str  # nil, signals, missing
    signals: tuple[Signal, ...] = ()
    version: int = 0


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(day: date) -> str:
    return month_key(date(day.year - 1, 12, 1) if day.month == 1 else date(day.year, day.month - 1, 1))


def recent_months(day: date, count: int) -> list[str]:
    """The month of `day` and the `count - 1` before it, newest first."""
    months = [month_key(day)]
    while len(months) < count:
        months.append(previous_month(date.fromisoformat(f"{months[-1]}-01")))
    return months


def parse_month(text: str) -> str | None:
    try:
        year, month = (int(p) for p in text.split("-"))
        return month_key(date(year, month, 1))
    except ValueError:
        return None


class PoliceReportService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cipher: Cipher,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timezone: str = DEFAULT_ZONE,
        data_dir: Path = SHIPPED_DATA,
    ) -> None:
        self._sm = sessionmaker
        self._cipher = cipher
        self.clock = clock
        self.timezone = timezone
        self.letters = LetterTemplates(sessionmaker, data_dir, clock=lambda: self.clock())

    def today(self) -> date:
        """Kyiv's date: the month a signal belongs to is the month people live in, not UTC's."""
        return local_date(self.clock(), self.timezone)

    @staticmethod
    def reporting_organisation(staff: Sequence[StaffRole]) -> StaffRole:
        for role in staff:
            if role.role == Role.SPECIALIST and role.organisation_id is not None:
                return role
        raise AccessDenied("police_report.file")

    def _check_month(self, month: str) -> None:
        current = month_key(self.today())
        if parse_month(month) != month or month > current:
            raise ReportError("police.month_future")

    def _validate(self, signals: Sequence[Signal]) -> None:
        for s in signals:
            if s.kind not in SIGNAL_KINDS or s.exploitation not in EXPLOITATION_TYPES:
                raise ReportError("police.bad_signal")
            if not s.description.strip() or len(s.description) > DESCRIPTION_LIMIT:
                raise ReportError("police.bad_description")

    async def file(
        self, actor_id: int, staff: Sequence[StaffRole], month: str, signals: Sequence[Signal]
    ) -> int:
        """File the month: no signals means "nothing detected". A second filing is refused."""
        role = self.reporting_organisation(staff)
        self._check_month(month)
        self._validate(signals)
        async with self._sm() as session, session.begin():
            exists = await session.scalar(
                select(PoliceReport.id).where(
                    PoliceReport.organisation_id == role.organisation_id, PoliceReport.month == month
                )
            )
            if exists is not None:
                raise ReportError("police.already_filed")
            report = PoliceReport(
                organisation_id=role.organisation_id,
                month=month,
                nil=not signals,
                filed_at=self.clock(),
                filed_by=actor_id,
            )
            session.add(report)
            await session.flush()
            self._add_signals(session, report, signals)
            await self._snapshot(session, report, actor_id)
            return report.id

    async def amend(
        self, actor_id: int, staff: Sequence[StaffRole], month: str, signals: Sequence[Signal]
    ) -> int:
        """Add signals to a filed month (a nil report becomes one with signals); a new version is kept."""
        role = self.reporting_organisation(staff)
        self._validate(signals)
        if not signals:
            raise ReportError("police.nothing_to_add")
        async with self._sm() as session, session.begin():
            report = await session.scalar(
                select(PoliceReport).where(
                    PoliceReport.organisation_id == role.organisation_id, PoliceReport.month == month
                )
            )
            if report is None:
                raise ReportError("police.not_filed")
            report.version += 1
            report.nil = False
            self._add_signals(session, report, signals)
            await session.flush()
            await self._snapshot(session, report, actor_id)
            return report.version

    def _add_signals(self, session: AsyncSession, report: PoliceReport, signals: Sequence[Signal]) -> None:
        for s in signals:
            session.add(
                PoliceSignal(
                    report_id=report.id,
                    kind=s.kind,
                    exploitation=s.exploitation,
                    district=s.district,
                    description_enc=self._cipher.encrypt(s.description),
                    added_in_version=report.version,
                )
            )

    async def _snapshot(self, session: AsyncSession, report: PoliceReport, actor_id: int) -> None:
        signals = await self._signals(session, report.id)
        data = {"nil": report.nil, "signals": [s.__dict__ for s in signals]}
        token = self._cipher.encrypt(json.dumps(data, ensure_ascii=False))
        assert token is not None
        session.add(
            PoliceReportVersion(
                report_id=report.id,
                version=report.version,
                snapshot_enc=token,
                actor_id=actor_id,
                at=self.clock(),
            )
        )
        session.add(
            AuditEntry(
                at=self.clock(),
                actor_id=actor_id,
                action=f"police_report.v{report.version}",
                detail=f"org={report.organisation_id} month={report.month}",
            )
        )

    async def _signals(self, session: AsyncSession, report_id: int) -> list[Signal]:
        rows = await session.scalars(
            select(PoliceSignal).where(PoliceSignal.report_id == report_id).order_by(PoliceSignal.id)
        )
        return [
            Signal(
                r.kind,
                r.exploitation,
                r.district,
                self._cipher.decrypt(r.description_enc) or "",
                added_in=r.added_in_version,
            )
            for r in rows
        ]

    async def versions(self, organisation_id: int, month: str) -> int:
        async with self._sm() as session:
            report = await session.scalar(
                select(PoliceReport).where(
                    PoliceReport.organisation_id == organisation_id, PoliceReport.month == month
                )
            )
            if report is None:
                return 0
            rows = await session.scalars(
                select(PoliceReportVersion).where(PoliceReportVersion.report_id == report.id)
            )
            return len(list(rows))

    async def compliance(self, oblast: str, month: str) -> list[OrgStatus]:
        """Every reporting organisation of the oblast (all but the police) and what it filed."""
        async with self._sm() as session:
            orgs = await session.scalars(
                select(Organisation)
                .where(
                    Organisation.oblast == oblast,
                    Organisation.active.is_(True),
                    Organisation.kind != "police",
                )
                .order_by(Organisation.name)
            )
            result = []
            for org in orgs:
                report = await session.scalar(
                    select(PoliceReport).where(
                        PoliceReport.organisation_id == org.id, PoliceReport.month == month
                    )
                )
                if report is None:
                    result.append(OrgStatus(org.id, org.name, "missing"))
                else:
                    signals = tuple(await self._signals(session, report.id))
                    result.append(
                        OrgStatus(
                            org.id, org.name, "nil" if report.nil else "signals", signals, report.version
                        )
                    )
            return result

    async def acknowledge(self, actor_id: int, staff: Sequence[StaffRole], oblast: str, month: str) -> bool:
        """The police liaison confirms receipt of the month's digest; True the first time."""
        if not any(r.role == Role.POLICE and r.oblast == oblast for r in staff):
            raise AccessDenied("police_report.acknowledge")
        async with self._sm() as session, session.begin():
            exists = await session.scalar(
                select(DigestAck.id).where(DigestAck.oblast == oblast, DigestAck.month == month)
            )
            if exists is not None:
                return False
            session.add(
                DigestAck(oblast=oblast, month=month, acknowledged_at=self.clock(), acknowledged_by=actor_id)
            )
            session.add(
                AuditEntry(
                    at=self.clock(), actor_id=actor_id, action="police_digest.ack", detail=f"{oblast} {month}"
                )
            )
            return True

    def past_months(self) -> list[str]:
        """The months whose digest the police liaison can get again: the last DIGESTS_KEPT before this
        one, newest first (this month's is not due yet)."""
        return recent_months(self.today(), DIGESTS_KEPT + 1)[1:]

    async def past_digest(
        self, staff: Sequence[StaffRole], oblast: str, month: str
    ) -> tuple[list[OrgStatus], bytes]:
        """A past month's statuses and the oblast's letter template, for its police liaison only."""
        if not any(r.role == Role.POLICE and r.oblast == oblast for r in staff):
            raise AccessDenied("police_digest.again")
        if month not in self.past_months():
            raise AccessDenied("police_digest.month")
        return await self.compliance(oblast, month), await self.letters.current(oblast)

    async def acknowledged(self, oblast: str, month: str) -> datetime | None:
        async with self._sm() as session:
            ack = await session.scalar(
                select(DigestAck).where(DigestAck.oblast == oblast, DigestAck.month == month)
            )
            return ack.acknowledged_at if ack else None
