"""An offline stand-in for the Telegram Bot API, for end-to-end tests and the terminal emulator."""

from bot.telegram_emulator.server import (
    Call,
    FakeTelegramServer,
    TelegramAPIError,
    UploadedFile,
    buttons,
    parse_formatted_text,
)

__all__ = [
    "Call",
    "FakeTelegramServer",
    "TelegramAPIError",
    "UploadedFile",
    "buttons",
    "parse_formatted_text",
]
