"""One Bot API request, however it came in (over HTTP or in process): its fields decoded the one way
(`decode_params`), then served the one way (`RequestServing._serve`): the token, the method's name,
injected failures, the method itself, the answer's shape and status, and its record in `calls`. The two
ways in differ only in how they read the fields off what they were given."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.telegram_emulator.faults import FaultInjection
from bot.telegram_emulator.records import (
    ERROR_PAGE,
    JSON,
    Call,
    ErrorPage,
    TelegramAPIError,
    UploadedFile,
    bad,
    logger,
)

# A request's raw fields (strings from a form or a query, JSON values from a JSON body) and its uploads.
Fields = tuple[JSON, dict[str, UploadedFile]]


# Top-level parameters that are plain strings and must never be JSON-decoded.
_RAW_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "action",
        "language_code",
        "name",
        "description",
        "short_description",
        "title",
        "emoji",
        "photo",
        "document",
        "audio",
        "video",
        "voice",
        "animation",
        "sticker",
        "video_note",
        "thumbnail",
        "file_id",
        "secret_token",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "query",
        "first_name",
        "last_name",
        "phone_number",
        "vcard",
        "address",
        "question",
    }
)


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _RAW_STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def decode_params(raw: Mapping[str, Any], files: Mapping[str, UploadedFile]) -> JSON:
    """A request's parameters as the methods take them. A form carries every value as a string: each
    field the Bot API does not define as a plain string is JSON-decoded when it can be (numbers,
    booleans, arrays, objects: a keyboard, a list of ids); "attach://name" is replaced by the upload of
    that name, and an upload no field names stays under its own."""
    params = {key: _coerce(key, value) for key, value in raw.items()}
    unclaimed = dict(files)
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            attached = unclaimed.pop(value.removeprefix("attach://"), None)
            if attached is not None:
                params[key] = attached
    for key, attached in unclaimed.items():
        params.setdefault(key, attached)
    return params


@dataclass(frozen=True)
class Answer:
    """The server's answer to one request: the method's name as the Bot API spells it, the HTTP status,
    and the body (the Bot API's JSON, or None for a proxy's HTML error page)."""

    method: str
    status: int
    body: JSON | None

    @property
    def content(self) -> str:
        """The body as the HTTP side sends it."""
        if self.body is None:
            return ERROR_PAGE.format(status=self.status)
        return json.dumps(self.body)


def _never() -> bool:
    return False


class RequestServing(FaultInjection):
    """Serving a request, shared by the HTTP side and the in-process transport."""

    async def _serve(
        self,
        method_name: str,
        token: str,
        read: Callable[[], Awaitable[Fields]],
        *,
        client_gone: Callable[[], bool] = _never,
    ) -> Answer:
        """Serve one call of `method_name` (any case) made with `token`; `read` gives its fields (what
        it raises is answered as the Bot API would: `TelegramAPIError` as itself, `ValueError` as 400).
        `client_gone`: the caller went away; a long poll it left is not recorded in `calls`."""
        loop = asyncio.get_running_loop()
        entry = self._handlers.get(method_name.lower())
        method = entry[0] if entry else method_name
        long_poll = method == "getUpdates"
        if not long_poll:
            self._inflight += 1
        status = 200
        params: JSON = {}
        try:
            try:
                params = decode_params(*await read())
                self.uploads.extend(value for value in params.values() if isinstance(value, UploadedFile))
                if token != self.token:
                    raise TelegramAPIError(401, "Unauthorized")
                if entry is None:
                    raise TelegramAPIError(404, "Not Found: method not found")
                await self._maybe_hang(method)
                self._maybe_fail(method)
                result = await entry[1](params)
                response: JSON = {"ok": True, "result": result}
            except ErrorPage as page:
                self._record(Call(method, params, self.now(), {"ok": False, "html": True}, page.status))
                return Answer(method, page.status, None)
            except TelegramAPIError as error:
                status = error.status
                response = error.to_response()
            except ValueError as error:
                status = 400
                response = bad(f"can't parse request: {error}").to_response()
            except Exception:
                logger.exception("FakeTelegramServer failed to serve %s", method)
                status = 500
                response = TelegramAPIError(500, "Internal Server Error").to_response()
            if not (long_poll and client_gone()):
                # A long poll whose client already went away (a stopped bot) is not recorded.
                self._record(Call(method, params, self.now(), response, status))
            return Answer(method, status, response)
        finally:
            if long_poll:
                self._long_polls_ended += 1
                self._changed.notify()
            else:
                self._inflight -= 1
                self._last_activity = loop.time()
