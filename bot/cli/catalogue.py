"""`python -m bot catalogue check`: the programme catalogue's counts and its source's inconsistencies;
`python -m bot catalogue load FILE`: a region's next programme (or a corrected file) checked and added."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from bot.services.catalogue import CatalogueError, admit, counts, load_catalogue, load_programme, report
from bot.settings import Settings


def check(data_dir: Path) -> int:
    try:
        print(report(load_catalogue(data_dir)))
    except CatalogueError as exc:
        print(f"The catalogue cannot be loaded: {exc}", file=sys.stderr)
        return 1
    return 0


def load(settings: Settings, source: Path) -> int:
    """Validate the file (the schema, then `admit`: a known oblast, years no other programme of the oblast
    has), copy it into data/programmes/ under its id, and load the catalogue into the database as the bot
    does at start-up. Exit 2 with the reason, nothing copied, if it cannot be used."""
    from bot.services.directory import load_directory

    data_dir = settings.data_dir
    try:
        programme = load_programme(source)
        oblasts = {o.id for o in load_directory(data_dir).oblasts}
        findings = admit(programme, load_catalogue(data_dir), oblasts)
    except CatalogueError as exc:
        print(f"{source}: not loaded: {exc}", file=sys.stderr)
        return 2
    target = data_dir / "programmes" / f"{programme.id}.yaml"
    replaced = target.exists()
    try:
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
    except OSError as exc:
        print(f"{source}: not loaded: cannot write {target}: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_into_database(settings))
    c = counts(programme)
    years = f"{min(programme.years)}–{max(programme.years)}"
    print(
        f"{programme.id} ({programme.oblast}, {years}) {'replaced' if replaced else 'loaded'}: "
        f"{c.tasks} tasks, {c.measures} measures, {c.indicators} indicators. "
        "The bot offers it from its next start."
    )
    for finding in findings:
        print(f"  ! {finding}")
    return 0


async def _into_database(settings: Settings) -> None:
    """Migrate and load the catalogue into the database, as a start-up does."""
    from bot.composition import open_services

    services = await open_services(settings)
    await services.close()
