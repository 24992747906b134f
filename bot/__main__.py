"""Command line: `python -m bot` runs the bot; `python -m bot emulate` tries it offline."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Dovira Telegram bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot with long polling (the default)")
    emulate = sub.add_parser("emulate", help="chat with the bot in this terminal: no token, no internet")
    emulate.add_argument("--user", type=int, default=1001, help="Telegram user id to start as")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # it logs every update's user id
    try:
        if args.command == "emulate":
            from bot.emulate import emulate as run_emulator

            settings = load_settings()
            return asyncio.run(run_emulator(settings, user_id=args.user))
        from bot.app import run

        settings = load_settings()
        token = settings.require_token()
        asyncio.run(run(settings, token=token))
    except SettingsError as exc:
        print(f"Dovira cannot start: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
