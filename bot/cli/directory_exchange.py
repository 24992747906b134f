"""`python -m bot directory export|import`: the effective directory (data files and the checks made in the
bot) as HSDS-named CSV or JSON, and a CSV imported into it (bot/services/directory_exchange.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.services.directory import Entry
from bot.services.directory_exchange import Plan
from bot.settings import Settings

ACTIONS = ("export", "import")


def add_arguments(directory: argparse.ArgumentParser) -> None:
    directory.add_argument("file", nargs="?", type=Path, help="import: the CSV file to import")
    directory.add_argument(
        "--format", choices=["csv", "json"], default="csv", help="export: the file's format"
    )
    directory.add_argument("--out", type=Path, default=None, help="export: the file to write")
    directory.add_argument(
        "--dry-run", action="store_true", help="import: show what would change, write nothing"
    )
    directory.add_argument(
        "--language",
        choices=["uk", "en"],
        default="uk",
        help="the language of import's summary and of the coverage table",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "export":
        if args.out is None:
            print("directory export: name the file to write (--out FILE)", file=sys.stderr)
            return 2
        return export(settings, args.format, args.out)
    if args.file is None:
        print("directory import: name the CSV file to import", file=sys.stderr)
        return 2
    return import_file(settings, args.file, dry_run=args.dry_run, language=args.language)


def export(settings: Settings, form: str, out: Path) -> int:
    from bot.services.directory_exchange import to_csv, to_json

    entries = asyncio.run(_effective(settings))
    body = to_csv(entries) if form == "csv" else to_json(entries)
    try:
        out.write_bytes(body)
    except OSError as exc:
        print(f"Cannot write {out}: {exc}", file=sys.stderr)
        return 2
    print(f"{out}: {len(entries)} entries ({len(body)} bytes)")
    return 0


async def _effective(settings: Settings) -> tuple[Entry, ...]:
    from bot.composition import open_services

    services = await open_services(settings)
    try:
        await services.directory_checks.load()  # the bot's corrections and withdrawals too
        return services.directory.all_entries
    finally:
        await services.close()


def import_file(settings: Settings, path: Path, *, dry_run: bool, language: str) -> int:
    """Exit 0: imported (or nothing to do); 1: some rows refused (the others imported unless --dry-run);
    2: the file cannot be used, nothing imported."""
    from bot.services.directory_exchange import ImportRefused, file_refusal, read_rows
    from bot.services.reports import translator

    translate = translator(language)
    try:
        rows = read_rows(path.read_bytes())
    except OSError as exc:
        print(f"Cannot read {path}: {exc}", file=sys.stderr)
        return 2
    except ImportRefused as refused:
        print(file_refusal(refused, translate), file=sys.stderr)
        return 2
    plan = asyncio.run(_import(settings, rows, dry_run=dry_run, language=language))
    return 1 if plan.refused else 0


async def _import(
    settings: Settings, rows: list[tuple[int, dict[str, str]]], *, dry_run: bool, language: str
) -> Plan:
    from bot.composition import open_services
    from bot.services.directory_exchange import plan_import, summary
    from bot.services.reports import translator
    from bot.services.staff import Role, StaffRole

    translate = translator(language)
    services = await open_services(settings)
    try:
        checks = services.directory_checks
        await checks.load()
        # Whoever runs commands on the server is the deployment's administrator.
        plan = plan_import(
            services.directory, rows, [StaffRole(Role.ADMIN, None, None, None)], checks.today()
        )
        print(summary(plan, translate, language))
        if plan.has_changes and not dry_run:
            await checks.record_import(None, plan.imported, plan.withdrawn, via="cli")
            print(translate("import.applied"))
        elif dry_run:
            print(translate("import.dry_run"))
        return plan
    finally:
        await services.close()
