"""Webhook mode: an aiohttp server that Telegram (through a TLS proxy or a load balancer) posts updates to.

- ``POST <path of WEBHOOK_URL>``: refused with 403 unless ``X-Telegram-Bot-Api-Secret-Token`` equals
  WEBHOOK_SECRET (compared in constant time); nothing is read or dispatched for a refused request. An
  accepted update is answered 200 at once and handled in a task (the UpdateGuard tracks it while it runs;
  shutdown drains these tasks). Bodies over 1 MiB are refused with 413.
- ``GET /health``: 200 ``{"status": "ok", ...}`` when the database (and Redis, if configured) answers
  within 2 s, else 503; for the load balancer. It says nothing about any person.

On start the webhook is (re)set with the secret and the update kinds the routers use; on stop it is
left in place: other replicas may still be serving it, and Telegram keeps updates for a stopped bot
until one is back (polling mode deletes it at start).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import time
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import text as sql

from bot.settings import HOW_TO_SET, SettingsError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.app import App

log = logging.getLogger("dovira")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1024 * 1024  # an update is a few kilobytes; Telegram's own messages are capped at 4096 chars
# Updates handled at once; past it the POST waits for a slot, and Telegram holds the rest. Above the
# PostgreSQL pool (20) more only queue inside the process; redis-py 8's pool refuses (MaxConnectionsError,
# not a wait) past 100 connections, and an FSM storage error happens before the UpdateGuard sees it.
MAX_IN_FLIGHT = 64
HEALTH_TIMEOUT = 2.0
REFUSAL_LOG_INTERVAL = 60.0


class WebhookHandler:
    """Checks the secret, parses the update and hands it to the dispatcher without waiting for it."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        secret: str,
        workflow_data: dict[str, Any],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self._secret = secret.encode()
        self.workflow_data = workflow_data
        self.tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._clock = clock
        self.refused = 0
        self._refused_unlogged = 0
        self._last_refusal_log: float | None = None

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None or not hmac.compare_digest(given.encode(), self._secret):
            self._log_refusal("missing" if given is None else "wrong")
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.json_response({"ok": False, "error": "too large"}, status=413)
        try:
            body = await request.read()  # aiohttp refuses past client_max_size with 413 itself
            update = Update.model_validate(json.loads(body), context={"bot": self.bot})
        except (ValueError, ValidationError) as exc:
            # It came with the secret, so from Telegram: a non-2xx answer would only make Telegram post
            # it again and again, holding up the updates behind it. Logged without the body or the
            # error's text (both can hold what a person wrote), and dropped.
            log.warning(
                "webhook: dropped an update that is not valid JSON or not an Update (%s)", type(exc).__name__
            )
            return web.json_response({"ok": False, "error": "bad update, dropped"})
        await self._slots.acquire()  # backpressure: Telegram waits (and holds its other updates) if full
        task = asyncio.create_task(self._handle(update))
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return web.json_response({"ok": True})

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self._slots.release()

    async def _handle(self, update: Update) -> None:
        try:
            response = await self.dispatcher.feed_update(self.bot, update, **self.workflow_data)
            if isinstance(response, TelegramMethod):
                await self.dispatcher.silent_call_request(self.bot, response)
        except Exception as exc:  # the UpdateGuard already answered the user; this is outside it
            log.error("webhook: update %s failed: %s", update.event_type, type(exc).__name__)

    def _log_refusal(self, how: str) -> None:
        """A log line per refusal would let anyone fill the log: the first now, then one a minute."""
        self.refused += 1
        self._refused_unlogged += 1
        now = self._clock()
        if self._last_refusal_log is None or now - self._last_refusal_log >= REFUSAL_LOG_INTERVAL:
            log.warning(
                "webhook: refused %d request(s) with a %s secret token (403)", self._refused_unlogged, how
            )
            self._refused_unlogged = 0
            self._last_refusal_log = now

    async def drain(self, wait_seconds: float = 10.0) -> None:
        pending = [t for t in self.tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=wait_seconds)


