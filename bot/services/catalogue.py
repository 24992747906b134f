"""The programme catalogue: programmes -> tasks -> measures -> indicators, as data (data/programmes/).

Files are validated here (pydantic) and never corrected: `check()` reports what looks inconsistent
in the source (a yearly breakdown that does not add up to its total, a budget likewise) so that a
person can compare it with the paper, while the numbers stay exactly as transcribed.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.datafiles import load_yaml
from bot.services.directory import Localized


class EventType(StrEnum):
    TRAINING = "training"
    SEMINAR = "seminar"
    ROUND_TABLE = "round_table"
    WEBINAR = "webinar"
    INFO_CAMPAIGN = "info_campaign"
    LECTURE = "lecture"
    PUBLICATION = "publication"
    FLASH_MOB = "flash_mob"
    MEETING = "meeting"
    CONSULTATION = "consultation"
    OTHER = "other"


class Feed(StrEnum):
    PER_EVENT = "per_event"  # one per logged event
    PARTICIPANTS = "participants"  # the events' participants added up
    MANUAL = "manual"  # entered by hand
    # Counted from what the bot collects besides events (bot/services/reports.py):
    POLICE_NOTIFICATIONS = "police_notifications"  # the organisations' monthly notifications filed
    RECONCILIATIONS = "reconciliations"  # the quarters reconciled with the police


Number = int | float | Decimal


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    total: Number | None = None
    by_year: dict[int, Number | None] = Field(default_factory=dict)


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=2)
    unit: str | None = None
    total: Number | None = None
    target_text: str | None = None
    by_year: dict[int, Number | None] = Field(default_factory=dict)
    baseline: Number | None = None
    group: Literal["product", "efficiency", "quality"] | None = None
    feed: Feed = Feed.MANUAL


class Measure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    number: str = Field(min_length=1)
    title: str = Field(min_length=2)
    term: str | None = None
    executors: tuple[str, ...] = ()
    budget_holder: str | None = None
    funding: tuple[str, ...] = ()
    budget: Budget | None = None
    expected_result: str | None = None
    event_types: tuple[EventType, ...] = ()
    indicators: tuple[Indicator, ...] = ()


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    number: str = Field(min_length=1)
    title: str = Field(min_length=2)
    measures: tuple[Measure, ...]


class Programme(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9-]{3,40}$")
    title: Localized
    oblast: str
    years: tuple[int, ...] = Field(min_length=1)
    source: str = Field(min_length=3)
    indicators: tuple[Indicator, ...] = ()
    tasks: tuple[Task, ...]

    @model_validator(mode="after")
    def _consistent_keys(self) -> Programme:
        ids = [i.id for i in self.all_indicators()]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"indicator ids used twice: {', '.join(duplicates)}")
        for indicator in self.all_indicators():
            stray = set(indicator.by_year) - set(self.years)
            if stray:
                raise ValueError(f"indicator {indicator.id}: years {sorted(stray)} are outside the programme")
        return self

    def all_indicators(self) -> Iterator[Indicator]:
        yield from self.indicators
        for task in self.tasks:
            for measure in task.measures:
                yield from measure.indicators

    def measures(self) -> Iterator[tuple[Task, Measure]]:
        for task in self.tasks:
            for measure in task.measures:
                yield task, measure

    @property
    def first_year(self) -> int:
        return min(self.years)


class CatalogueError(ValueError):
    pass


class Counts(NamedTuple):
    tasks: int
    measures: int
    indicators: int


def counts(programme: Programme) -> Counts:
    return Counts(
        tasks=len(programme.tasks),
        measures=sum(len(t.measures) for t in programme.tasks),
        indicators=sum(1 for _ in programme.all_indicators()),
    )


def _adds_up(total: Number | None, by_year: dict[int, Number | None]) -> bool:
    values = [v for v in by_year.values() if v is not None]
    if total is None or not values or len(values) != len(by_year):
        return True
    return abs(Decimal(str(total)) - sum(Decimal(str(v)) for v in values)) < Decimal("0.01")


def is_share(indicator: Indicator) -> bool:
    """A percentage or share: its total is a level to reach, not the sum of the years."""
    text = f"{indicator.name} {indicator.unit or ''}".casefold()
    return "%" in text or "відсот" in text or "частка" in text


def check(programme: Programme) -> list[str]:
    """What looks inconsistent in the source, one line each; the data is not changed."""
    findings: list[str] = []
    for indicator in programme.all_indicators():
        if is_share(indicator):
            years = [v for v in indicator.by_year.values() if v is not None]
            if indicator.total is not None and years and max(years) != indicator.total:
                findings.append(
                    f"indicator {indicator.id} «{indicator.name[:60]}»: the share's total {indicator.total} "
                    f"is not the highest yearly level {max(years)}"
                )
        elif not _adds_up(indicator.total, indicator.by_year):
            findings.append(
                f"indicator {indicator.id} «{indicator.name[:60]}»: yearly values "
                f"{dict(indicator.by_year)} do not add up to the total {indicator.total}"
            )
        if indicator.total is None and not indicator.by_year and not indicator.target_text:
            findings.append(f"indicator {indicator.id} «{indicator.name[:60]}»: no target at all")
    for task, measure in programme.measures():
        budget = measure.budget
        if budget is not None and not _adds_up(budget.total, budget.by_year):
            findings.append(
                f"task {task.number} measure {measure.number}: budget by year {dict(budget.by_year)} "
                f"does not add up to the total {budget.total}"
            )
        feeds = {i.feed for i in measure.indicators}
        if feeds & {Feed.PER_EVENT, Feed.PARTICIPANTS} and not measure.event_types:
            findings.append(
                f"task {task.number} measure {measure.number}: fed by events but no event type listed"
            )
    return findings


def load_programme(path: Path) -> Programme:
    try:
        return Programme.model_validate(load_yaml(path))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise CatalogueError(f"data/programmes/{path.name} cannot be used: {exc}") from exc


def load_catalogue(data_dir: Path, oblasts: set[str] | None = None) -> list[Programme]:
    programmes = [load_programme(p) for p in sorted((data_dir / "programmes").glob("*.yaml"))]
    ids = [p.id for p in programmes]
    if len(ids) != len(set(ids)):
        raise CatalogueError("two programme files use the same id")
    if oblasts is not None:
        for programme in programmes:
            if programme.oblast not in oblasts:
                raise CatalogueError(f"programme {programme.id}: unknown oblast {programme.oblast}")
    return programmes


def report(programmes: list[Programme]) -> str:
    """`python -m bot catalogue check`: counts per programme and the source's inconsistencies."""
    lines = []
    for programme in programmes:
        c = counts(programme)
        lines.append(f"{programme.id}: {c.tasks} tasks, {c.measures} measures, {c.indicators} indicators")
        findings = check(programme)
        lines.extend(f"  ! {f}" for f in findings)
        if not findings:
            lines.append("  no inconsistencies found")
    return "\n".join(lines)


def admit(programme: Programme, catalogue: list[Programme], oblasts: set[str]) -> list[str]:
    """Whether a new (or corrected) programme file may join the catalogue: its oblast must be known and its
    years must not overlap another programme of that oblast, since a year's reports measure it against the
    one programme in force (bot/services/reports.py). CatalogueError if not; otherwise what `check` finds
    inconsistent in its source, to be told (the seed programmes have such findings and are used as is)."""
    if programme.oblast not in oblasts:
        raise CatalogueError(f"programme {programme.id}: unknown oblast {programme.oblast}")
    for other in catalogue:
        shared = sorted(set(other.years) & set(programme.years))
        if other.id != programme.id and other.oblast == programme.oblast and shared:
            years = ", ".join(str(y) for y in shared)
            raise CatalogueError(f"programme {programme.id}: {years} already belong to {other.id}")
    return check(programme)
