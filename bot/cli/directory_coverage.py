"""`python -m bot directory coverage [--oblast ID]`: how many entries people can call, per district and
kind of help, as a plain text table (bot/services/directory_coverage.py counts; this only prints)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from itertools import groupby

from bot.services.directory import Directory, DirectoryError
from bot.services.directory_coverage import CoverageRow, coverage
from bot.settings import Settings

WIDTH = 110  # what a terminal and a closing note show; tests/test_directory_coverage.py keeps to it


def add_arguments(directory: argparse.ArgumentParser) -> None:
    directory.add_argument("--oblast", default=None, help="coverage: one oblast (e.g. kharkiv); default: all")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """The effective directory, as the bot shows it: the data files with the checks made in the bot."""
    from bot.composition import open_services

    services = await open_services(settings)
    try:
        await services.directory_checks.load()
        return show(services.directory, args.oblast, args.language)
    finally:
        await services.close()


def show(directory: Directory, oblast_id: str | None, language: str) -> int:
    from bot.i18n import compile_translations

    translations = compile_translations()
    _ = translations[language].gettext
    try:
        rows = coverage(directory, oblast_id)
    except DirectoryError:
        known = ", ".join(o.id for o in directory.oblasts)
        print(_("coverage.unknown_oblast").format(oblast=oblast_id, oblasts=known), file=sys.stderr)
        return 2
    for _oblast, oblast_rows in groupby(rows, key=lambda r: r.oblast.id):
        print("\n".join(table(list(oblast_rows), language, _)))
        print()
    return 0


def table(rows: Sequence[CoverageRow], language: str, _: Callable[[str], str]) -> list[str]:
    """One oblast: its title and legend, then each district's kinds of help, one line each."""
    header = [_("coverage.need"), _("coverage.local"), _("coverage.oblast_wide"), _("coverage.oldest"), ""]
    cells = [_cells(row, _) for row in rows]
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]

    def line(values: Sequence[str]) -> str:
        return ("  " + "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=False))).rstrip()

    title = _("coverage.title").format(oblast=rows[0].oblast.name.get(language))
    lines = [title, _("coverage.legend"), "", line(header)]
    for _district, district_rows in groupby(zip(rows, cells, strict=True), key=lambda p: p[0].district.id):
        pairs = list(district_rows)
        lines.append(pairs[0][0].district.name.get(language))
        lines.extend(line(c) for _row, c in pairs)
    covered = sum(1 for r in rows if not r.no_local_phone)
    lines.append(_("coverage.summary").format(covered=covered, total=len(rows)))
    return lines


def _cells(row: CoverageRow, _: Callable[[str], str]) -> list[str]:
    oldest = row.oldest_check.isoformat() if row.oldest_check else "—"
    gap = _("coverage.none") if row.no_local_phone else ""  # what a coordinator has to fill
    local, wide = f"{row.local_with_phone}/{row.local}", f"{row.oblast_wide_with_phone}/{row.oblast_wide}"
    return [row.need.value, local, wide, oldest, gap]
