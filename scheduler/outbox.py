"""The outbox: every message the bot sends on its own goes through here.

Persistent (a table), idempotent per recipient and purpose (enqueuing twice is a no-op), and sent by
one loop that honours Telegram's 429 `retry_after`, records chats that blocked the bot instead of
retrying them forever, and marks each message sent only after Telegram accepted it. A crash between
Telegram's answer and the mark can repeat that one message; nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.crypto import Cipher
from db.models import OutboxMessage

log = logging.getLogger("dovira")

MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Outgoing:
    recipient: int
    purpose: str
    text: str
    markup: InlineKeyboardMarkup | None = None
    document_name: str | None = None
    document: bytes | None = None
    protect: bool = True


class Outbox:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        cipher: Cipher | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._sm = sessionmaker
        # Messages can quote case codes, signal descriptions (the digest letter): encrypted at rest.
        self._cipher = cipher
        self.clock = clock
        self._sleep = sleep
        self._wake = asyncio.Event()

    async def enqueue(self, messages: list[Outgoing]) -> int:
        """Queue messages; ones already queued for the same recipient and purpose are left as they are.
        Returns how many were new."""
        if not messages:
            return 0
        new = 0
        async with self._sm() as session, session.begin():
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            for m in messages:
                statement = (
                    insert(OutboxMessage)
                    .values(
                        recipient=m.recipient,
                        purpose=m.purpose[:160],
                        text=self._seal_text(m.text),
                        markup=m.markup.model_dump_json(exclude_none=True) if m.markup else None,
                        document_name=m.document_name,
                        document=self._seal(m.document),
                        protect=m.protect,
                        status="pending",
                        attempts=0,
                        not_before=self.clock(),
                        created_at=self.clock(),
                    )
                    .on_conflict_do_nothing(index_elements=["recipient", "purpose"])
                )
                result = await session.execute(statement)
                new += result.rowcount or 0  # type: ignore[attr-defined]
        self._wake.set()
        return new

    async def send_due(self, bot: Bot, limit: int = 100) -> int:
        """Send what is due now, oldest first; returns how many were delivered."""
        async with self._sm() as session:
            due = list(
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.status == "pending", OutboxMessage.not_before <= self.clock())
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                )
            )
        delivered = 0
        for message in due:
            outcome = await self._send_one(bot, message)
            delivered += outcome == "sent"
            if outcome == "paused":
                break
        return delivered

    def _seal(self, data: bytes | None) -> bytes | None:
        if data is None or self._cipher is None:
            return data
        return self._cipher.encrypt_bytes(data)

    def _seal_text(self, text: str) -> str:
        if self._cipher is None:
            return text
        token = self._cipher.encrypt(text)
        assert token is not None
        return "enc:" + token.decode("ascii")

    def _open_text(self, stored: str) -> str:
        if self._cipher is not None and stored.startswith("enc:"):
            return self._cipher.decrypt(stored[4:].encode("ascii")) or ""
        return stored

    def _open(self, data: bytes | None) -> bytes | None:
        if data is None or self._cipher is None:
            return data
        return self._cipher.decrypt_bytes(data)

    async def _send_one(self, bot: Bot, message: OutboxMessage) -> str:
        markup = InlineKeyboardMarkup.model_validate(json.loads(message.markup)) if message.markup else None
        text, document = self._open_text(message.text), self._open(message.document)
        status, delay = "sent", 0.0
        try:
            if document is not None:
                # A caption holds 1024 characters: a longer text goes first as a message of its own.
                caption = text if len(text) <= 1024 else None
                if caption is None:
                    await bot.send_message(message.recipient, text, protect_content=message.protect)
                await bot.send_document(
                    message.recipient,
                    BufferedInputFile(document, message.document_name or "file"),
                    caption=caption,
                    reply_markup=markup,
                    protect_content=message.protect,
                )
            else:
                await bot.send_message(
                    message.recipient, text, reply_markup=markup, protect_content=message.protect
                )
        except TelegramRetryAfter as exc:
            status, delay = "paused", float(exc.retry_after)
        except TelegramForbiddenError:
            status = "blocked"  # blocked the bot or deleted the chat: do not retry forever
        except TelegramBadRequest as exc:
            status = "failed" if "chat not found" in str(exc) else "retry"
        except Exception as exc:  # network and 5xx: try again later
            log.warning("outbox: sending failed (%s)", type(exc).__name__)
            status = "retry"
        async with self._sm() as session, session.begin():
            row = await session.get(OutboxMessage, message.id)
            if row is None:
                return status
            row.attempts += 1
            if status == "sent":
                row.status, row.sent_at = "sent", self.clock()
            elif status in ("blocked", "failed"):
                row.status = status
            elif status == "retry" and row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                backoff = delay if status == "paused" else min(3600.0, 2.0**row.attempts)
                row.not_before = self.clock() + timedelta(seconds=backoff)
        if status == "paused":
            log.info("outbox: Telegram asked to wait %s s", delay)
            await self._sleep(delay)
        return status

    async def purge(self, older_than: timedelta = timedelta(days=7)) -> int:
        """Delivered (or given-up) messages are deleted after a week: nothing needs them then."""
        async with self._sm() as session, session.begin():
            old = list(
                await session.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.status != "pending",
                        OutboxMessage.created_at < self.clock() - older_than,
                    )
                )
            )
            for row in old:
                await session.delete(row)
            return len(old)

    def wake(self) -> None:
        """Make the sender loop look at the table now (new messages, or time to stop)."""
        self._wake.set()

    async def run(self, bot: Bot, stop: asyncio.Event, *, idle: float = 5.0) -> None:
        """The sender loop: wakes on new messages, otherwise every `idle` seconds."""
        while not stop.is_set():
            try:
                await self.send_due(bot)
            except Exception as exc:
                log.error("outbox: a sending round failed (%s)", type(exc).__name__)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), idle)
