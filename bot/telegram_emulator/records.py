"""The fake Bot API server's vocabulary, shared by all its modules: the Bot API's error answer, the record of
one call the bot made, an uploaded file, and the proxy error page that failure injection can answer with."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

# One logger for the whole fake server, under the name it had as one module.
logger = logging.getLogger("bot.telegram_emulator.server")


class TelegramAPIError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def to_response(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad(description: str) -> TelegramAPIError:
    return TelegramAPIError(400, f"Bad Request: {description}")


def entities_error(description: str) -> TelegramAPIError:
    return bad(f"can't parse entities: {description}")


@dataclass
class Call:
    """One request the bot made. ``params`` are decoded (JSON fields parsed, files resolved)."""

    method: str
    params: dict[str, Any]
    time: float
    response: dict[str, Any]
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.response.get("ok") is True

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def error(self) -> str | None:
        description = self.response.get("description")
        return None if self.ok else str(description)


@dataclass
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    param: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


class ErrorPage(Exception):
    """A proxy in front of the Bot API answering with its own HTML error page, not Telegram's JSON."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


ERROR_PAGE = "<html><head><title>{status}</title></head><body><h1>{status} Bad Gateway</h1></body></html>"
