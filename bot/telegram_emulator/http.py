"""The fake Bot API server's HTTP side: the aiohttp app on 127.0.0.1 (`/bot<token>/<method>` and file
downloads), reading a request's fields off the wire, an aiogram session and Bot pointed at it, and the
webhook's posting of updates to the bot, one at a time and in order, as Telegram does."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from bot.telegram_emulator.dispatch import Fields, RequestServing
from bot.telegram_emulator.records import JSON, TelegramAPIError, UploadedFile, bad
from bot.telegram_emulator.validation import MAX_DOCUMENT_BYTES


class _LocalAiohttpSession(AiohttpSession):
    """``AiohttpSession`` without the 250 ms grace sleep on close (there is no TLS to wind down)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


async def _request_fields(request: web.Request) -> Fields:
    """The raw fields of an HTTP request (its query, then its JSON or form body) and its uploads."""
    raw: JSON = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method == "POST" and request.body_exists:
        content_type = request.content_type
        if content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise bad("request body must be a JSON object")
            raw.update(body)
        elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            try:
                form = await request.post()
            except web.HTTPRequestEntityTooLarge:
                raise TelegramAPIError(413, "Request Entity Too Large") from None
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(
                        param=key,
                        filename=value.filename or key,
                        content_type=value.content_type,
                        data=value.file.read(),
                    )
                elif isinstance(value, bytes | bytearray):
                    raw[key] = bytes(value).decode("utf-8", "replace")
                else:
                    raw[key] = value
    return raw, files


class HttpSide(RequestServing):
    """The aiohttp server, its lifecycle and the webhook's delivery."""

    def _init_http(self, *, port: int, webhook_proxy: str | None) -> None:
        self._wanted_port = port
        # Webhook delivery: where an https webhook's posts go, as a TLS-terminating proxy in front of
        # the bot would send them (``http://127.0.0.1:PORT``; the webhook URL's path is kept). Unset,
        # a webhook only stops getUpdates (409), as before.
        self.webhook_proxy = webhook_proxy
        self.webhook_retry_delay = 0.2
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status; 0 = no answer)
        self._webhook_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    async def start(self) -> None:
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=MAX_DOCUMENT_BYTES + 10 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._wanted_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._last_activity = asyncio.get_running_loop().time()

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        self._closing = True
        await self._stop_webhook_delivery()
        self._updates_changed.notify()
        self._changed.notify()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegramServer is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_session(self) -> AiohttpSession:
        """An aiogram session pointed at this server (plain HTTP on localhost, so it closes at once)."""
        return _LocalAiohttpSession(api=TelegramAPIServer.from_base(self.base_url))

    def create_bot(self, **kwargs: Any) -> Bot:
        """An aiogram ``Bot`` wired to this server (close it with ``await bot.session.close()``)."""
        return Bot(self.token, session=self.create_session(), **kwargs)

    async def _handle(self, request: web.Request) -> web.Response:
        def client_gone() -> bool:
            transport = request.transport
            return transport is None or transport.is_closing()

        answer = await self._serve(
            request.match_info["method"],
            request.match_info["token"],
            lambda: _request_fields(request),
            client_gone=client_gone,
        )
        if answer.body is None:
            return web.Response(text=answer.content, status=answer.status, content_type="text/html")
        return web.json_response(answer.body, status=answer.status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        data = self.file_at(request.match_info["token"], request.match_info["path"])
        if data is not None:
            return web.Response(body=data, content_type="application/octet-stream")
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    def _ensure_webhook_delivery(self) -> None:
        if self.webhook_proxy and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())

    def _webhook_target(self) -> str:
        path = urlsplit(self._webhook_url).path or "/"
        return f"{(self.webhook_proxy or '').rstrip('/')}{path}"

    async def _deliver_webhooks(self) -> None:
        """Post each pending update to the webhook, one at a time and in order, as Telegram does:
        a 2xx answer confirms it; anything else (or no answer) is retried after a pause."""
        import aiohttp

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while self._webhook_url and not self._closing:
                selected = self._select_updates(0, 1)
                if not selected:
                    await self._updates_changed.wait(1.0)
                    continue
                update = selected[0]
                secret = self.webhook_secret
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                self._inflight += 1
                try:
                    async with session.post(self._webhook_target(), json=update, headers=headers) as answer:
                        await answer.read()
                        status = answer.status
                except (aiohttp.ClientError, TimeoutError) as error:
                    status, self._webhook_error = 0, f"Connection failed: {type(error).__name__}"
                finally:
                    self._inflight -= 1
                    self._last_activity = self._loop_time()
                self.webhook_deliveries.append((int(update["update_id"]), status))
                if 200 <= status < 300:
                    self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                    self._changed.notify()
                    continue
                if status:
                    self._webhook_error = f"Wrong response from the webhook: {status}"
                self._changed.notify()
                await asyncio.sleep(self.webhook_retry_delay)

    async def _stop_webhook_delivery(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
