"""Disclosure control for the case statistics of one oblast and year, across every report a
coordinator can obtain for it: the oblast's, each district's and the annual information; months,
categories, the chart and the message all read the one decision made here. No Telegram or DB types.

What is published (bot/services/reports.py): for the oblast and for each district (a "unit") its
total, and for each additive breakdown (months, situation, outcome, sex, age group) counts that add
up to that total; the needs (a case can have several, so each is at most the total); the oblast
report also gives each district's total and that of the cases with no district, whose breakdowns
are never shown. Oblast cells are the sums of the units' cells, so every table constrains the others.

The rule:
- primary: in a unit with cases, every count below 5, zero included, is "<5". Showing zeros and
  hiding only 1-4 would tell a reader each "<5" is at least 1: three "<5" months adding up to 4
  would each be 1 or 2. A unit with no case is shown as such (0), as its own report says so anyway;
  a hidden unit total is therefore 1-4.
- secondary: a shown count is hidden too ("≥5", it is 5 or more), in every table where it
  appears, wherever the audit finds a hidden cell that the published figures of all these reports
  together narrow to fewer than 3 possible values; repeated until none is found. The breakdowns of
  the cases with no district, never shown but implied by the oblast's minus the districts', are
  protected the same way.
- the audit is sufficient rather than exact (it needs no solver): for each hidden cell it looks for
  other datasets, agreeing with every published figure, in which that cell is 1 or 2 lower or
  higher. Those are moves along cycles of hidden cells, as in a table with margins (a max-flow on
  each breakdown); a unit total moves only together with another total when every breakdown and
  the needs can follow. Each move found is a real alternative dataset, so the true range is at
  least that wide; tests/test_disclosure.py checks it with a linear programme over all the tables.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

SMALL_COUNT = 5
SUPPRESSED = "<5"  # a count of 0 to 4; a unit's total: 1 to 4
SECONDARY = "≥5"  # a count of 5 or more, hidden so that no "<5" can be worked out
OBLAST = "*"  # the oblast-wide row; the units are district ids and None (no district given)
TOTAL = "total"
NEEDS = "needs"
WIDTH = 2  # how far a hidden cell must be able to move: 3 possible values
_INF = 1 << 30
_TRIES = 40  # candidates tried one by one before hiding the nearest

Unit = str | None
Key = tuple[str, Unit, int]  # (breakdown, unit, index); a unit's total is (TOTAL, unit, 0)
Shown = int | str
_Node = tuple[str, object]
_Graph = dict[_Node, dict[_Node, int]]

_SHOWN, _SMALL, _LARGE, _UNSEEN = range(4)  # how a reader sees a cell


@dataclass(frozen=True)
class Counts:
    """One unit's cases in the year: the total, each additive breakdown, the needs."""

    total: int
    parts: Mapping[str, Sequence[int]]
    needs: Sequence[int] = ()


@dataclass
class Disclosure:
    """What each cell of the year's case tables may show."""

    value: dict[Key, int]
    state: dict[Key, int]
    dims: dict[str, int] = field(default_factory=dict)
    unresolved: list[Key] = field(default_factory=list)  # cells the audit could not protect

    def cell(self, key: Key) -> Shown:
        state = self.state[key]
        if state == _UNSEEN:
            raise KeyError(key)
        return {_SMALL: SUPPRESSED, _LARGE: SECONDARY}.get(state, self.value[key])

    def total(self, unit: Unit) -> Shown:
        return self.cell((TOTAL, unit, 0))

    def part(self, dim: str, unit: Unit) -> list[Shown]:
        return [self.cell((dim, unit, i)) for i in range(self.dims[dim])]

    def needs(self, unit: Unit) -> list[Shown]:
        return [self.cell((NEEDS, unit, i)) for i in range(self.dims.get(NEEDS, 0))]


def protect(units: Mapping[Unit, Counts], reported: Collection[str]) -> Disclosure:
    """The cells to hide for an oblast whose cases, by unit, are `units` (every district, and None
    for no district); `reported`: the units with a report of their own (the districts)."""
    audit = _Audit(units, reported)
    audit.run()
    return audit.result


