"""Command line: `python -m bot` runs the bot; `python -m bot emulate` tries it offline; the other commands
check a deployment, write a report or a police letter again, and run the data protection operations. Each
command's code is in a module of its own here; they import what they need when they run, so that each
starts quickly."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.cli import directory_coverage, directory_exchange, letter, report
from bot.settings import Settings, SettingsError, load_settings
from bot.startup import TokenRefused


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Dovira Telegram bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot: polling, or a webhook server with WEBHOOK_URL (the default)")
    sub.add_parser("check", help="check the settings, the database, Redis and the Bot API before a start")
    emulate = sub.add_parser("emulate", help="chat with the bot in this terminal: no token, no internet")
    emulate.add_argument("--user", type=int, default=1001, help="Telegram user id to start as")
    catalogue = sub.add_parser("catalogue", help="the programme catalogue in data/programmes/")
    catalogue.add_argument(
        "action",
        choices=["check", "load"],
        help="check: counts and the source's inconsistencies; load FILE: add a programme (data/README.md)",
    )
    catalogue.add_argument("file", nargs="?", type=Path, help="load: the programme's YAML file")
    report.add_parser(sub)
    directory = sub.add_parser(
        "directory",
        help="the help directory: coverage per district and kind of help; export it (HSDS CSV or JSON), "
        "import a CSV",
    )
    directory.add_argument("action", choices=["coverage", *directory_exchange.ACTIONS])
    directory_exchange.add_arguments(directory)  # with --language, which coverage reads too
    directory_coverage.add_arguments(directory)
    letter.add_parser(sub)
    export = sub.add_parser("export-case", help="what is stored about one case, decrypted, as JSON (audited)")
    export.add_argument("code", help="the case code, e.g. ABCD-2345")
    export.add_argument("--out", type=Path, default=None, help="file to write (mode 0600) instead of stdout")
    sub.add_parser(
        "rotate-key",
        help="re-encrypt all stored content with a new key (stop the bot first; new key: NEW_ENCRYPTION_KEY)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "check":
        from bot.cli.check import check

        return check()

    database_dir: Path | None = None
    try:
        settings = load_settings()
        from bot.middlewares import sqlite_dir

        database_dir = sqlite_dir(settings.database_url)
        return _run_command(settings, args)
    except SettingsError as exc:
        print(f"Dovira cannot start: {exc}", file=sys.stderr)
        return 2
    except TokenRefused as exc:
        print(f"Dovira cannot start: {exc}.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        from bot.middlewares import disk_full

        if not disk_full(exc, database_dir):
            raise
        print(
            "Dovira stopped: the database's disk is full. Free space on it and start again "
            "(the database is consistent: nothing half-written was kept).",
            file=sys.stderr,
        )
        return 1
    return 0


def _run_command(settings: Settings, args: argparse.Namespace) -> int:
    """Every command but `check` (which needs no settings), with its exit status; `run`, or no command,
    starts the bot."""
    if args.command == "catalogue":
        from bot.cli import catalogue

        if args.action == "load":
            if args.file is None:
                print("catalogue load: name the programme's YAML file", file=sys.stderr)
                return 2
            return catalogue.load(settings, args.file)
        return catalogue.check(settings.data_dir)
    if args.command == "report":
        return asyncio.run(report.report(settings, args))
    if args.command == "directory":
        return _directory(settings, args)
    if args.command == "police-letter":
        return asyncio.run(letter.police_letter(settings, args))
    if args.command in ("export-case", "rotate-key"):
        from bot.cli import data_ops

        if args.command == "export-case":
            return asyncio.run(data_ops.export(settings, args.code, args.out))
        return asyncio.run(data_ops.rotate(settings))
    if args.command == "emulate":
        _configure_logging(quiet=True)  # the terminal is the chat: keep it readable
        from bot.emulate import emulate as run_emulator

        return asyncio.run(run_emulator(settings, user_id=args.user))
    return _run_bot(settings)


def _directory(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "coverage":
        return asyncio.run(directory_coverage.run(settings, args))
    return directory_exchange.run(settings, args)


def _run_bot(settings: Settings) -> int:
    """The bot itself, until it is stopped."""
    token = settings.require_token()
    _configure_logging(quiet=False)
    from bot.app import run

    asyncio.run(run(settings, token=token))
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
