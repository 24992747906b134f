"""Reports for coordinators, the annual information and the command line: indicator progress against
the programme's targets, events, anonymised case statistics, notification compliance and the
reconciliation history, for a programme, a year and optionally a district. No Telegram types.

Every figure is aggregated in SQL (GROUP BY); case statistics use only the structured columns (never
the encrypted text) and show what bot/services/disclosure.py decides for the whole oblast and year:
counts below 5 as "<5" and, where the reports together could narrow one down, others as "≥5", the
same cell hidden in the oblast's report, every district's and the annual information, so that no
victim can be singled out by combining them. A report is built once, already translated, and
rendered by bot/services/report_files.py as a message, a chart picture, XLSX or CSV.
"""

from __future__ import annotations

import gettext as gettext_module
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, cast, extract, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.cases import AGE_GROUPS, SEXES, Outcome, Situation
from bot.services.catalogue import EventType, Feed, Programme
from bot.services.directory import Directory, Need
from bot.services.disclosure import OBLAST, SECONDARY, SMALL_COUNT, SUPPRESSED, Counts, Disclosure, protect
from bot.services.events import EventService, Progress
from bot.services.places import OUTSIDE
from bot.services.reconciliation import FIELDS as RECONCILIATION_FIELDS
from bot.services.staff import AccessDenied, Role, StaffRole
from db.models import AuditEntry, Case, Event, MeasureRow, Organisation, PoliceReport, Reconciliation

KINDS = ("indicators", "events", "cases", "compliance", "reconciliation", "annual")
# Measured against a programme's targets: only for a year the programme is in force. The other kinds are
# for any calendar year, in or out of a programme.
PROGRAMME_KINDS = ("indicators", "annual")
# SMALL_COUNT, SUPPRESSED ("<5") and SECONDARY ("≥5") come from bot/services/disclosure.py.
NO_VALUE = "—"

Cell = int | float | str | None


class ReportError(Exception):
    """A report that cannot be made as asked; str() is the i18n key of the explanation."""


@dataclass(frozen=True)
class Section:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    # Each column's kind for the files ("count", "number", "percent", "money", "month", "quarter",
    # "text"); where not given, bot/services/report_files.py reads it from the header and the values.
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chart:
    """A bar chart drawn from the first `rows` rows of section `section`: categories from column
    `category`, one series per column in `values`. A "<5" or "≥5" cell is drawn as a hatched bar
    of a fixed small height, labelled as it is shown (bot/services/report_files.py: chart_bars)."""

    title: str
    section: int
    category: int
    values: tuple[int, ...]
    rows: int
    axis: str = ""


@dataclass(frozen=True)
class Report:
    kind: str
    programme_id: str
    year: int
    district: str | None
    language: str
    title: str
    subtitle: str
    summary: tuple[str, ...]
    sections: tuple[Section, ...]
    chart: Chart | None
    notes: tuple[str, ...] = ()
    empty: bool = False
    oblast: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        return self.sections[0].columns if self.sections else ()

    @property
    def rows(self) -> tuple[tuple[Cell, ...], ...]:
        return self.sections[0].rows if self.sections else ()

    def file_name(self, extension: str) -> str:
        place = f"-{self.district}" if self.district else ""
        return f"{self.kind}-{self.programme_id or self.oblast}-{self.year}{place}.{extension}"


# --- translation (the service renders in the language asked, outside any Telegram update) ------
@cache
def _translations() -> dict[str, gettext_module.GNUTranslations]:
    from bot.i18n import compile_translations

    return compile_translations()


def translator(language: str) -> Callable[[str], str]:
    translations = _translations()
    return (translations.get(language) or translations["uk"]).gettext


# --- small helpers ------------------------------------------------------------------------------
def suppress(count: int) -> int | str:
    """A count standing alone, in no sum (requests from outside the oblasts): below 5 (but not 0)
    becomes "<5". Counts that add up go through bot/services/disclosure.py."""
    return SUPPRESSED if 0 < count < SMALL_COUNT else count


def suppress_partition(counts: Sequence[int], total_shown: bool = True) -> list[int | str]:
    """Counts that add up to a total that is shown: small ones become "<5"; when exactly one would be
    hidden, the next smallest is hidden too ("≥5"), or it could be worked out from the total."""
    shown: list[int | str] = [suppress(c) for c in counts]
    hidden = [i for i, v in enumerate(shown) if v == SUPPRESSED]
    if total_shown and len(hidden) == 1:
        others = [(c, i) for i, c in enumerate(counts) if i not in hidden and c > 0]
        if others:
            shown[min(others)[1]] = SECONDARY
    return shown


