"""`python -m bot emulate`: the real bot against a local Bot API emulator, chatting in this terminal.

The driver is bot/telegram_emulator/terminal.py, beside the fake server it drives; this module keeps
the entry point (`emulate`) that `python -m bot` calls, and the names it always offered.
"""

from bot.telegram_emulator.terminal import (
    EMULATOR_DB,
    EMULATOR_TOKEN,
    HELP,
    TerminalChat,
    emulate,
    emulator_folder,
    load_chats,
    plain,
    save_chats,
    save_file,
)

__all__ = [
    "EMULATOR_DB",
    "EMULATOR_TOKEN",
    "HELP",
    "TerminalChat",
    "emulate",
    "emulator_folder",
    "load_chats",
    "plain",
    "save_chats",
    "save_file",
]
