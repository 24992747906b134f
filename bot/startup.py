"""Reaching the Bot API at start-up, so that an operator's first minutes survive Telegram's bad ones.

aiogram retries its polling loop, but not the calls before it: a refused connection, a request that is
never answered, a 502 (Telegram's JSON or a proxy's HTML page) ended the process with a traceback. Here
the first calls are retried with exponential backoff (capped at a minute), one WARNING line per attempt
naming the cause; a token the Bot API refuses (401/404) is not a bad minute but a wrong setting, said in
one sentence. `python -m bot check` asks getMe the same way (`ask_me`), so it cannot say OK to an
answer the bot then refuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User

log = logging.getLogger("dovira")

FIRST_DELAY = 1.0  # seconds before the second attempt; doubled each time
MAX_DELAY = 60.0
REQUEST_TIMEOUT = 10.0  # a start-up call not answered in this long counts as failed (aiogram's own: 60 s)


class TokenRefused(Exception):
    """The Bot API refused the token (or there is no Bot API at that address): a setting to fix."""


def cause(exc: BaseException) -> str:
    """What went wrong, in a few words an operator can act on (no token, no personal data)."""
    if isinstance(exc, TelegramRetryAfter):
        return f"Telegram asks to wait {exc.retry_after} s"
    if isinstance(exc, ClientDecodeError):
        return "not a Bot API answer: a proxy's error page?"
    if isinstance(exc, TelegramNetworkError):
        text = str(exc.message)
        if "timeout" in text.lower():
            return "no answer in time"
        return "network error: " + text.split(":", 1)[0].replace("Client", "")
    if isinstance(exc, TelegramServerError):
        return f"server error: {exc.message}"
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    return type(exc).__name__


def refusal(exc: TelegramAPIError, base: str) -> TokenRefused:
    status = 401 if isinstance(exc, TelegramUnauthorizedError) else 404
    return TokenRefused(
        f"the Bot API at {base} refused the bot's token ({status} {exc.message}): check BOT_TOKEN (the one "
        "@BotFather gave), and BOT_API_BASE if you set it"
    )


async def ask_me(bot: Bot, base: str, request_timeout: float = REQUEST_TIMEOUT) -> User:
    """getMe, read and checked as aiogram reads it when polling starts. Raises TokenRefused for a token
    the Bot API refuses; other failures as they come."""
    try:
        return await bot.get_me(request_timeout=int(request_timeout))
    except (TelegramUnauthorizedError, TelegramNotFound) as exc:
        raise refusal(exc, base) from None


TRANSIENT = (TelegramNetworkError, TelegramServerError, TelegramRetryAfter, ClientDecodeError)


async def reach_bot_api(
    bot: Bot,
    base: str,
    *,
    delete_webhook: bool,
    stop: asyncio.Event | None = None,
    request_timeout: float = REQUEST_TIMEOUT,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> User | None:
    """getMe (kept as the bot's own, so polling does not ask again) and, for polling, deleteWebhook,
    retried until they succeed. Returns None if `stop` was set meanwhile."""
    delay, attempt = FIRST_DELAY, 1
    while stop is None or not stop.is_set():
        try:
            me = await ask_me(bot, base, request_timeout)
            bot._me = me  # aiogram's cache: Dispatcher.start_polling asks bot.me(), outside its retries
            if delete_webhook:
                await bot.delete_webhook(drop_pending_updates=False, request_timeout=int(request_timeout))
            if attempt > 1:
                log.info("the Bot API at %s answers now", base)
            return me
        except (TelegramUnauthorizedError, TelegramNotFound) as exc:
            raise refusal(exc, base) from None
        except (TimeoutError, *TRANSIENT, aiohttp.ClientError, OSError) as exc:
            wait = max(delay, float(exc.retry_after)) if isinstance(exc, TelegramRetryAfter) else delay
            log.warning(
                "the Bot API at %s cannot be reached (%s): attempt %d failed, trying again in %.0f s",
                base,
                cause(exc),
                attempt,
                wait,
            )
        if sleep is not None:
            await sleep(wait)
        elif stop is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
        else:
            await asyncio.sleep(wait)
        delay, attempt = min(MAX_DELAY, delay * 2), attempt + 1
    return None


async def until_done(
    what: str, call: Callable[[], Awaitable[object]], stop: asyncio.Event | None = None
) -> None:
    """A call start-up can do without (the command menu): tried now and, on failure, again with backoff
    in the background, warned once per attempt; never stops the bot."""
    delay, attempt = FIRST_DELAY, 1
    while stop is None or not stop.is_set():
        try:
            await call()
            if attempt > 1:
                log.info("%s: done", what)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s failed (%s): trying again in %.0f s", what, cause(exc), delay)
        await asyncio.sleep(delay)
        delay, attempt = min(MAX_DELAY, delay * 2), attempt + 1