def percent(actual: Decimal | int, target: Decimal | int | None) -> float | None:
    if not target:
        return None
    return round(float(Decimal(actual) / Decimal(target) * 100), 1)


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC one (SQLite returns them without a zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


@dataclass
class _Scope:
    """What a report covers: an oblast's calendar year (or one district's), and the programme in force
    that year, if any."""

    oblast: str
    programme: Programme | None
    year: int
    district: str | None
    language: str
    _: Callable[[str], str] = field(repr=False, default=str)
    progress: list[Progress] = field(default_factory=list)  # read before the report's own session


class ReportService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        programmes: Sequence[Programme],
        directory: Directory,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        events: EventService | None = None,
        timezone: str = "Europe/Kyiv",
    ) -> None:
        self._sm = sessionmaker
        self._programmes = {p.id: p for p in programmes}
        self.directory = directory
        self.clock = clock
        self._events = events or EventService(sessionmaker, clock=clock)
        self.tz = ZoneInfo(timezone)

    def _today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    def _local_date(self, moment: datetime) -> str:
        """A stored instant as the day it was in the programme's zone: "15.04.2025"."""
        return _utc(moment).astimezone(self.tz).strftime("%d.%m.%Y")

    def _month_start(self, year: int, month: int) -> datetime:
        """The first instant of a month in the programme's time zone, in UTC as timestamps are stored."""
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        return datetime(year, month, 1, tzinfo=self.tz).astimezone(UTC)

    # --- who may see what ------------------------------------------------------------------------
    def programme(self, programme_id: str) -> Programme:
        found = self._programmes.get(programme_id)
        if found is None:
            raise ReportError("report.bad_programme")
        return found

    def oblast_of(self, where: str) -> str:
        """The oblast a report is asked for: given itself, or as the oblast of one of its programmes."""
        if where in self._programmes:
            return self._programmes[where].oblast
        if self.directory.oblast(where) is None:
            raise ReportError("report.bad_programme")
        return where

    def programme_in_force(self, oblast: str, year: int) -> Programme | None:
        """The oblast's programme for `year` (catalogue load keeps one oblast's programmes apart)."""
        return next((p for p in self._programmes.values() if p.oblast == oblast and year in p.years), None)

    def years_for(self, oblast: str) -> list[int]:
        """The years that can be reported on: every year of the oblast's programmes and every calendar year
        from the first of them to this one, so a year after a programme ended has its reports too."""
        years = {y for p in self._programmes.values() if p.oblast == oblast for y in p.years}
        if years:
            years |= set(range(min(years), self._today().year + 1))
        return sorted(years)

    def oblasts_for(self, staff: Sequence[StaffRole]) -> list[str]:
        """The oblasts the person coordinates (in whole or in one district) that have a programme."""
        coordinated = {r.oblast for r in self.coordinator_roles(staff)}
        return sorted({p.oblast for p in self._programmes.values() if p.oblast in coordinated})

    @staticmethod
    def coordinator_roles(staff: Sequence[StaffRole]) -> list[StaffRole]:
        return [r for r in staff if r.role == Role.COORDINATOR and r.oblast]

    def programmes_for(self, staff: Sequence[StaffRole]) -> list[Programme]:
        """Programmes of the oblasts the person coordinates (in whole or in one district)."""
        oblasts = {r.oblast for r in self.coordinator_roles(staff)}
        return [p for p in self._programmes.values() if p.oblast in oblasts]

    def districts_for(self, staff: Sequence[StaffRole], where: str) -> tuple[bool, list[str]]:
        """(whether the whole oblast may be seen, the districts that may be chosen); `where`: the oblast,
        or one of its programmes."""
        oblast_id = self.oblast_of(where)
        roles = [r for r in self.coordinator_roles(staff) if r.oblast == oblast_id]
        oblast = self.directory.oblast(oblast_id)
        if any(r.district is None for r in roles):
            return True, [d.id for d in oblast.districts] if oblast else []
        return False, sorted({r.district for r in roles if r.district})

    def authorise(
        self, staff: Sequence[StaffRole], kind: str, where: str, district: str | None
    ) -> str | None:
        """The district the report may cover for this person (None: the whole oblast), or
        AccessDenied. A district coordinator sees only their district."""
        whole, districts = self.districts_for(staff, where)
        if whole:
            return district
        if not districts or kind == "reconciliation":  # the reconciliation is the regional department's
            raise AccessDenied("report." + kind)
        if district is None and len(districts) == 1:
            return districts[0]
        if district not in districts:
            raise AccessDenied("report." + kind)
        return district

    def _check(self, kind: str, where: str, year: int, district: str | None, language: str) -> _Scope:
        oblast = self.oblast_of(where)
        if year not in self.years_for(oblast):
            raise ReportError("report.bad_year")
        programme = self.programme_in_force(oblast, year)
        if programme is None and kind in PROGRAMME_KINDS:
            raise ReportError("report.no_programme")
        if district is not None:
            place = self.directory.oblast_of(district)
            if place is None or place.id != oblast:
                raise ReportError("report.bad_district")
        return _Scope(oblast, programme, year, district, language, translator(language))

    # --- entry points ----------------------------------------------------------------------------
    async def produce(
        self,
        actor_id: int,
        staff: Sequence[StaffRole],
        kind: str,
        where: str,
        year: int,
        district: str | None,
        language: str,
        purpose: str = "view",
    ) -> Report:
        """A report for a coordinator: role and scope checked here, the request audited."""
        district = self.authorise(staff, kind, where, district)
        return await self.build(
            kind, where, year, district, language, actor_id=actor_id, purpose=purpose
        )

    async def build(
        self,
        kind: str,
        where: str,
        year: int,
        district: str | None = None,
        language: str = "uk",
        *,
        actor_id: int | None = None,
        purpose: str = "view",
    ) -> Report:
        """A report with no access check (the command line, the scheduler); audited all the same. `where`:
        the oblast, or one of its programmes (the report covers the oblast's year either way)."""
        if kind not in KINDS:
            raise ReportError("report.bad_kind")
        scope = self._check(kind, where, year, district, language)
        builder = {
            "indicators": self._indicators,
            "events": self._events_report,
            "cases": self._cases,
            "compliance": self._compliance,
            "reconciliation": self._reconciliation,
            "annual": self._annual,
        }[kind]
        if scope.programme is not None and kind in PROGRAMME_KINDS:
            # EventService reads on a connection of its own: before ours, as SQLite has just one.
            scope.progress = await self._events.progress(scope.programme.id, year, district)
            scope.progress = await self._with_collected(scope)
        async with self._sm() as session:
            report = await builder(session, scope)
        async with self._sm() as session, session.begin():
            session.add(
                AuditEntry(
                    at=self.clock(),
                    actor_id=actor_id,
                    action=f"report.{kind}"[:40],
                    detail=f"{where} {year} {district or '*'} {purpose}"[:200],
                )
            )
        return report

    async def annual_information(self, programme_id: str, year: int, language: str) -> tuple[str, str, bytes]:
        """The annual information on the programme's implementation, by district, due 25 February:
        (a summary in Telegram HTML of at most 1024 characters, so it can be the document's caption;
        the file name; the XLSX bytes). Raises ReportError("report.bad_year") for a year outside the
        programme and ReportError("report.bad_programme") for an unknown one. Audited with no actor."""
        from bot.services.report_files import to_summary, to_xlsx

        report = await self.build("annual", programme_id, year, None, language, purpose="annual xlsx")
        return to_summary(report), report.file_name("xlsx"), to_xlsx(report)

    async def _with_collected(self, scope: _Scope) -> list[Progress]:
        """The indicators the bot counts from what it collects besides events: the organisations' monthly
        notifications to the police (each filing once) and the quarters reconciled with the police."""
        feeds = {Feed.POLICE_NOTIFICATIONS.value, Feed.RECONCILIATIONS.value}
        if not any(p.feed in feeds for p in scope.progress):
            return scope.progress
        async with self._sm() as session:
            notifications = await session.scalar(
                select(func.count(PoliceReport.id))
                .join(Organisation, Organisation.id == PoliceReport.organisation_id)
                .where(
                    *self._org_conditions(scope, active_only=False),
                    PoliceReport.month.like(f"{scope.year}-%"),
                )
            )
            reconciled = await session.scalar(
                select(func.count(Reconciliation.id)).where(
                    Reconciliation.oblast == scope.oblast,
                    Reconciliation.quarter.like(f"{scope.year}-Q%"),
                    Reconciliation.reconciled_at.is_not(None),
                )
            )
        counted = {
            Feed.POLICE_NOTIFICATIONS.value: Decimal(notifications or 0),
            Feed.RECONCILIATIONS.value: Decimal(reconciled or 0),
        }
        return [replace(p, actual=counted[p.feed]) if p.feed in counted else p for p in scope.progress]

    # --- shared pieces ---------------------------------------------------------------------------
    def _place(self, scope: _Scope) -> str:
        oblast = self.directory.oblast(scope.oblast)
        name = oblast.name.get(scope.language) if oblast else scope.oblast
        if scope.district:
            district = self.directory.district(scope.district)
            return f"{name}, {district.name.get(scope.language) if district else scope.district}"
        return name

    def _district_name(self, scope: _Scope, district_id: str | None) -> str:
        if district_id is None:
            return scope._("report.no_district")
        district = self.directory.district(district_id)
        return district.name.get(scope.language) if district else district_id

    def _report(
        self,
        scope: _Scope,
        kind: str,
        title: str,
        summary: Sequence[str],
        sections: Sequence[Section],
        chart: Chart | None,
        notes: Sequence[str] = (),
        empty: bool = False,
    ) -> Report:
        programme = (
            scope.programme.title.get(scope.language)
            if scope.programme
            else scope._("report.no_programme_in_force")
        )
        subtitle = f"{programme}\n{self._place(scope)}"
        return Report(
            kind=kind,
            programme_id=scope.programme.id if scope.programme else "",
            year=scope.year,
            district=scope.district,
            language=scope.language,
            title=title,
            subtitle=subtitle,
            summary=tuple(summary),
            sections=tuple(sections),
            chart=chart,
            notes=tuple(notes),
            empty=empty,
            oblast=scope.oblast,
        )

    def _expected_share(self, year: int) -> float:
        """How much of a yearly target should be reached by now: all of a past year, none of a future one."""
        today = self._today()
        if year < today.year:
            return 1.0
        if year > today.year:
            return 0.0
        return (today - date(year, 1, 1)).days / ((date(year + 1, 1, 1) - date(year, 1, 1)).days)

    # --- indicators ------------------------------------------------------------------------------
    def _indicator_section(self, scope: _Scope) -> tuple[Section, int, dict[str, int]]:
        """The indicators, behind schedule first: (section, rows with a percentage, counts by status)."""
        _ = scope._
        progress = scope.progress
        share = self._expected_share(scope.year)
        labels = {
            "behind": _("report.status.behind"),
            "on_track": _("report.status.on_track"),
            "reached": _("report.status.reached"),
            "no_target": _("report.status.no_target"),
            "manual": _("report.status.manual"),
            "no_district_target": _("report.status.no_district_target"),
        }

        def status(p: Progress) -> str:
            if p.feed == Feed.MANUAL.value:
                return "manual"
            if scope.district is not None:  # the programmes set targets for the oblast only
                return "no_district_target"
            if not p.target:
                return "no_target"
            if p.actual >= p.target:
                return "reached"
            return "behind" if float(p.actual) < float(p.target) * share else "on_track"

        order = {
            "behind": 0,
            "on_track": 1,
            "reached": 2,
            "no_district_target": 3,
            "no_target": 4,
            "manual": 5,
        }
        ranked = sorted(
            ((status(p), p) for p in progress),
            key=lambda sp: (order[sp[0]], sp[1].percent if sp[1].percent is not None else 0.0),
        )
        rows: list[tuple[Cell, ...]] = []
        counts: dict[str, int] = dict.fromkeys(order, 0)
        for state, p in ranked:
            counts[state] += 1
            tracked = state != "manual"
            against = state not in ("manual", "no_district_target")  # a target this report can be held to
            rows.append(
                (
                    p.key,
                    p.name,
                    _number(p.target) if against else None,
                    _number(p.actual) if tracked else None,
                    percent(p.actual, p.target) if against else None,
                    labels[state],
                )
            )
        columns = (
            _("report.col.indicator_no"),
            _("report.col.indicator"),
            _("report.col.target"),
            _("report.col.actual"),
            _("report.col.percent"),
            _("report.col.status"),
        )
        charted = sum(1 for r in rows if r[4] is not None)
        return Section(_("report.section.indicators"), columns, tuple(rows)), charted, counts

    async def _indicators(self, session: AsyncSession, scope: _Scope) -> Report:
        _ = scope._
        section, charted, counts = self._indicator_section(scope)
        # One pass over the year's events (the aggregation); none counted: nothing logged that counts.
        counted = sum(p.actual for p in scope.progress if p.feed != Feed.MANUAL.value)
        summary = [self._indicators_summary(scope, counts)]
        notes = [_("report.note.manual")]
        if scope.district:
            notes.append(_("report.note.oblast_targets"))
        if not counted:
            summary.insert(0, _("report.indicators.empty").format(year=scope.year))
        if scope.district is None:
            chart = Chart(_("report.chart.indicators").format(year=scope.year), 0, 0, (4,), charted, "%")
        else:  # no district targets: the district's actual values, the counted indicators first
            tracked = counts["no_district_target"]
            chart = Chart(_("report.chart.indicators_district").format(year=scope.year), 0, 0, (3,), tracked)
        title = _("report.title.indicators").format(year=scope.year)
        shown = chart if chart.rows else None
        return self._report(scope, "indicators", title, summary, [section], shown, notes, not counted)

    @staticmethod
    def _indicators_summary(scope: _Scope, counts: dict[str, int]) -> str:
        _ = scope._
        if scope.district is not None:
            return _("report.indicators.summary_district").format(
                counted=counts["no_district_target"], untracked=counts["manual"]
            )
        return _("report.indicators.summary").format(
            behind=counts["behind"],
            on_track=counts["on_track"],
            reached=counts["reached"],
            untracked=counts["no_target"] + counts["manual"],
        )

    # --- events ----------------------------------------------------------------------------------
    def _event_conditions(self, scope: _Scope) -> list[Any]:
        # Every event of the oblast held that year, whichever programme's measure it was logged against.
        conditions: list[Any] = [
            Event.oblast == scope.oblast,
            Event.status == "active",
            Event.held_on >= date(scope.year, 1, 1),
            Event.held_on <= date(scope.year, 12, 31),
        ]
        if scope.district:
            conditions.append(Event.district == scope.district)
        return conditions

    async def _events_by(self, session: AsyncSession, scope: _Scope, key: Any) -> dict[Any, tuple[int, int]]:
        rows = await session.execute(
            select(key, func.count(Event.id), func.coalesce(func.sum(Event.participants), 0))
            .where(*self._event_conditions(scope))
            .group_by(key)
        )
        return {k: (int(n), int(p)) for k, n, p in rows.all()}

    async def _events_by_district(
        self, session: AsyncSession, scope: _Scope
    ) -> dict[str | None, tuple[int, int]]:
        return await self._events_by(session, scope, Event.district)

    def _district_ids(self, scope: _Scope) -> list[str]:
        if scope.district:
            return [scope.district]
        oblast = self.directory.oblast(scope.oblast)
        return [d.id for d in oblast.districts] if oblast else []

    async def _events_report(self, session: AsyncSession, scope: _Scope) -> Report:
        _ = scope._
        columns = (_("report.col.events"), _("report.col.participants"))
        by_month = await self._events_by(session, scope, cast(extract("month", Event.held_on), Integer))
        by_type = await self._events_by(session, scope, Event.event_type)
        by_measure = await self._events_by_measure(session, scope)
        type_names = event_type_names(_)
        sections = [
            Section(
                _("report.section.by_month"),
                (_("report.col.month"), *columns),
                tuple((_month(scope.year, m), *by_month.get(m, (0, 0))) for m in range(1, 13)),
            ),
            Section(
                _("report.section.by_type"),
                (_("report.col.event_type"), *columns),
                tuple((type_names[t.value], *by_type[t.value]) for t in EventType if t.value in by_type),
            ),
            Section(_("report.section.by_measure"), (_("report.col.measure"), *columns), by_measure),
        ]
        if scope.district is None:
            by_district = await self._events_by_district(session, scope)
            sections.append(
                Section(
                    _("report.section.by_district"),
                    (_("report.col.district"), *columns),
                    tuple(
                        (self._district_name(scope, d), *by_district.get(d, (0, 0)))
                        for d in [*self._district_ids(scope), None]
                    ),
                )
            )
        events = sum(n for n, _p in by_month.values())
        people = sum(p for _n, p in by_month.values())
        summary = [_("report.events.summary").format(events=events, participants=people)]
        if not events:
            summary.insert(0, _("report.empty_year").format(year=scope.year))
        chart = Chart(_("report.chart.events").format(year=scope.year), 0, 0, (1,), 12)
        title = _("report.title.events").format(year=scope.year)
        return self._report(scope, "events", title, summary, sections, chart, (), events == 0)

    async def _events_by_measure(self, session: AsyncSession, scope: _Scope) -> tuple[tuple[Cell, ...], ...]:
        """The events by the measure they were logged against; an event counts toward the programme in
        force on its date, and events of any other programme's measures are one row "outside any
        programme" (a year after a programme ended, or before the next one was loaded)."""
        rows = await session.execute(
            select(
                MeasureRow.programme_id,
                MeasureRow.task_number,
                MeasureRow.number,
                MeasureRow.title,
                func.count(Event.id),
                func.coalesce(func.sum(Event.participants), 0),
            )
            .join(MeasureRow, MeasureRow.id == Event.measure_id)
            .where(*self._event_conditions(scope))
            .group_by(
                MeasureRow.id,
                MeasureRow.programme_id,
                MeasureRow.task_number,
                MeasureRow.number,
                MeasureRow.title,
            )
            .order_by(MeasureRow.id)
        )
        in_force = scope.programme.id if scope.programme else None
        counted: list[tuple[Cell, ...]] = []
        outside_events = outside_people = 0
        for programme_id, task, number, title, n, p in rows.all():
            if programme_id == in_force:
                counted.append((f"{task}.{number} {title[:120]}", int(n), int(p)))
            else:
                outside_events, outside_people = outside_events + int(n), outside_people + int(p)
        if outside_events:
            counted.append((scope._("report.outside_programme"), outside_events, outside_people))
        return tuple(counted)

    # --- cases (anonymised) ----------------------------------------------------------------------
    def _case_conditions(self, scope: _Scope) -> list[Any]:
        conditions: list[Any] = [
            Case.oblast == scope.oblast,
            Case.created_at >= self._month_start(scope.year, 1),
            Case.created_at < self._month_start(scope.year + 1, 1),
            (Case.outcome.is_(None)) | (Case.outcome != Outcome.DUPLICATE.value),
        ]
        if scope.district:
            conditions.append(Case.district == scope.district)
        return conditions

    async def _case_total(self, session: AsyncSession, scope: _Scope) -> int:
        return int(
            await session.scalar(select(func.count(Case.id)).where(*self._case_conditions(scope))) or 0
        )

    async def _cases_by(self, session: AsyncSession, scope: _Scope, key: Any) -> dict[Any, int]:
        rows = await session.execute(
            select(key, func.count(Case.id)).where(*self._case_conditions(scope)).group_by(key)
        )
        return {k: int(n) for k, n in rows.all()}

    def _unit_of(self, scope: _Scope, district: str | None) -> str | None:
        """A case's unit: its district, or None when it has none (or one no longer in the directory)."""
        return district if district in self._district_ids(replace(scope, district=None)) else None

    async def _case_grid(
        self, session: AsyncSession, scope: _Scope, columns: Sequence[Any]
    ) -> dict[str | None, list[int]]:
        """Per unit of the whole oblast, one count per column expression (sums of CASE WHEN)."""
        rows = await session.execute(
            select(Case.district, *columns)
            .where(*self._case_conditions(replace(scope, district=None)))
            .group_by(Case.district)
        )
        grid: dict[str | None, list[int]] = {}
        for district, *values in rows.all():
            unit = grid.setdefault(self._unit_of(scope, district), [0] * len(columns))
            for i, v in enumerate(values):
                unit[i] += int(v or 0)
        return grid

    async def _case_disclosure(self, session: AsyncSession, scope: _Scope) -> Disclosure:
        """What every case table of the oblast and year may show: decided for the whole oblast, so
        that a district's report hides the same cells as the oblast's."""

        def share(test: Any) -> Any:
            return func.sum(case((test, 1), else_=0))

        padded = literal(",") + Case.needs + literal(",")
        breakdowns: dict[str, list[Any]] = {
            "month": [
                share(
                    and_(
                        Case.created_at >= self._month_start(scope.year, m),
                        Case.created_at < self._month_start(scope.year, m + 1),
                    )
                )
                for m in range(1, 13)
            ],
            "situation": [share(Case.situation == s.value) for s in Situation],
            "outcome": [
                share(Case.outcome.is_(None)),
                *[share(Case.outcome == o.value) for o in Outcome if o != Outcome.DUPLICATE],
            ],
            "sex": [*[share(Case.sex == s) for s in SEXES], share(Case.sex.is_(None))],
            "age": [*[share(Case.age_group == a) for a in AGE_GROUPS], share(Case.age_group.is_(None))],
            "needs": [share(padded.like(f"%,{n.value},%")) for n in Need],
        }
        grids = {dim: await self._case_grid(session, scope, cols) for dim, cols in breakdowns.items()}
        districts = self._district_ids(replace(scope, district=None))
        units: dict[str | None, Counts] = {}
        for unit in [*districts, None]:
            row = {dim: grid.get(unit, [0] * len(breakdowns[dim])) for dim, grid in grids.items()}
            needs = row.pop("needs")
            units[unit] = Counts(sum(row["sex"]), row, needs)
        return protect(units, districts)

    async def _case_sections(
        self, session: AsyncSession, scope: _Scope, shown: Disclosure | None = None
    ) -> tuple[int, list[Section]]:
        _ = scope._
        count_col = _("report.col.cases")
        total = await self._case_total(session, scope)
        shown = shown or await self._case_disclosure(session, scope)
        unit = scope.district or OBLAST

        def part(title: str, column: str, labels: Sequence[str], dim: str) -> Section:
            return Section(title, (column, count_col), tuple(zip(labels, shown.part(dim, unit), strict=True)))

        situations = situation_names(_)
        outcomes = outcome_names(_)
        needs = need_names(_)
        sexes = sex_names(_)
        not_given = _("report.not_given")
        sections = [
            part(
                _("report.section.by_month"),
                _("report.col.month"),
                [_month(scope.year, m) for m in range(1, 13)],
                "month",
            ),
            part(
                _("report.section.by_situation"),
                _("report.col.situation"),
                [situations[s.value] for s in Situation],
                "situation",
            ),
            # A case can have several needs: these do not add up to the total.
            Section(
                _("report.section.by_need"),
                (_("report.col.need"), count_col),
                tuple(zip([needs[n.value] for n in Need], shown.needs(unit), strict=True)),
            ),
            part(
                _("report.section.by_outcome"),
                _("report.col.outcome"),
                [_("report.still_open"), *[outcomes[o.value] for o in Outcome if o != Outcome.DUPLICATE]],
                "outcome",
            ),
            part(
                _("report.section.by_sex"),
                _("report.col.sex"),
                [*[sexes[s] for s in SEXES], not_given],
                "sex",
            ),
            part(_("report.section.by_age"), _("report.col.age_group"), [*AGE_GROUPS, not_given], "age"),
        ]
        if scope.district is None:
            ids = [*self._district_ids(scope), None]
            sections.append(
                Section(
                    _("report.section.by_district"),
                    (_("report.col.district"), count_col),
                    tuple((self._district_name(scope, d), shown.total(d)) for d in ids),
                )
            )
            sections.append(await self._outside_section(session, scope))
        return total, sections

    async def _outside_section(self, session: AsyncSession, scope: _Scope) -> Section:
        """Requests from another oblast, abroad or with no place given belong to no programme's oblast
        (every oblast's coordinators get them): counted apart, each under its own label, not in the total."""
        _ = scope._
        conditions = [Case.oblast.in_(OUTSIDE), *self._case_conditions(scope)[1:]]
        rows = await session.execute(
            select(Case.oblast, func.count(Case.id)).where(*conditions).group_by(Case.oblast)
        )
        counts = {code: int(n) for code, n in rows.all()}
        return Section(
            _("report.section.outside"),
            (_("report.col.place"), _("report.col.cases")),
            tuple((_(f"place.{code}"), suppress(counts.get(code, 0))) for code in OUTSIDE),
        )

    async def _cases(self, session: AsyncSession, scope: _Scope) -> Report:
        _ = scope._
        shown = await self._case_disclosure(session, scope)
        total, sections = await self._case_sections(session, scope, shown)
        summary = [_("report.cases.summary").format(total=shown.total(scope.district or OBLAST))]
        if not total:
            summary.insert(0, _("report.empty_year").format(year=scope.year))
        notes = [_("report.note.suppressed"), _("report.note.duplicates")]
        chart = Chart(_("report.chart.cases").format(year=scope.year), 0, 0, (1,), 12)
        title = _("report.title.cases").format(year=scope.year)
        return self._report(scope, "cases", title, summary, sections, chart, notes, total == 0)

    # --- monthly police notifications ------------------------------------------------------------
    def _due_months(self, year: int) -> list[int]:
        """Months of the year whose notification is due by now: all before the current month."""
        today = self._today()
        if year < today.year:
            return list(range(1, 13))
        if year > today.year:
            return []
        return list(range(1, today.month))

    def _org_conditions(self, scope: _Scope, *, active_only: bool = True) -> list[Any]:
        conditions: list[Any] = [Organisation.oblast == scope.oblast, Organisation.kind != "police"]
        if active_only:
            conditions.append(Organisation.active.is_(True))
        if scope.district:
            conditions.append(Organisation.district == scope.district)
        return conditions

    async def _compliance_sections(
        self, session: AsyncSession, scope: _Scope
    ) -> tuple[list[Section], int, int]:
        """(sections, filings made, filings due)."""
        _ = scope._
        months = self._due_months(scope.year)
        keys = [_month(scope.year, m) for m in months]
        # An organisation owes the months that ended after it joined.
        month_ends = [self._month_start(scope.year, m + 1) for m in months]
        due_row = (
            (
                await session.execute(
                    select(
                        *[func.sum(case((Organisation.created_at < end, 1), else_=0)) for end in month_ends]
                    ).where(*self._org_conditions(scope))
                )
            ).one()
            if months
            else ()
        )
        due = {k: int(v or 0) for k, v in zip(keys, due_row, strict=True)}
        filed: dict[tuple[str, bool], int] = {}
        per_org: list[tuple[str, int, int, int]] = []
        if keys:
            rows = await session.execute(
                select(PoliceReport.month, PoliceReport.nil, func.count(PoliceReport.id))
                .join(Organisation, Organisation.id == PoliceReport.organisation_id)
                .where(*self._org_conditions(scope), PoliceReport.month.in_(keys))
                .group_by(PoliceReport.month, PoliceReport.nil)
            )
            filed = {(m, bool(nil)): int(n) for m, nil, n in rows.all()}
            org_rows = await session.execute(
                select(
                    Organisation.name,
                    Organisation.created_at,
                    func.count(PoliceReport.id),
                    func.coalesce(func.sum(case((PoliceReport.nil.is_(False), 1), else_=0)), 0),
                )
                .select_from(Organisation)
                .outerjoin(
                    PoliceReport,
                    and_(PoliceReport.organisation_id == Organisation.id, PoliceReport.month.in_(keys)),
                )
                .where(*self._org_conditions(scope))
                .group_by(Organisation.id, Organisation.name, Organisation.created_at)
                .order_by(Organisation.name)
            )
            # An organisation owes only the months that ended after it joined.
            per_org = [
                (name, int(n), int(s), sum(1 for end in month_ends if _utc(joined) < end))
                for name, joined, n, s in org_rows.all()
            ]
        month_rows = []
        made = owed = 0
        for key in keys:
            nil, signals = filed.get((key, True), 0), filed.get((key, False), 0)
            missing = max(due[key] - nil - signals, 0)
            made, owed = made + nil + signals, owed + due[key]
            month_rows.append((key, due[key], nil, signals, missing, percent(nil + signals, due[key])))
        sections = [
            Section(
                _("report.section.by_month"),
                (
                    _("report.col.month"),
                    _("report.col.organisations"),
                    _("report.col.filed_nil"),
                    _("report.col.filed_signals"),
                    _("report.col.not_filed"),
                    _("report.col.percent_filed"),
                ),
                tuple(month_rows),
            ),
            Section(
                _("report.section.by_organisation"),
                (
                    _("report.col.organisation"),
                    _("report.col.months_filed"),
                    _("report.col.months_with_signals"),
                    _("report.col.months_due"),
                ),
                tuple(per_org),
            ),
        ]
        return sections, made, owed

    async def _compliance(self, session: AsyncSession, scope: _Scope) -> Report:
        _ = scope._
        sections, made, owed = await self._compliance_sections(session, scope)
        summary = [
            _("report.compliance.summary").format(filed=made, due=owed, percent=percent(made, owed) or 0)
        ]
        if not owed:
            summary.insert(0, _("report.compliance.nothing_due").format(year=scope.year))
        months = len(sections[0].rows)
        chart = (
            Chart(_("report.chart.compliance").format(year=scope.year), 0, 0, (5,), months, "%")
            if months
            else None
        )
        title = _("report.title.compliance").format(year=scope.year)
        return self._report(scope, "compliance", title, summary, sections, chart, (), owed == 0)

    # --- quarterly reconciliation ----------------------------------------------------------------
    async def _reconciliation_sections(
        self, session: AsyncSession, scope: _Scope
    ) -> tuple[list[Section], int]:
        _ = scope._
        rows = (
            await session.execute(
                select(Reconciliation)
                .where(
                    Reconciliation.oblast == scope.oblast,
                    Reconciliation.quarter.like(f"{scope.year}-Q%"),
                )
                .order_by(Reconciliation.quarter)
            )
        ).scalars()
        found = {r.quarter: r for r in rows}
        yes, no = _("report.yes"), _("report.no")
        names = reconciliation_field_names(_)
        summary_rows: list[tuple[Cell, ...]] = []
        figure_rows: list[tuple[Cell, ...]] = []
        notes_rows: list[tuple[Cell, ...]] = []  # each side's explanation of the discrepancies
        for q in range(1, 5):
            key = f"{scope.year}-Q{q}"
            row = found.get(key)
            police: dict[str, int] = json.loads(row.police_figures) if row and row.police_figures else {}
            region: dict[str, int] = json.loads(row.region_figures) if row and row.region_figures else {}
            differing = (
                sum(1 for f in RECONCILIATION_FIELDS if police.get(f) != region.get(f))
                if police and region
                else None
            )
            summary_rows.append(
                (
                    key,
                    police.get("victims_total"),
                    region.get("victims_total"),
                    differing,
                    yes if row and row.police_confirmed_at else no,
                    yes if row and row.region_confirmed_at else no,
                    self._local_date(row.reconciled_at) if row and row.reconciled_at else no,
                )
            )
            for side, note in (
                (_("report.col.police"), row.police_note if row else None),
                (_("report.col.region"), row.region_note if row else None),
            ):
                if note:
                    notes_rows.append((key, side, note))
            if police or region:
                for f in RECONCILIATION_FIELDS:
                    p, r = police.get(f), region.get(f)
                    figure_rows.append(
                        (key, names[f], p, r, (p - r) if p is not None and r is not None else None)
                    )
        sections = [
            Section(
                _("report.section.by_quarter"),
                (
                    _("report.col.quarter"),
                    _("report.col.police_victims"),
                    _("report.col.region_victims"),
                    _("report.col.discrepancies"),
                    _("report.col.police_confirmed"),
                    _("report.col.region_confirmed"),
                    _("report.col.reconciled"),
                ),
                tuple(summary_rows),
            ),
            Section(
                _("report.section.figures"),
                (
                    _("report.col.quarter"),
                    _("report.col.figure"),
                    _("report.col.police"),
                    _("report.col.region"),
                    _("report.col.difference"),
                ),
                tuple(figure_rows),
            ),
            Section(
                _("report.section.explanations"),
                (_("report.col.quarter"), _("report.col.side"), _("report.col.explanation")),
                tuple(notes_rows),
            ),
        ]
        return sections, len(found)

    async def _reconciliation(self, session: AsyncSession, scope: _Scope) -> Report:
        _ = scope._
        sections, quarters = await self._reconciliation_sections(session, scope)
        reconciled = sum(1 for r in sections[0].rows if r[6] != _("report.no"))
        summary = [_("report.reconciliation.summary").format(entered=quarters, reconciled=reconciled)]
        if not quarters:
            summary.insert(0, _("report.empty_year").format(year=scope.year))
        notes = [_("report.note.oblast_wide")] if scope.district else []
        chart = Chart(_("report.chart.reconciliation").format(year=scope.year), 0, 0, (1, 2), 4)
        title = _("report.title.reconciliation").format(year=scope.year)
        return self._report(scope, "reconciliation", title, summary, sections, chart, notes, quarters == 0)

    # --- the annual information (by 25 February of the next year) --------------------------------
    async def _annual(self, session: AsyncSession, scope: _Scope) -> Report:
        _ = scope._
        by_district = await self._events_by_district(session, scope)
        cases_total = await self._case_total(session, scope)
        disclosure = await self._case_disclosure(session, scope)
        ids: list[str | None] = [*self._district_ids(scope)]
        if scope.district is None:
            ids.append(None)
        shown = [disclosure.total(d) for d in ids]
        district_section = Section(
            _("report.section.by_district"),
            (
                _("report.col.district"),
                _("report.col.events"),
                _("report.col.participants"),
                _("report.col.cases"),
            ),
            tuple(
                (self._district_name(scope, d), *by_district.get(d, (0, 0)), c)
                for d, c in zip(ids, shown, strict=True)
            ),
        )
        indicators, _charted, counts = self._indicator_section(scope)
        case_sections = (await self._case_sections(session, scope, disclosure))[1]
        compliance, made, owed = await self._compliance_sections(session, scope)
        sections = [district_section, indicators, case_sections[1], compliance[0]]
        if scope.district is None:
            sections.append((await self._reconciliation_sections(session, scope))[0][0])
        events = sum(n for n, _p in by_district.values())
        people = sum(p for _n, p in by_district.values())
        summary = [
            _("report.events.summary").format(events=events, participants=people),
            _("report.cases.summary").format(total=disclosure.total(scope.district or OBLAST)),
            self._indicators_summary(scope, counts),
            _("report.compliance.summary").format(filed=made, due=owed, percent=percent(made, owed) or 0),
        ]
        empty = events == 0 and cases_total == 0 and made == 0
        if empty:
            summary.insert(0, _("report.empty_year").format(year=scope.year))
        notes = [
            _("report.note.annual_due").format(date=f"25.02.{scope.year + 1}"),
            _("report.note.suppressed"),
            _("report.note.manual"),
        ]
        chart = Chart(
            _("report.chart.annual").format(year=scope.year), 0, 0, (1,), len(district_section.rows)
        )
        title = _("report.title.annual").format(year=scope.year)
        return self._report(scope, "annual", title, summary, sections, chart, notes, empty)