class Health:
    """``GET /health``: does this replica reach its database (and Redis)? No personal data."""

    def __init__(self, engine: AsyncEngine, redis_url: str | None, mode: str) -> None:
        self.engine = engine
        self.redis_url = redis_url
        self.mode = mode
        self._redis: Any = None

    async def _database(self) -> str:
        async with self.engine.connect() as conn:
            await conn.execute(sql("SELECT 1"))
        return "ok"

    async def _redis_ping(self) -> str:
        if self.redis_url is None:
            return "off"
        if self._redis is None:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(self.redis_url, socket_timeout=HEALTH_TIMEOUT)
        await self._redis.ping()
        return "ok"

    async def _probe(self, check: Callable[[], Any]) -> str:
        try:
            result: str = await asyncio.wait_for(check(), HEALTH_TIMEOUT)
        except Exception as exc:  # any failure is "fail"; the error's text may carry a DSN
            log.warning("health: %s failed (%s)", getattr(check, "__name__", "check"), type(exc).__name__)
            return "fail"
        return result

    async def handle(self, request: web.Request) -> web.Response:
        database, redis = await asyncio.gather(self._probe(self._database), self._probe(self._redis_ping))
        healthy = database == "ok" and redis in ("ok", "off")
        status = "ok" if healthy else "fail"
        body = {"status": status, "mode": self.mode, "database": database, "redis": redis}
        return web.json_response(body, status=200 if healthy else 503, headers={"Cache-Control": "no-store"})

    async def close(self) -> None:
        if self._redis is not None:
            with suppress(Exception):
                await self._redis.aclose()
            self._redis = None


def workflow_data(app: App, bot: Bot) -> dict[str, Any]:
    """What polling passes to emit_startup and to every update (aiogram's start_polling, mirrored)."""
    data: dict[str, Any] = {
        "dispatcher": app.dispatcher,
        "bots": (bot,),
        **app.dispatcher.workflow_data,
        "i18n": app.i18n,
    }
    data.pop("bot", None)
    return data


def web_app(handler: WebhookHandler, health: Health, path: str) -> web.Application:
    web_application = web.Application(client_max_size=MAX_BODY_BYTES)
    web_application.router.add_post(path, handler.handle)
    web_application.router.add_get("/health", health.handle)
    return web_application


async def serve(app: App, bot: Bot, stop: asyncio.Event, *, handle_signals: bool = False) -> None:
    """Run the webhook server until `stop` is set (or SIGTERM/SIGINT with handle_signals)."""
    settings = app.settings
    if settings.webhook_url is None or settings.webhook_secret is None:
        raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
    dp = app.dispatcher
    data = workflow_data(app, bot)
    handler = WebhookHandler(dp, bot, settings.webhook_secret, data)
    health = Health(app.engine, getattr(settings, "redis_url", None), mode="webhook")
    if handle_signals:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
    await dp.emit_startup(bot=bot, **data)
    site_app = web_app(handler, health, settings.webhook_path)
    runner = web.AppRunner(site_app, access_log=None, shutdown_timeout=5)
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
        try:
            await site.start()
        except OSError as exc:
            where = f"{settings.webhook_host}:{settings.webhook_port}"
            raise SettingsError(
                f"WEBHOOK_HOST and WEBHOOK_PORT: Dovira cannot listen on {where} ({exc.strerror or exc}). "
                f"{HOW_TO_SET['WEBHOOK_PORT']}"
            ) from None
        log.info("Dovira is serving the webhook on %s:%s", settings.webhook_host, settings.webhook_port)
        # Listening before Telegram is told, so its first post finds us. Every replica sets the same
        # webhook; update kinds are the routers' own, and nothing Telegram holds is dropped.
        await bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=dp.resolve_used_update_types(),
            drop_pending_updates=False,
        )
        await stop.wait()
    finally:
        if handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                with suppress(NotImplementedError):
                    loop.remove_signal_handler(signum)
        await runner.cleanup()  # no new requests; ones being read finish
        await handler.drain()
        await health.close()
        await dp.emit_shutdown(bot=bot, **data)
