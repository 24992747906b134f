"""Which of Dovira's packages may import which, checked from the source (no dependency: the ast module).

Every import counts: at the top of a module, inside a function, under `if TYPE_CHECKING:`, relative or
absolute. And they count through our own modules: when A imports B and B imports C, A imports C (the
line says so: `A -> C (via B)`). A chain stops counting at a module the contract lets it pass through
(the services own the database: a handler that calls a service does not import db).

    graph = import_graph(Path("."))
    for line in check(graph):
        print(line)  # "handlers.ui -> scheduler.outbox", "handlers.ui -> db.models (via bot.storage)"

Not seen: imports built at run time (`importlib.import_module(name)`); the packages use none.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("bot", "db", "handlers", "scheduler")


@dataclass(frozen=True)
class Contract:
    """The modules of `source` import none of `forbidden`, directly or through our own modules, except
    through the modules `through` names for a forbidden package (as `{"db": ("bot.services",)}`)."""

    name: str
    source: str
    forbidden: tuple[str, ...]
    through: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


CONTRACTS = (
    Contract("db imports nothing of ours (only db.* itself)", "db", ("bot", "handlers", "scheduler")),
    Contract(
        "services never import handlers, bot.app or scheduler",
        "bot.services",
        ("handlers", "bot.app", "scheduler"),
    ),
    Contract("scheduler never imports handlers", "scheduler", ("handlers",)),
    Contract(
        "handlers never import scheduler or db",
        "handlers",
        ("scheduler", "db"),
        # The services keep the tables, and the FSM storage (bot.storage, under bot.redis_storage too)
        # keeps the dialogs: a handler reaches the database only through them.
        through={"db": ("bot.services", "bot.storage")},
    ),
)


def within(module: str, prefix: str) -> bool:
    """`module` is `prefix` or inside it (`bot.services.cases` is within `bot.services` and `bot`)."""
    return module == prefix or module.startswith(prefix + ".")


def modules_of(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Every .py file of the packages under `root`, by dotted name (a package by its __init__.py).
    Folders without an __init__.py (db/migrations) are read too: Alembic runs their files."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _ours(name: str, modules: Mapping[str, Path]) -> str | None:
    """The module of ours an imported name lands in: itself, or the nearest package above it (`from
    bot.services.cases import Case` -> bot.services.cases; `import bot.nowhere` -> bot)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    """The modules of ours that `module` imports, wherever in the file the import is."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _ours(alias.name, modules)
                if target:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..services import y
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            for alias in node.names:
                # `from handlers import notify` imports the module handlers.notify when there is one.
                named = f"{origin}.{alias.name}"
                target = named if named in modules else _ours(origin, modules)
                if target:
                    found.add(target)
    found.discard(module)
    return found


def import_graph(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports directly, for the packages under `root`."""
    modules = modules_of(root, packages)
    return {module: imports_of(module, path, modules) for module, path in modules.items()}


def broken_by(graph: Mapping[str, set[str]], contract: Contract) -> list[str]:
    """Each module of the contract's source that reaches a forbidden module, one line per pair, by the
    shortest chain: `a.b -> c.d` (a direct import) or `a.b -> c.d (via x.y -> z.w)`."""
    lines = []
    for start in sorted(m for m in graph if within(m, contract.source)):
        # A step: the module, the forbidden packages a gateway passed on the way has cleared, the chain.
        queue: deque[tuple[str, frozenset[str], tuple[str, ...]]] = deque([(start, frozenset(), ())])
        seen = {(start, frozenset[str]())}
        reached: set[str] = set()
        while queue:
            module, cleared, via = queue.popleft()
            for target in sorted(graph.get(module, ())):
                hit = [f for f in contract.forbidden if within(target, f) and f not in cleared]
                if hit:
                    if target not in reached:
                        reached.add(target)
                        chain = f" (via {' -> '.join(via)})" if via else ""
                        lines.append(f"{start} -> {target}{chain}")
                    continue
                passed = cleared | {
                    f for f, gates in contract.through.items() if any(within(target, g) for g in gates)
                }
                if (target, passed) not in seen:
                    seen.add((target, passed))
                    queue.append((target, passed, (*via, target)))
    return sorted(lines)


def check_each(
    graph: Mapping[str, set[str]], contracts: Iterable[Contract] = CONTRACTS
) -> dict[str, list[str]]:
    """Contract name -> the lines that break it (an empty list: kept)."""
    return {contract.name: broken_by(graph, contract) for contract in contracts}


def check(graph: Mapping[str, set[str]], contracts: Iterable[Contract] = CONTRACTS) -> list[str]:
    """Every line that breaks a contract, contract by contract."""
    return [line for lines in check_each(graph, contracts).values() for line in lines]


def described(graph: Mapping[str, set[str]], contracts: Iterable[Contract] = CONTRACTS) -> str:
    """The broken contracts, each with its lines: for an assertion's message."""
    return "\n".join(
        f"{name}:\n" + "\n".join(f"  {line}" for line in lines)
        for name, lines in check_each(graph, contracts).items()
        if lines
    )