# --- labels (literal keys, so that tests/test_i18n.py checks each of them) ----------------------
def event_type_names(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "training": _("event_type.training"),
        "seminar": _("event_type.seminar"),
        "round_table": _("event_type.round_table"),
        "webinar": _("event_type.webinar"),
        "info_campaign": _("event_type.info_campaign"),
        "lecture": _("event_type.lecture"),
        "publication": _("event_type.publication"),
        "flash_mob": _("event_type.flash_mob"),
        "meeting": _("event_type.meeting"),
        "consultation": _("event_type.consultation"),
        "other": _("event_type.other"),
    }


def situation_names(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "labour": _("situation.labour"),
        "sexual": _("situation.sexual"),
        "domestic_violence": _("situation.domestic_violence"),
        "missing_person": _("situation.missing_person"),
        "job_offer": _("situation.job_offer"),
        "other": _("situation.other"),
    }


def outcome_names(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "helped": _("outcome.helped"),
        "referred_elsewhere": _("outcome.referred_elsewhere"),
        "unreachable": _("outcome.unreachable"),
        "declined": _("outcome.declined"),
        "duplicate": _("outcome.duplicate"),
    }


def need_names(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "legal_aid": _("need.legal_aid"),
        "shelter": _("need.shelter"),
        "psychological": _("need.psychological"),
        "medical": _("need.medical"),
        "social_services": _("need.social_services"),
        "employment": _("need.employment"),
        "humanitarian": _("need.humanitarian"),
        "child_protection": _("need.child_protection"),
    }


def sex_names(_: Callable[[str], str]) -> dict[str, str]:
    return {"female": _("sex.female"), "male": _("sex.male")}


def reconciliation_field_names(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "victims_total": _("report.field.victims_total"),
        "women": _("report.field.women"),
        "men": _("report.field.men"),
        "adults": _("report.field.adults"),
        "children": _("report.field.children"),
        "labour": _("report.field.labour"),
        "sexual": _("report.field.sexual"),
        "other_exploitation": _("report.field.other_exploitation"),
        "criminal_proceedings": _("report.field.criminal_proceedings"),
        "statuses_granted": _("report.field.statuses_granted"),
        "persons_assisted": _("report.field.persons_assisted"),
    }


def kind_names(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "indicators": _("report.kind.indicators"),
        "events": _("report.kind.events"),
        "cases": _("report.kind.cases"),
        "compliance": _("report.kind.compliance"),
        "reconciliation": _("report.kind.reconciliation"),
        "annual": _("report.kind.annual"),
    }