class _Audit:
    def __init__(self, units: Mapping[Unit, Counts], reported: Collection[str]) -> None:
        self.units: list[Unit] = list(units)
        self.rows: list[Unit] = [*self.units, OBLAST]
        first = next(iter(units.values()), Counts(0, {}))
        dims = {dim: len(counts) for dim, counts in first.parts.items()}
        dims[NEEDS] = len(first.needs)
        value: dict[Key, int] = {}
        for unit, counts in units.items():
            value[(TOTAL, unit, 0)] = counts.total
            for dim, row in [*counts.parts.items(), (NEEDS, counts.needs)]:
                for i, n in enumerate(row):
                    value[(dim, unit, i)] = n
        value[(TOTAL, OBLAST, 0)] = sum(c.total for c in units.values())
        for dim, size in dims.items():
            for i in range(size):
                value[(dim, OBLAST, i)] = sum(value[(dim, u, i)] for u in self.units)
        self.value = value
        self.result = Disclosure(value, {k: self._primary(k, reported) for k in value}, dims)
        self.state = self.result.state
        self.parts = [d for d in dims if d != NEEDS]

    def _primary(self, key: Key, reported: Collection[str]) -> int:
        dim, unit, _i = key
        value = self.value[key]
        if dim == TOTAL:
            return _SMALL if 0 < value < SMALL_COUNT else _SHOWN
        if unit != OBLAST and unit not in reported:
            return _UNSEEN
        has_cases = self.value[(TOTAL, unit, 0)] > 0
        return _SMALL if has_cases and value < SMALL_COUNT else _SHOWN

    # --- what a reader knows of a cell --------------------------------------------------------
    def bounds(self, key: Key) -> tuple[int, int]:
        state, value = self.state[key], self.value[key]
        if state == _SHOWN:
            return value, value
        if state == _SMALL:
            return (1 if key[0] == TOTAL else 0), SMALL_COUNT - 1
        return (SMALL_COUNT if state == _LARGE else 0), _INF

    def _protected(self) -> Iterator[Key]:
        for key, state in self.state.items():
            if state in (_SMALL, _LARGE) or (state == _UNSEEN and self._small_unseen(key)):
                yield key

    def _small_unseen(self, key: Key) -> bool:
        return self.value[(TOTAL, key[1], 0)] > 0 and self.value[key] < SMALL_COUNT

    # --- secondary suppression ----------------------------------------------------------------
    def run(self) -> None:
        pending = deque(self._protected())
        while pending:
            key = pending.popleft()
            while self.width(key) < WIDTH:
                extra = self._choose(key)
                if extra is None:
                    self.result.unresolved.append(key)
                    break
                self.state[extra] = _LARGE
                pending.append(extra)  # hiding only widens the others: they need no new look

    def _choose(self, key: Key) -> Key | None:
        """A shown cell to hide for `key`: the first, nearest and smallest, that alone protects it,
        else the first; unit totals last, as hiding one hides it in a district's report too, and the
        oblast's total last of all: it heads the oblast report and the annual information. None
        when even hiding every shown cell would not protect it (it is left as it is)."""
        shown = [k for k, s in self.state.items() if s == _SHOWN and self.value[k] >= SMALL_COUNT]
        near = self._near(key)
        headline = (TOTAL, OBLAST, 0)
        ranked = sorted(
            shown, key=lambda k: (k == headline, k not in near, k[0] == TOTAL, self.value[k], str(k))
        )
        if not ranked or not self._protected_by(key, ranked):
            return None
        for candidate in ranked[:_TRIES]:
            if self._protected_by(key, [candidate]):
                return candidate
        return ranked[0]

    def _protected_by(self, key: Key, extra: Sequence[Key]) -> bool:
        for k in extra:
            self.state[k] = _LARGE
        wide = self.width(key) >= WIDTH
        for k in extra:
            self.state[k] = _SHOWN
        return wide

    def _near(self, key: Key) -> set[Key]:
        """The cells sharing a line of a table with `key`: hidden, they most likely free it."""
        dim, unit, index = key
        totals = {(TOTAL, r, 0) for r in self.rows}
        if dim == TOTAL:
            return totals | {(d, unit, i) for d in self.result.dims for i in range(self.result.dims[d])}
        line = {(dim, unit, i) for i in range(self.result.dims[dim])}
        column = {(dim, r, index) for r in self.rows}
        return line | column | {(TOTAL, unit, 0)}

    # --- the audit: how far a hidden cell can move, up to WIDTH --------------------------------
    def width(self, key: Key) -> int:
        if key[0] == TOTAL:
            return self._total_width(key[1])
        if key[0] == NEEDS:
            return self._need_width(key[1], key[2])
        return self._part_width(key)

    def _caps(self, key: Key, sign: int) -> tuple[int, int]:
        """How far the signed cell can go up and down (sign -1: a margin, which moves the other way)."""
        low, high = self.bounds(key)
        value = self.value[key]
        up, down = high - value, value - low
        return (up, down) if sign > 0 else (down, up)

    def _graph(self, dim: str, without: Key | None = None) -> _Graph:
        """Breakdown `dim` as a bipartite graph, rows (units and the oblast) against categories, an
        edge per cell; unit totals are held still here."""
        graph: _Graph = defaultdict(dict)
        for row in self.rows:
            for i in range(self.result.dims[dim]):
                key = (dim, row, i)
                if key == without:
                    continue
                up, down = self._caps(key, -1 if row == OBLAST else 1)
                graph[("r", row)][("c", i)] = up
                graph[("c", i)][("r", row)] = down
        return graph

    def _part_width(self, key: Key) -> int:
        dim, row, index = key
        up, down = self._caps(key, -1 if row == OBLAST else 1)
        graph = self._graph(dim, without=key)
        rise = min(up, _flow(graph, ("c", index), ("r", row))) if up else 0
        fall = min(down, _flow(graph, ("r", row), ("c", index))) if down else 0
        return min(WIDTH, rise) + min(WIDTH, fall)

    def _total_width(self, unit: Unit) -> int:
        best = {1: 0, -1: 0}
        graphs = {dim: self._graph(dim) for dim in self.parts}
        for partner in self.rows:
            for direction in (1, -1):
                for step in range(best[direction] + 1, WIDTH + 1):
                    if not self._totals_move(unit, partner, direction * step, graphs):
                        break
                    best[direction] = step
        return best[1] + best[-1]

    def _totals_move(self, unit: Unit, partner: Unit, change: int, graphs: Mapping[str, _Graph]) -> bool:
        """Whether `unit`'s total can change by `change` with `partner`'s: the other way for two
        units, the same way for a unit and the oblast, every breakdown and the needs following."""
        if partner == unit:
            return False
        together = OBLAST in (unit, partner)
        delta = {unit: change, partner: change if together else -change}
        for row, d in delta.items():
            low, high = self.bounds((TOTAL, row, 0))
            if not low <= self.value[(TOTAL, row, 0)] + d <= high:
                return False
        # In each breakdown the change flows between the two rows through hidden cells.
        # A unit's cells rise with its total, the oblast's with the total: that row is the source.
        sources = [r for r, d in delta.items() if (d > 0) != (r == OBLAST)]
        if len(sources) != 1:
            return False
        source = sources[0]
        sink = partner if source == unit else unit
        if any(_flow(g, ("r", source), ("r", sink)) < abs(change) for g in graphs.values()):
            return False
        return all(self._needs_follow(n, delta) for n in range(self.result.dims[NEEDS]))

    def _need_room(self, row: Unit, index: int, change: int, total_change: int = 0) -> bool:
        low, high = self.bounds((NEEDS, row, index))
        value = self.value[(NEEDS, row, index)] + change
        return low <= value <= min(high, self.value[(TOTAL, row, 0)] + total_change)

    def _needs_follow(self, index: int, delta: Mapping[Unit, int]) -> bool:
        """A need's count must stay within its unit's total: when a total falls, the count falls
        too where it would exceed it, its case counted in another unit or dropped from the oblast's."""
        for row, d in delta.items():
            excess = self.value[(NEEDS, row, index)] - (self.value[(TOTAL, row, 0)] + d)
            if excess <= 0:
                continue
            if row == OBLAST or not self._need_room(row, index, -excess, d):
                return False
            others = [r for r in self.units if r != row]
            if not self._need_room(OBLAST, index, -excess, delta.get(OBLAST, 0)) and not any(
                self._need_room(r, index, excess, delta.get(r, 0)) for r in others
            ):
                return False
        return True

    def _need_width(self, row: Unit, index: int) -> int:
        """A need's count moves against another unit's (or with the oblast's); where it would pass
        its unit's total, that total moves with it, as a move of totals allows."""
        best = {1: 0, -1: 0}
        for partner in self.rows:
            if partner == row:
                continue
            same = OBLAST in (row, partner)
            for direction in (1, -1):
                for step in range(best[direction] + 1, WIDTH + 1):
                    change = direction * step
                    if not self._need_moves(row, partner, index, change, change if same else -change):
                        break
                    best[direction] = step
        return best[1] + best[-1]

    def _need_moves(self, row: Unit, partner: Unit, index: int, change: int, other: int) -> bool:
        if self._need_room(row, index, change) and self._need_room(partner, index, other):
            return True
        if change < 0 or row == OBLAST:
            return False
        # Past its unit's total: the total rises too, with another unit's or the oblast's.
        graphs = {dim: self._graph(dim) for dim in self.parts}
        for mate in self.rows:
            delta = {row: change, mate: change if OBLAST in (row, mate) else -change}
            if (
                mate != row
                and self._need_room(row, index, change, change)
                and self._need_room(partner, index, other, delta.get(partner, 0))
                and self._totals_move(row, mate, change, graphs)
            ):
                return True
        return False


def _flow(graph: _Graph, source: _Node, sink: _Node, limit: int = WIDTH) -> int:
    """How much can flow from source to sink, counted up to `limit` (augmenting paths)."""
    residual = {node: dict(edges) for node, edges in graph.items()}
    pushed = 0
    while pushed < limit:
        parent: dict[_Node, _Node] = {source: source}
        queue = deque([source])
        while queue and sink not in parent:
            node = queue.popleft()
            for nxt, cap in residual.get(node, {}).items():
                if cap > 0 and nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        if sink not in parent:
            break
        path = []
        node = sink
        while node != source:
            path.append((parent[node], node))
            node = parent[node]
        step = min(limit - pushed, *(residual[a][b] for a, b in path))
        for a, b in path:
            residual[a][b] -= step
            residual.setdefault(b, {})[a] = residual.get(b, {}).get(a, 0) + step
        pushed += step
    return pushed
