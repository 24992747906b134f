"""The import contracts of tests/contracts.py: db imports nothing of ours, the services no handler, bot.app
or scheduler, the scheduler no handler, the handlers neither the scheduler nor db. Checked on this tree,
and the checker itself on small planted trees."""

from __future__ import annotations

from pathlib import Path

import pytest
from contracts import CONTRACTS, check, described, import_graph

pytestmark = pytest.mark.same_on_every_backend  # reads source files: no database

ROOT = Path(__file__).resolve().parent.parent


def plant(root: Path, files: dict[str, str]) -> Path:
    """A tree of packages: {"handlers/notify.py": "import scheduler.outbox", ...}; every folder a package."""
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        for folder in path.relative_to(root).parents:
            if folder != Path(".") and not (root / folder / "__init__.py").exists():
                (root / folder / "__init__.py").write_text("", encoding="utf-8")
    return root


# What the bot's layers may do: the composition root imports everything, the scheduler and the services
# the database, a handler a service (which uses the database) and the FSM storage.
KEPT = {
    "bot/app.py": "import handlers\nfrom scheduler import jobs\nfrom db.engine import create_engine\n",
    "bot/storage.py": "from db.models import FsmState\n",
    "bot/services/cases.py": "from db.models import Case\nfrom ..storage import FsmState\n",
    "handlers/__init__.py": "from handlers import cases\n",
    "handlers/cases.py": "from bot.services.cases import Case\nimport bot.storage\n",
    "scheduler/jobs.py": "from bot.services import cases\nfrom db.models import Case\n",
    "db/models.py": "from db.base import Base\nfrom . import base\n",
    "db/base.py": "import sqlalchemy\n",
    "db/engine.py": "",
    "db/migrations/env.py": "from db import models\n",
}


def test_a_tree_that_keeps_the_contracts_breaks_none(tmp_path: Path) -> None:
    root = plant(tmp_path, KEPT)
    graph = import_graph(root)
    assert graph["handlers.cases"] >= {"bot.services.cases", "bot.storage"}  # seen, and allowed
    assert check(graph) == []


def test_planted_violations_are_reported_with_their_chain(tmp_path: Path) -> None:
    root = plant(
        tmp_path,
        {
            **KEPT,
            # In a function, relative: the handler notifies through the scheduler's outbox.
            "handlers/notify.py": "def send():\n    from ..scheduler import outbox\n",
            # A handler that imports nothing forbidden itself, only a handler that does.
            "handlers/cases.py": KEPT["handlers/cases.py"] + "from handlers.notify import send\n",
            "scheduler/outbox.py": "from db.models import OutboxMessage\n",
            # Under TYPE_CHECKING: a service naming the composition root.
            "bot/services/reports.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.app import App\n"
            ),
            # The scheduler reaching a handler through a module of its own.
            "scheduler/jobs.py": KEPT["scheduler/jobs.py"] + "from scheduler import freshness\n",
            "scheduler/freshness.py": "import handlers.notify as notify\n",
            # db importing the bot's settings from the command line path of its Alembic env.
            "db/migrations/env.py": "def url():\n    from bot.settings import load\n",
            "bot/settings.py": "",
            # A handler reaching the database through a module that is not a gateway.
            "handlers/reports.py": "from bot.render import chart\n",
            "bot/render.py": "from db.engine import create_engine\n",
        },
    )
    lines = check(import_graph(root))
    assert lines == [
        "db.migrations.env -> bot.settings",
        "bot.services.reports -> bot.app",
        "scheduler.freshness -> handlers.notify",
        "scheduler.jobs -> handlers.notify (via scheduler.freshness)",
        # the package reaches its modules' imports; the outbox's own db import is not a second line
        "handlers -> scheduler.outbox (via handlers.cases -> handlers.notify)",
        "handlers.cases -> scheduler.outbox (via handlers.notify)",
        "handlers.notify -> scheduler.outbox",
        "handlers.reports -> db.engine (via bot.render)",
    ]


def test_the_whole_tree_is_read() -> None:
    """The graph the contract test below checks is this repository's (not an empty one that passes)."""
    graph = import_graph(ROOT)
    for package in ("bot", "bot.services", "db", "handlers", "scheduler"):
        assert package in graph
    assert "db.models" in graph["bot.services.cases"]
    assert {c.source for c in CONTRACTS} <= set(graph)


def test_the_packages_keep_their_import_contracts() -> None:
    """The layers of docs/ARCHITECTURE.md: a failure lists every import that breaks them, with its chain."""
    graph = import_graph(ROOT)
    assert not check(graph), "imports that break the contracts (tests/contracts.py):\n" + described(graph)
