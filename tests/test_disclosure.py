"""Disclosure control across reports: everything a coordinator can obtain for a year (the oblast's
case statistics, each district's, the annual information of both) is read back as published, every
equality the tables imply is set up, and a linear programme bounds each hidden cell. None may be
narrowed to fewer than 3 possible values, on a dataset built to break the old per-report
suppression (issue 16: Lozova worked out from Chuhuiv's total, seven "<5" months adding up to 27, an
age cell pinned to 1) and on randomised ones. Guarded code: bot/services/disclosure.py."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scipy.optimize import linprog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.cases import AGE_GROUPS, SEXES, Outcome, Situation
from bot.services.catalogue import load_catalogue
from bot.services.directory import Need, load_directory
from bot.services.disclosure import Counts, protect
from bot.services.reports import SECONDARY, SUPPRESSED, Report, ReportService
from db.engine import create_engine, create_sessionmaker
from db.migrate import upgrade_to_head
from db.models import Case

PROGRAMME = "kharkiv-2023-2025"
YEAR = 2025
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parent.parent / "data"
DIRECTORY = load_directory(DATA)
KHARKIV = DIRECTORY.oblast("kharkiv")
assert KHARKIV is not None
DISTRICTS: list[str] = [d.id for d in KHARKIV.districts]
UNITS: list[str | None] = [*DISTRICTS, None]
OBLAST = "*"
OUTCOMES = [None, *[o.value for o in Outcome if o != Outcome.DUPLICATE]]
# The additive breakdowns in the order reports.py publishes them (sections 0, 1, 3, 4, 5).
DIMS: dict[str, list[object]] = {
    "month": list(range(1, 13)),
    "situation": [s.value for s in Situation],
    "outcome": OUTCOMES,
    "sex": [*SEXES, None],
    "age": [*AGE_GROUPS, None],
}
SECTION = {"month": 0, "situation": 1, "outcome": 3, "sex": 4, "age": 5}
NEEDS = [n.value for n in Need]
MIN_VALUES = 3


@dataclass(frozen=True)
class Seeded:
    district: str | None
    month: int
    situation: str
    outcome: str | None
    sex: str | None
    age: str | None
    needs: tuple[str, ...]


# --- datasets -----------------------------------------------------------------------------------
def _spread(counts: Sequence[int], values: Sequence[object], rng: random.Random) -> list[object]:
    out = [v for v, n in zip(values, counts, strict=True) for _ in range(n)]
    rng.shuffle(out)
    return out


def issue_dataset() -> list[Seeded]:
    """Issue 16's numbers: 54 cases in districts of 12, 8, 25, 6 and 3 (Chuhuiv 6, Lozova 3), seven
    months under 5 adding up to 27, one case with no age given."""
    rng = random.Random(16)
    per_district = {
        "kharkiv-bohodukhiv": 12,
        "kharkiv-izium": 8,
        "kharkiv-kharkiv": 25,
        "kharkiv-chuhuiv": 6,
        "kharkiv-lozova": 3,
    }
    districts = [d for d, n in per_district.items() for _ in range(n)]
    months = _spread([4, 5, 4, 6, 4, 5, 4, 6, 4, 5, 3, 4], DIMS["month"], rng)
    ages = _spread([6, 20, 22, 5, 1], DIMS["age"], rng)
    sexes = _spread([40, 13, 1], DIMS["sex"], rng)
    situations = _spread([30, 8, 10, 2, 3, 1], DIMS["situation"], rng)
    outcomes = _spread([9, 30, 7, 5, 3], DIMS["outcome"], rng)
    cases = []
    for i, district in enumerate(districts):
        needs = tuple(n for j, n in enumerate(NEEDS) if j == 0 or (i + j) % 5 == 0)  # all need legal aid
        cases.append(
            Seeded(
                district,
                int(str(months[i])),
                str(situations[i]),
                _opt(outcomes[i]),
                _opt(sexes[i]),
                _opt(ages[i]),
                needs,
            )
        )
    return cases


def random_dataset(seed: int) -> list[Seeded]:
    rng = random.Random(seed)
    size = rng.choice([3, 9, 30, 54, 120])
    weights = [rng.random() ** 2 for _ in UNITS]
    cases = []
    for _ in range(size):
        needs = tuple(n for n in NEEDS if rng.random() < 0.3)
        cases.append(
            Seeded(
                rng.choices(UNITS, weights)[0],
                rng.randint(1, 12),
                rng.choice(DIMS["situation"]),  # type: ignore[arg-type]
                _opt(rng.choice(OUTCOMES)),
                _opt(rng.choice(DIMS["sex"])),
                _opt(rng.choice(DIMS["age"])),
                needs,
            )
        )
    return cases


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


# --- the service, seeded ------------------------------------------------------------------------
@pytest.fixture
async def sm(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


def service(sm: async_sessionmaker[AsyncSession]) -> ReportService:
    return ReportService(
        sm, load_catalogue(DATA, {o.id for o in DIRECTORY.oblasts}), DIRECTORY, clock=lambda: NOW
    )


async def seed(sm: async_sessionmaker[AsyncSession], cases: Sequence[Seeded]) -> None:
    async with sm() as session, session.begin():
        for i, c in enumerate(cases):
            session.add(
                Case(
                    code=f"D{i:07d}",
                    status="closed" if c.outcome else "new",
                    outcome=c.outcome,
                    situation=c.situation,
                    needs=",".join(c.needs),
                    oblast="kharkiv",
                    district=c.district,
                    contact="bot",
                    sex=c.sex,
                    age_group=c.age,
                    created_at=datetime(YEAR, c.month, 10, 9, 0, tzinfo=UTC),
                )
            )
        # A duplicate and another year's case: in no table.
        session.add(
            Case(
                code="DUP0001",
                status="closed",
                outcome=Outcome.DUPLICATE.value,
                situation="labour",
                needs="",
                oblast="kharkiv",
                district="kharkiv-lozova",
                contact="bot",
                created_at=datetime(YEAR, 3, 1, tzinfo=UTC),
            )
        )


async def published(reports: ReportService) -> list[Report]:
    """Every report with case figures a coordinator can obtain for the year."""
    built = [await reports.build(kind, PROGRAMME, YEAR, None, "uk") for kind in ("cases", "annual")]
    for district in DISTRICTS:
        built += [await reports.build(kind, PROGRAMME, YEAR, district, "uk") for kind in ("cases", "annual")]
    return built


# --- reading the published cells back ------------------------------------------------------------
Var = tuple[str, str | None, int]  # (breakdown, unit, index); a unit's total is ("total", unit, 0)


class Knowledge:
    """What a reader of all the reports knows: bounds on each cell, and which cells were hidden."""

    def __init__(self) -> None:
        self.bounds: dict[Var, tuple[float, float]] = {}
        self.hidden: set[Var] = set()

    def learn(self, var: Var, shown: object, total: bool = False) -> None:
        if shown == SUPPRESSED:
            # Zeros are "<5" too, except for a unit with no case, shown as 0 with its total.
            low, high = (1.0 if total else 0.0), 4.0
        elif shown == SECONDARY:
            low, high = 5.0, math.inf
        else:
            assert isinstance(shown, int), (var, shown)
            assert not 0 < shown < 5, (var, shown)
            low = high = float(shown)
        if shown in (SUPPRESSED, SECONDARY):
            self.hidden.add(var)
        old_low, old_high = self.bounds.get(var, (0.0, math.inf))
        self.bounds[var] = (max(low, old_low), min(high, old_high))
        assert self.bounds[var][0] <= self.bounds[var][1], f"{var}: reports disagree"

    def read(self, report: Report) -> None:
        unit = report.district or OBLAST
        self.learn(("total", unit, 0), _summary_total(report), total=True)
        if report.kind == "cases":
            for dim, index in SECTION.items():
                for i, row in enumerate(report.sections[index].rows):
                    self.learn((dim, unit, i), row[1])
            for i, row in enumerate(report.sections[2].rows):
                self.learn(("needs", unit, i), row[1])
            if report.district is None:
                for i, row in enumerate(report.sections[6].rows):
                    self.learn(("total", UNITS[i], 0), row[1], total=True)
        else:  # the annual information: cases by district, then by situation
            for i, row in enumerate(report.sections[0].rows):
                self.learn(("total", UNITS[i] if report.district is None else unit, 0), row[3], total=True)
            for i, row in enumerate(report.sections[2].rows):
                self.learn(("situation", unit, i), row[1])


def _summary_total(report: Report) -> object:
    text = next(s for s in report.summary if s.startswith("Звернень:"))
    found = re.match(r"Звернень: (\S+) ", text)
    assert found, text
    value = found.group(1)
    return int(value) if value.isdigit() else value


# --- the linear programme -------------------------------------------------------------------------
def variables() -> list[Var]:
    out: list[Var] = []
    for unit in [*UNITS, OBLAST]:
        out.append(("total", unit, 0))
        for dim, values in DIMS.items():
            out += [(dim, unit, i) for i in range(len(values))]
        out += [("needs", unit, i) for i in range(len(NEEDS))]
    return out


def bounds_of_hidden(knowledge: Knowledge, watch: Sequence[Var]) -> dict[Var, tuple[float, float]]:
    """min and max of each watched cell over every dataset agreeing with all that is published."""
    names = variables()
    column = {v: i for i, v in enumerate(names)}
    equalities: list[dict[int, float]] = []
    for unit in [*UNITS, OBLAST]:  # each breakdown adds up to its unit's total
        for dim, values in DIMS.items():
            row = {column[(dim, unit, i)]: 1.0 for i in range(len(values))}
            row[column[("total", unit, 0)]] = -1.0
            equalities.append(row)
    for dim, size in [*((d, len(v)) for d, v in DIMS.items()), ("needs", len(NEEDS)), ("total", 1)]:
        for i in range(size):  # the oblast's cell is the sum of the units'
            row = {column[(dim, unit, i)]: 1.0 for unit in UNITS}
            row[column[(dim, OBLAST, i)]] = -1.0
            equalities.append(row)
    limits = []  # a need is counted at most once per case
    for unit in [*UNITS, OBLAST]:
        for i in range(len(NEEDS)):
            limits.append({column[("needs", unit, i)]: 1.0, column[("total", unit, 0)]: -1.0})
    a_eq = [[row.get(j, 0.0) for j in range(len(names))] for row in equalities]
    a_ub = [[row.get(j, 0.0) for j in range(len(names))] for row in limits]
    box = [knowledge.bounds.get(v, (0.0, math.inf)) for v in names]
    box = [(low, None if high == math.inf else high) for low, high in box]
    found = {}
    for var in watch:
        cost = [0.0] * len(names)
        ends = []
        for sign in (1.0, -1.0):
            cost[column[var]] = sign
            result = linprog(
                cost,
                A_ub=a_ub,
                b_ub=[0.0] * len(a_ub),
                A_eq=a_eq,
                b_eq=[0.0] * len(a_eq),
                bounds=box,
                method="highs",
            )
            assert result.status in (0, 3), (var, result.message)
            ends.append(sign * result.fun if result.status == 0 else math.inf)
        found[var] = (ends[0], ends[1])
    return found


def narrow_cells(cases: Sequence[Seeded], reports: Sequence[Report]) -> dict[Var, tuple[float, float]]:
    """Hidden cells, and the never-shown ones of the cases with no district when small, that all
    the reports together narrow to fewer than 3 possible values."""
    knowledge = Knowledge()
    for report in reports:
        knowledge.read(report)
    truth = true_counts(cases)
    unseen = [
        v
        for v in variables()
        if v[1] is None and v[0] != "total" and truth[None][v] < 5 and truth[None][("total", None, 0)] > 0
    ]
    ranges = bounds_of_hidden(knowledge, sorted(knowledge.hidden | set(unseen), key=str))
    return {
        v: r for v, r in ranges.items() if math.floor(r[1] + 1e-6) - math.ceil(r[0] - 1e-6) + 1 < MIN_VALUES
    }


def true_counts(cases: Sequence[Seeded]) -> dict[str | None, Counter[Var]]:
    out: dict[str | None, Counter[Var]] = {u: Counter() for u in UNITS}
    for c in cases:
        cell = out[c.district]
        cell[("total", c.district, 0)] += 1
        for dim, value in (
            ("month", c.month),
            ("situation", c.situation),
            ("outcome", c.outcome),
            ("sex", c.sex),
            ("age", c.age),
        ):
            cell[(dim, c.district, DIMS[dim].index(value))] += 1
        for need in c.needs:
            cell[("needs", c.district, NEEDS.index(need))] += 1
    return out


# --- the tests ---------------------------------------------------------------------------------
async def test_no_combination_of_reports_narrows_a_hidden_cell(sm: async_sessionmaker[AsyncSession]) -> None:
    cases = issue_dataset()
    await seed(sm, cases)
    reports = await published(service(sm))
    assert narrow_cells(cases, reports) == {}
    oblast = reports[0]
    by_district = dict(zip(UNITS, (row[1] for row in oblast.sections[6].rows), strict=True))
    assert by_district["kharkiv-lozova"] == SUPPRESSED


# The rule and the bounds are arithmetic over the counts read back: the issue's dataset runs on every
# backend (test_no_combination_of_reports_narrows_a_hidden_cell), these six only in the SQLite pass.
@pytest.mark.same_on_every_backend
@pytest.mark.parametrize("seed_value", [1, 2, 3, 4, 5, 6])
async def test_randomised_datasets_leave_every_hidden_cell_wide(
    sm: async_sessionmaker[AsyncSession], seed_value: int
) -> None:
    cases = random_dataset(seed_value)
    await seed(sm, cases)
    assert narrow_cells(cases, await published(service(sm))) == {}


def test_the_service_rule_protects_the_issue_dataset_on_its_own() -> None:
    truth = true_counts(issue_dataset())

    def counts(unit: str | None) -> Counts:
        cell = truth[unit]
        parts = {d: [cell[(d, unit, i)] for i in range(len(v))] for d, v in DIMS.items()}
        return Counts(cell[("total", unit, 0)], parts, [cell[("needs", unit, i)] for i in range(len(NEEDS))])

    forward = protect({u: counts(u) for u in UNITS}, DISTRICTS)
    assert not forward.unresolved
    assert forward.total("kharkiv-lozova") == SUPPRESSED
