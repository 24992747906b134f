"""The public in-process way into the fake Bot API server: a bot's requests handed to the server in this
process, without HTTP, for tests that make thousands of calls (a request over localhost costs about a
millisecond more).

    transport = server.transport()  # an InProcessTransport
    reply = await transport.request("sendMessage", {"chat_id": 1001, "text": "hi"})
    reply.status, reply.content  # 200, '{"ok": true, "result": {...}}'

    bot = Bot(server.token, session=InProcessSession(server))  # an aiogram Bot, as over HTTP

Requests are decoded and served exactly as the HTTP side does it (the same `decode_params`, the same
token and method checks, the failures injected with `fail_next` & co., the same answers and records in
`calls`); only reading the fields off the wire differs: here they are read off the aiohttp `FormData`
that aiogram builds for HTTP, through aiohttp's public payload API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from typing import Any, NamedTuple, cast
from urllib.parse import parse_qsl

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetFile, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import FormData, MultipartWriter, hdrs
from aiohttp.multipart import parse_content_disposition

from bot.telegram_emulator.dispatch import Fields, RequestServing
from bot.telegram_emulator.records import JSON, UploadedFile


class Reply(NamedTuple):
    """The server's answer as the HTTP side sends it: the status and the body (the Bot API's JSON, or
    the HTML error page of a proxy, when a failure injected with ``html=True`` says so)."""

    status: int
    content: str


async def form_fields(form: FormData) -> Fields:
    """The raw fields and uploads of a form, as the HTTP side reads them from the request aiohttp would
    send: a multipart part with a file name is an upload, any other part or urlencoded pair a string."""
    payload = form()
    raw: JSON = {}
    files: dict[str, UploadedFile] = {}
    if isinstance(payload, MultipartWriter):
        for part, _encoding, _transfer_encoding in payload:
            _kind, options = parse_content_disposition(part.headers.get(hdrs.CONTENT_DISPOSITION))
            name = options.get("name", "")
            data = await part.as_bytes()
            filename = options.get("filename")
            if filename:
                content_type = part.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream")
                files[name] = UploadedFile(name, filename, content_type, data)
            else:
                raw[name] = data.decode("utf-8", "replace")
    else:
        raw.update(parse_qsl((await payload.as_bytes()).decode("utf-8"), keep_blank_values=True))
    return raw, files


class InProcessTransport:
    """Bot API calls served by a `FakeTelegramServer` in this process; `server.transport()` makes one."""

    def __init__(self, server: RequestServing) -> None:
        self.server = server

    async def request(
        self, method: str, fields: FormData | Mapping[str, Any] | None = None, *, token: str | None = None
    ) -> Reply:
        """One call of `method` (any case, as in a URL). `fields`: the aiohttp `FormData` aiogram builds
        (uploads included), or a mapping taken as a JSON body is. `token`: the caller's (default the
        server's own; another is answered 401, as over HTTP)."""

        async def read() -> Fields:
            if isinstance(fields, FormData):
                return await form_fields(fields)
            return dict(fields or {}), {}

        answer = await self.server._serve(method, self.server.token if token is None else token, read)
        return Reply(answer.status, answer.content)


class InProcessSession(AiohttpSession):
    """An aiogram session whose requests go to the server through an `InProcessTransport`: the form is
    built as for HTTP (`build_form_data`), the answer checked as one from HTTP (`check_response`), and a
    call that outlasts its timeout (a method held by `hang_next`) raises aiogram's "Request timeout
    error". To keep a session class of your own (its middlewares, how it builds forms), put this first:
    ``class MySession(InProcessSession, OwnSession)``; keyword arguments go on to the next class."""

    def __init__(self, server: RequestServing, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transport = InProcessTransport(server)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109  (aiogram's signature)
    ) -> TelegramType:
        form = self.build_form_data(bot=bot, method=method)
        try:
            async with asyncio.timeout(self.timeout if timeout is None else timeout):
                reply = await self.transport.request(method.__api_method__, form, token=bot.token)
        except TimeoutError as error:
            raise TelegramNetworkError(method=method, message="Request timeout error") from error
        response = self.check_response(
            bot=bot, method=method, status_code=reply.status, content=reply.content
        )
        return cast(TelegramType, response.result)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109  (aiogram's signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        """A file the server holds, as its HTTP side gives `/file/bot<token>/<path>` (`bot.download`)."""
        token, _, path = url.partition("/file/bot")[2].partition("/")
        data = self.transport.server.file_at(token, path)
        if data is None:
            if raise_for_status:
                raise TelegramNetworkError(method=GetFile(file_id=path), message="Not Found")
            return
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]
