"""Command line: `python -m bot` runs the bot; `python -m bot emulate` tries it offline."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.settings import Settings, SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Dovira Telegram bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot with long polling (the default)")
    emulate = sub.add_parser("emulate", help="chat with the bot in this terminal: no token, no internet")
    emulate.add_argument("--user", type=int, default=1001, help="Telegram user id to start as")
    catalogue = sub.add_parser("catalogue", help="the programme catalogue in data/programmes/")
    catalogue.add_argument("action", choices=["check"], help="check: counts and the source's inconsistencies")
    _report_parser(sub)
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
        if args.command == "catalogue":
            return _catalogue_check(settings.data_dir)
        if args.command == "report":
            return asyncio.run(_report(settings, args))
        if args.command == "emulate":
            _configure_logging(quiet=True)  # the terminal is the chat: keep it readable
            from bot.emulate import emulate as run_emulator

            return asyncio.run(run_emulator(settings, user_id=args.user))
        token = settings.require_token()
        _configure_logging(quiet=False)
        from bot.app import run

        asyncio.run(run(settings, token=token))
    except SettingsError as exc:
        print(f"Dovira cannot start: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def _catalogue_check(data_dir: Path) -> int:
    from bot.services.catalogue import CatalogueError, load_catalogue, report

    try:
        print(report(load_catalogue(data_dir)))
    except CatalogueError as exc:
        print(f"The catalogue cannot be loaded: {exc}", file=sys.stderr)
        return 1
    return 0


def _report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bot.services.reports import KINDS

    report = sub.add_parser("report", help="a report as a CSV or XLSX file (the annual information too)")
    report.add_argument("kind", choices=KINDS)
    report.add_argument("--programme", required=True, help="programme id, e.g. kharkiv-2023-2025")
    report.add_argument("--year", required=True, type=int)
    report.add_argument("--district", default=None, help="district id (default: the whole oblast)")
    report.add_argument("--format", choices=["csv", "xlsx"], default="xlsx")
    report.add_argument("--out", required=True, type=Path, help="file to write")
    report.add_argument("--language", choices=["uk", "en"], default="uk")


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    """`python -m bot report`: exit 2 with the reason for a programme, year or district that is wrong."""
    from bot.services.report_files import to_csv, to_xlsx
    from bot.services.reports import ReportError, open_reports, translator

    reports, engine = await open_reports(settings)
    try:
        report = await reports.build(
            args.kind, args.programme, args.year, args.district, args.language, purpose=f"cli {args.format}"
        )
    except ReportError as exc:
        print(translator(args.language)(str(exc)), file=sys.stderr)
        if str(exc) == "report.bad_year":
            years = ", ".join(str(y) for y in reports.programme(args.programme).years)
            print(f"{args.programme}: {years}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    body = to_xlsx(report) if args.format == "xlsx" else to_csv(report)
    try:
        args.out.write_bytes(body)
    except OSError as exc:
        print(f"Cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {report.title} ({len(body)} bytes)")
    for line in report.summary:
        print(f"  {line}")
    return 0


def _configure_logging(*, quiet: bool) -> None:
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per update or migration plugin is noise. The database drivers log statements with
    # their parameters (Telegram ids, ciphertext) at DEBUG: keep them out even in a debug run.
    for name in ("aiogram.event", "alembic", "aiosqlite", "sqlalchemy.engine", "asyncpg"):
        logging.getLogger(name).setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
