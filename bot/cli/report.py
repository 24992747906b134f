"""`python -m bot report`: a report as a CSV or XLSX file, built on the bot's own services."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.services.reports import KINDS, ReportError, translator
from bot.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="a report as a CSV or XLSX file (the annual information too)")
    report.add_argument("kind", choices=KINDS)
    report.add_argument(
        "--oblast",
        "--programme",
        dest="where",
        required=True,
        help="the oblast (e.g. kharkiv) or one of its programmes (e.g. kharkiv-2023-2025)",
    )
    report.add_argument("--year", required=True, type=int)
    report.add_argument("--district", default=None, help="district id (default: the whole oblast)")
    report.add_argument("--format", choices=["csv", "xlsx"], default="xlsx")
    report.add_argument("--out", required=True, type=Path, help="file to write")
    report.add_argument("--language", choices=["uk", "en"], default="uk")


async def report(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 2 with the reason for a programme, year or district that is wrong, or a file not written."""
    from bot.composition import open_services
    from bot.services.report_files import to_csv, to_xlsx

    services = await open_services(settings)
    reports = services.reports
    try:
        built = await reports.build(
            args.kind, args.where, args.year, args.district, args.language, purpose=f"cli {args.format}"
        )
    except ReportError as exc:
        print(translator(args.language)(str(exc)), file=sys.stderr)
        if str(exc) == "report.bad_year":
            years = ", ".join(str(y) for y in reports.years_for(reports.oblast_of(args.where)))
            print(f"{args.where}: {years}", file=sys.stderr)
        return 2
    finally:
        await services.close()
    body = to_xlsx(built) if args.format == "xlsx" else to_csv(built)
    try:
        args.out.write_bytes(body)
    except OSError as exc:
        print(f"Cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {built.title} ({len(body)} bytes)")
    for line in built.summary:
        print(f"  {line}")
    return 0
