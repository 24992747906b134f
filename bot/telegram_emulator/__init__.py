"""An offline stand-in for the Telegram Bot API, for end-to-end tests and the terminal emulator.

`FakeTelegramServer` (server.py) is the server; a bot reaches it over HTTP (`server.create_bot()`) or in
this process (`server.transport()`, `InProcessSession`: transport.py). The terminal driver behind
`python -m bot emulate` is terminal.py.
"""

from bot.telegram_emulator.server import (
    Call,
    FakeTelegramServer,
    TelegramAPIError,
    UploadedFile,
    buttons,
    parse_formatted_text,
)
from bot.telegram_emulator.state import StoredMessage
from bot.telegram_emulator.transport import InProcessSession, InProcessTransport, Reply

__all__ = [
    "Call",
    "FakeTelegramServer",
    "InProcessSession",
    "InProcessTransport",
    "Reply",
    "StoredMessage",
    "TelegramAPIError",
    "UploadedFile",
    "buttons",
    "parse_formatted_text",
]
