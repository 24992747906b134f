"""A message the bot sends on its own, and the queue it goes into: what handlers and notices need of the
outbox (bot/notices/outbox.py implements it), without the outbox's table, so that a handler reaches the
database only through the services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup


@dataclass(frozen=True)
class Outgoing:
    recipient: int
    purpose: str
    text: str
    markup: InlineKeyboardMarkup | None = None
    document_name: str | None = None
    document: bytes | None = None
    protect: bool = True
    photo: str | None = None  # a Telegram file id: the text goes as its caption when it fits
    # To a citizen: the purpose (it names a case) is kept only as a keyed hash, and the row is deleted
    # once delivered, so the table never pairs a person with a case.
    citizen: bool = False


class Queue(Protocol):
    async def enqueue(self, messages: list[Outgoing]) -> int:
        """Queue messages, once per recipient and purpose; returns how many were new."""
        ...

    async def enqueue_one(self, message: Outgoing) -> int | None:
        """Queue one message its handler sends at once (`send_now`); its row id, None if queued already."""
        ...

    async def send_now(self, bot: Bot, row_id: int) -> str:
        """Send one queued message now: "sent", "queued" (left to the retries), "blocked" or "failed"."""
        ...
