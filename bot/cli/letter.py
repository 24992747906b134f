"""`python -m bot police-letter`: a month's official letter to the police HQ again, as the police liaison
got it (the oblast's template in use, amendments marked), built on the bot's own services."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    letter = sub.add_parser("police-letter", help="a month's letter to the police HQ as a DOCX file")
    letter.add_argument("--oblast", required=True, help="oblast id, e.g. kharkiv")
    letter.add_argument("--month", required=True, help="the month, YYYY-MM, e.g. 2026-11")
    letter.add_argument("--out", required=True, type=Path, help="file to write")


def refusal(settings: Settings, oblast: str, month: str) -> str | None:
    """Why the oblast or month cannot be written, in one line; None when both are right. Checked before
    the database is opened: a typo migrates nothing."""
    from bot.clock import today
    from bot.services.directory import load_directory
    from bot.services.police_reports import month_key, parse_month

    known = [o.id for o in load_directory(settings.data_dir).oblasts]
    if oblast not in known:
        return f"Unknown oblast {oblast!r}: one of {', '.join(known)}."
    if parse_month(month) != month or month > month_key(today(settings.timezone)):
        return f"Bad month {month!r}: this or a past month as YYYY-MM, e.g. 2026-11."
    return None


async def police_letter(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 2 with one line for an oblast or month that is wrong, or a file not written."""
    wrong = refusal(settings, args.oblast, args.month)
    if wrong is not None:
        print(wrong, file=sys.stderr)
        return 2
    from bot.composition import open_services
    from bot.services.police_letter import police_letter as build

    services = await open_services(settings)
    try:
        statuses = await services.police.compliance(args.oblast, args.month)
        template = await services.police.letters.current(args.oblast)
    finally:
        await services.close()
    body = build(template, statuses, args.month, args.oblast, services.directory)
    try:
        args.out.write_bytes(body)
    except OSError as exc:
        print(f"Cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    signals = sum(len(s.signals) for s in statuses)
    print(f"{args.out}: {args.oblast} {args.month}, {signals} signal(s), {len(statuses)} organisation(s)")
    return 0
