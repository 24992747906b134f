"""Dispatcher and Bot API session middlewares.

On every update (outer update middlewares, in this order): UpdateGuard, then PersonMiddleware;
the i18n middleware then runs on each event type.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Chat, Message, TelegramObject, Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.exc import StatementError

from bot import keyboards
from bot.i18n import language_from_client
from bot.services.danger import signals_danger
from bot.services.users import UserService

log = logging.getLogger("dovira")


class UpdateGuard(BaseMiddleware):
    """Around every update: track it while it runs (shutdown waits for it; stop_polling does not),
    and turn a failure into a "try again" for the user and a log line that holds no personal data."""

    def __init__(self, i18n: I18n, database_dir: Path | None = None) -> None:
        self.i18n = i18n
        self.database_dir = database_dir  # an SQLite database's folder: to tell a full disk
        self.tasks: set[asyncio.Task[Any]] = set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        # Filled in by HandlerName when the update reaches a handler (shared by reference: aiogram
        # copies the data dict on the way down, not the objects in it).
        reached: dict[str, str] = {}
        data["reached_handler"] = reached
        try:
            return await handler(event, data)
        except Exception as exc:
            update_type = event.event_type if isinstance(event, Update) else type(event).__name__
            # Exception text may quote user input or SQL parameters: log its type and place only.
            where = _our_frame(exc)
            method = getattr(exc, "method", None)
            if method is not None:  # a Bot API call failed: which one
                where = f"Bot API {getattr(method, '__api_method__', type(method).__name__)}, {where}"
            if reached:
                where = f"{reached['router']}/{reached['handler']} ({where})"
            if disk_full(exc, self.database_dir):
                # The operator must act (nothing the person does helps): said plainly, once per update.
                log.critical(
                    "the database cannot write: its disk is full. Free space on the database's disk; "
                    "the transaction was rolled back, nothing half-written was kept (at %s)",
                    where,
                )
            else:
                log.error("handler failed on %s update: %s at %s", update_type, type(exc).__name__, where)
            await self._tell_user_to_retry(data)
            return None
        finally:
            if task is not None:
                self.tasks.discard(task)

    async def drain(self, wait_seconds: float = 10.0) -> None:
        current = asyncio.current_task()
        pending = [t for t in self.tasks if t is not current and not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=wait_seconds)

    async def _tell_user_to_retry(self, data: dict[str, Any]) -> None:
        bot: Bot | None = data.get("bot")
        chat: Chat | None = data.get("event_chat")
        if bot is None or chat is None or chat.type != "private":
            return
        profile = data.get("profile")
        tg_user = data.get("event_from_user")
        if profile is not None and profile.language:
            locale = profile.language
        else:
            client = tg_user.language_code if tg_user else None
            locale = language_from_client(client, self.i18n.default_locale)
        try:
            with self.i18n.context(), self.i18n.use_locale(locale):
                await bot.send_message(chat.id, _("error.try_again"), reply_markup=keyboards.only_menu())
        except Exception as exc:  # any failure: Telegram's, the network's, a proxy's page that is not JSON
            log.warning("could not tell the user about a failed handler (%s)", type(exc).__name__)


ALMOST_NO_ROOM = 1 << 20  # bytes free on the database's disk below which an I/O error means "full"
DISK_FULL_SIGNS = (
    "database or disk is full",  # SQLite's SQLITE_FULL
    "no space left on device",  # ENOSPC, as the OS words it
    "could not extend file",  # PostgreSQL's disk_full (53100)
)


def disk_full(exc: BaseException, database_dir: Path | None = None) -> bool:
    """Whether a failure (or what caused it: SQLAlchemy wraps the driver's error) is a full disk.
    SQLite reports some writes on a full disk as a plain I/O error (extending its shared-memory
    file, say): with `database_dir` given, such an error counts when that disk has no room left."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    io_error = False
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return True
        if getattr(current, "sqlstate", None) == "53100":
            return True
        # The driver's own message only: SQLAlchemy's wrapper quotes the statement's parameters
        # (what a person typed), which must not be able to raise the alarm.
        if not isinstance(current, StatementError) and any(
            sign in str(current).lower() for sign in DISK_FULL_SIGNS
        ):
            return True
        io_error = io_error or str(getattr(current, "sqlite_errorname", "")).startswith("SQLITE_IOERR")
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    if io_error and database_dir is not None:
        with contextlib.suppress(OSError):
            return shutil.disk_usage(database_dir).free < ALMOST_NO_ROOM
    return False


def sqlite_dir(database_url: str) -> Path | None:
    """The folder of an SQLite database file (None for PostgreSQL or an in-memory database)."""
    prefix, _sep, path = database_url.partition(":///")
    if not prefix.startswith("sqlite") or not path or path.startswith(":memory:"):
        return None
    return Path(path.split("?", 1)[0]).resolve().parent


# Wrappers every Bot API call passes through: a frame there says nothing about who made the call.
_PLUMBING = ("bot/middlewares.py", "bot/session.py")
# Frames of our code are named from the checkout's top (handlers/citizen/menu.py): flows sit in packages.
_TOP = str(Path(__file__).resolve().parent.parent) + "/"


def _our_frame(exc: BaseException) -> str:
    """The innermost frame of Dovira's own code in the traceback (aiogram's frames and our session
    wrappers say nothing)."""
    where = "?"
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        # Generated code ("<string>", SQLAlchemy's event wrappers) has no folder: skip it too.
        if "/" in filename and "site-packages" not in filename and "/lib/python" not in filename:
            place = (
                filename.removeprefix(_TOP)
                if filename.startswith(_TOP)
                else "/".join(filename.rsplit("/", 2)[-2:])
            )
            if place not in _PLUMBING:
                where = f"{place}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


class HandlerName(BaseMiddleware):
    """Inner middleware on every event type: notes which router and handler the update reached, so
    that UpdateGuard's line names them (the frame where a failure surfaces may be aiogram's)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        reached = data.get("reached_handler")
        found = data.get("handler")
        router = data.get("event_router")
        if isinstance(reached, dict) and found is not None:
            reached["handler"] = getattr(found.callback, "__name__", "?")
            reached["router"] = getattr(router, "name", "?")
        return await handler(event, data)


class PersonMiddleware(BaseMiddleware):
    """Who is writing. Dovira talks to people one to one: updates from groups and channels are
    dropped unread. Handlers get a cached `profile`; nothing is stored for someone who only reads
    (bot/services/users.py)."""

    def __init__(self, users: UserService) -> None:
        self.users = users

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        tg_user = data.get("event_from_user")
        if chat is None or chat.type != "private" or tg_user is None:
            return None
        message_id = None
        if isinstance(event, Update):
            if event.message is not None:
                message_id = event.message.message_id
            elif event.callback_query is not None and event.callback_query.message is not None:
                message_id = event.callback_query.message.message_id
        data["profile"] = await self.users.touch(tg_user.id, message_id)
        return await handler(event, data)


class DangerWords(BaseMiddleware):
    """A person who writes that they are in danger ("допоможіть", "SOS", "help me": services/danger.py)
    sees the emergency numbers at once, wherever they are. In a dialog the numbers come first and the
    dialog goes on (text it asks for is kept as the answer); at the menu this is the danger screen, and
    the fallback says nothing more (`danger_shown`). Commands are their own handlers' (/sos)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Message) and event.chat.type == "private":
            text = event.text or event.caption
            profile = data.get("profile")
            if (
                text
                and not text.startswith("/")
                and not (profile is not None and profile.is_staff)
                and signals_danger(text)
            ):
                at_menu = data.get("raw_state") is None
                markup = keyboards.after_danger() if at_menu else None
                try:
                    await event.answer(_("danger.text"), reply_markup=markup)
                    data["danger_shown"] = True
                except Exception as exc:  # the words themselves must still reach their handler
                    log.warning("could not show the danger screen (%s)", type(exc).__name__)
        return await handler(event, data)


class RetryAfter(BaseRequestMiddleware):
    """Telegram's 429: wait the `retry_after` it asks for and try again (aiogram only raises)."""

    def __init__(
        self,
        *,
        attempts: int = 3,
        max_wait: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.attempts = attempts
        self.max_wait = max_wait
        self.sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(self.attempts):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt + 1 == self.attempts or exc.retry_after > self.max_wait:
                    raise
                log.info("429 on %s: waiting %s s", type(method).__name__, exc.retry_after)
                await self.sleep(float(exc.retry_after))
        raise AssertionError("unreachable")


class BestEffortCallbackAnswers(BaseRequestMiddleware):
    """Answering a button press only stops the client's spinner. A press too old to answer (after a
    restart or a backlog) must not abort the reply itself, which may be 102/112 for someone in danger."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if not isinstance(method, AnswerCallbackQuery):
                raise
            log.info("a callback query could not be answered (%s); carrying on", type(exc).__name__)
            return Response[TelegramType](ok=True, result=cast(TelegramType, True))
