"""Command line: `python -m bot` runs the bot; `python -m bot emulate` tries it offline."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Dovira Telegram bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot with long polling (the default)")
    emulate = sub.add_parser("emulate", help="chat with the bot in this terminal: no token, no internet")
    emulate.add_argument("--user", type=int, default=1001, help="Telegram user id to start as")
    catalogue = sub.add_parser("catalogue", help="the programme catalogue in data/programmes/")
    catalogue.add_argument("action", choices=["check"], help="check: counts and the source's inconsistencies")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
        if args.command == "catalogue":
            return _catalogue_check(settings.data_dir)
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
