"""Webhook mode: an aiohttp server that Telegram (through a TLS proxy or a load balancer) posts updates to.

- ``POST <path of WEBHOOK_URL>``: refused with 403 unless ``X-Telegram-Bot-Api-Secret-Token`` equals
  WEBHOOK_SECRET (compared in constant time); nothing is read or dispatched for a refused request. An
  accepted update is answered 200 at once and handled in a task (the UpdateGuard tracks it while it runs;
  shutdown drains these tasks). Bodies over 1 MiB are refused with 413; a body that is not JSON or is
  nested deeper than an update ever is gets 400; headers and a body must each arrive within 10 s.
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
from dataclasses import dataclass
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
# An update nests about ten levels (a callback's message, its reply, its keyboard's rows). json.loads
# itself fails with RecursionError near 1,000 levels, and pydantic cannot dump an Update past several
# hundred: anything deeper than this is not from Telegram.
MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class ReadTimeouts:
    """How long a client may take to send a request's headers, then its body (seconds).

    Telegram sends a few kilobytes at once: 10 s is far beyond any real post, and a client that drips
    bytes (slowloris) holds a connection that long at most. Tests pass shorter ones."""

    headers: float = 10.0
    body: float = 10.0


class BadJSON(ValueError):
    """The body is not JSON, or is JSON nested deeper than MAX_JSON_DEPTH; str() is the cause."""


def parse_json(body: bytes) -> Any:
    """json.loads, with a depth limit instead of a RecursionError (and its traceback) on deep input."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise BadJSON(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise BadJSON("not JSON") from None
    # Iterative, so that checking the depth cannot itself recurse too deep.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_JSON_DEPTH:
                    raise BadJSON(f"nested deeper than {MAX_JSON_DEPTH} levels")
                stack.append((child, depth + 1))
    return value


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
        body_timeout: float = ReadTimeouts.body,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self._secret = secret.encode()
        self.workflow_data = workflow_data
        self.tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._clock = clock
        self._body_timeout = body_timeout
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
            async with asyncio.timeout(self._body_timeout):
                body = await request.read()  # aiohttp refuses past client_max_size with 413 itself
        except TimeoutError:
            log.warning("webhook: a request body did not arrive within %g s (408)", self._body_timeout)
            response = web.json_response({"ok": False, "error": "body timeout"}, status=408)
            response.force_close()  # no further request on a connection left mid-body
            return response
        # Log lines name the cause only: the body and the error's text can hold what a person wrote.
        try:
            data = parse_json(body)
        except BadJSON as exc:
            # Telegram always sends JSON: this is someone else with the secret, or a broken proxy.
            log.warning("webhook: refused a body that is %s (400)", exc)
            return web.json_response({"ok": False, "error": "bad JSON"}, status=400)
        try:
            update = Update.model_validate(data, context={"bot": self.bot})
        except ValidationError:
            # JSON that is not an Update may be Telegram's (a field this aiogram does not know): a non-2xx
            # answer would only make Telegram post it again and again, holding up the updates behind it.
            log.warning("webhook: dropped JSON that is not an Update")
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


async def serve(
    app: App,
    bot: Bot,
    stop: asyncio.Event,
    *,
    handle_signals: bool = False,
    timeouts: ReadTimeouts = ReadTimeouts(),
) -> None:
    """Run the webhook server until `stop` is set (or SIGTERM/SIGINT with handle_signals)."""
    settings = app.settings
    if settings.webhook_url is None or settings.webhook_secret is None:
        raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
    dp = app.dispatcher
    data = workflow_data(app, bot)
    handler = WebhookHandler(dp, bot, settings.webhook_secret, data, body_timeout=timeouts.body)
    health = Health(app.engine, getattr(settings, "redis_url", None), mode="webhook")
    if handle_signals:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
    await dp.emit_startup(bot=bot, **data)
    site_app = web_app(handler, health, settings.webhook_path)
    # aiohttp closes a connection whose request headers are not complete within keepalive_timeout (it
    # counts from the connection's start or its last answer): that is the header timeout. An idle
    # keep-alive connection is closed after as long; the client (Telegram, a proxy) opens another.
    # After an answer given before the body was read (403, 408), aiohttp reads on and discards for
    # lingering_time so that the client sees the answer: no longer than a body may take.
    runner = web.AppRunner(
        site_app,
        access_log=None,
        shutdown_timeout=5,
        keepalive_timeout=timeouts.headers,
        lingering_time=timeouts.body,
    )
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
