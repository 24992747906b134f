"""`python -m bot catalogue check`: the programme catalogue's counts and its source's inconsistencies."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.services.catalogue import CatalogueError, load_catalogue, report


def check(data_dir: Path) -> int:
    try:
        print(report(load_catalogue(data_dir)))
    except CatalogueError as exc:
        print(f"The catalogue cannot be loaded: {exc}", file=sys.stderr)
        return 1
    return 0
