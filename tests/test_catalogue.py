"""The catalogue against the seeds: counts, and targets and budgets the test reads from the seed text
itself. The seeds live in shared/seeds/ beside the checkout (CI has them; a bare clone may not)."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bot.services.catalogue import Programme, check, counts, load_catalogue

pytestmark = pytest.mark.same_on_every_backend  # its own SQLite file, or none

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
KHARKIV_SEED = SEEDS / "000_d42501407e5c58e8.txt"
ZHYTOMYR_SEED = SEEDS / "004_91a65fcfbc8e2ea2.txt"
needs_seeds = pytest.mark.skipif(
    not KHARKIV_SEED.exists(), reason="shared/seeds/ is not beside this checkout"
)


@pytest.fixture(scope="module")
def catalogue() -> dict[str, Programme]:
    return {p.id: p for p in load_catalogue(ROOT / "data", {"kharkiv", "zhytomyr"})}


def _number(cell: str) -> Decimal | None:
    cleaned = cell.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    return Decimal(cleaned) if re.fullmatch(r"\d+(\.\d+)?", cleaned) else None


def _cells(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text("utf-8").splitlines()]


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def test_counts_per_programme(catalogue: dict[str, Programme]) -> None:
    # Kharkiv Annex 1: tasks 1-7, 35 measure cells, 44 indicators (two share one cell in task 4 measure 12).
    assert counts(catalogue["kharkiv-2023-2025"]) == (7, 35, 44)
    # Zhytomyr: part I directions 1-4, part II directions 1-5; 5 product, 6 efficiency, 4 quality indicators.
    assert counts(catalogue["zhytomyr-2021"]) == (9, 35, 15)


@needs_seeds
def test_kharkiv_indicator_targets_read_from_the_seed(catalogue: dict[str, Programme]) -> None:
    """An indicator cell followed by four numbers (total, 2023, 2024, 2025) in the seed text."""
    lines = _cells(KHARKIV_SEED)
    from_seed: dict[str, list[tuple[Decimal | None, ...]]] = {}
    for i, line in enumerate(lines):
        if re.match(r"^(кількість|частка)", line):
            values = tuple(_number(c) for c in lines[i + 1 : i + 5])
            if all(v is not None for v in values):
                from_seed.setdefault(_squash(line), []).append(values)  # some names recur
    programme = catalogue["kharkiv-2023-2025"]
    compared = 0
    for indicator in programme.all_indicators():
        seed = from_seed.get(_squash(indicator.name))
        if seed is None:
            continue
        ours = (indicator.total, *(indicator.by_year.get(y) for y in (2023, 2024, 2025)))
        assert tuple(Decimal(str(v)) if v is not None else None for v in ours) in seed, indicator.id
        compared += 1
    assert compared >= 15, f"only {compared} indicators could be read back from the seed"


@needs_seeds
def test_kharkiv_budgets_read_from_the_seed(catalogue: dict[str, Programme]) -> None:
    """Each planned budget (total and per year) stands in the seed as four consecutive numbers."""
    numbers = [_number(c) for c in _cells(KHARKIV_SEED)]
    quads = {tuple(numbers[i : i + 4]) for i in range(len(numbers) - 3) if all(numbers[i : i + 4])}
    budgets = [
        (t.number, m.number, m.budget) for t, m in catalogue["kharkiv-2023-2025"].measures() if m.budget
    ]
    checked = 0
    for task, measure, budget in budgets:
        assert budget is not None
        years = [budget.by_year.get(y) for y in (2023, 2024, 2025)]
        if budget.total is None or any(v is None for v in years):
            continue
        quad = tuple(Decimal(str(v)) for v in (budget.total, *years))
        assert quad in quads, f"task {task} measure {measure}: {quad} is not in the seed"
        checked += 1
    assert checked >= 5


@needs_seeds
def test_zhytomyr_indicators_read_from_the_seed(catalogue: dict[str, Programme]) -> None:
    """The indicator table: number, name, unit, baseline, 2021 value, one cell per line."""
    lines = _cells(ZHYTOMYR_SEED)
    start = next(i for i, line in enumerate(lines) if line.startswith("Показники продукту"))
    rows = []
    i = start
    while i < len(lines) - 4 and len(rows) < 15:
        if re.fullmatch(r"\d+", lines[i]) and lines[i + 2] in ("од.", "грн.", "%", "осіб"):
            rows.append((lines[i + 1], lines[i + 2], _number(lines[i + 3]), _number(lines[i + 4])))
            i += 5
        else:
            i += 1
    assert len(rows) == 15
    programme = catalogue["zhytomyr-2021"]
    ours = list(programme.indicators)
    assert len(ours) == len(rows)
    for indicator, (name, unit, baseline, value) in zip(ours, rows, strict=True):
        assert _squash(indicator.name).startswith(_squash(name)[:40]), indicator.id
        assert indicator.unit == unit, indicator.id
        assert (Decimal(str(indicator.baseline)), Decimal(str(indicator.by_year[2021]))) == (baseline, value)


def test_check_flags_the_sources_inconsistencies_without_changing_them(
    catalogue: dict[str, Programme],
) -> None:
    findings = check(catalogue["kharkiv-2023-2025"])
    assert any("4.11.a" in f and "75" in f for f in findings)  # 5 + 10 + 10 printed against a total of 75
    indicator = next(i for i in catalogue["kharkiv-2023-2025"].all_indicators() if i.id == "4.11.a")
    assert indicator.total == 75  # transcribed as printed


def test_catalogue_check_command_prints_counts() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "catalogue", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "kharkiv-2023-2025: 7 tasks, 35 measures, 44 indicators" in proc.stdout
    assert "zhytomyr-2021: 9 tasks, 35 measures, 15 indicators" in proc.stdout
