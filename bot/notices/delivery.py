"""How a notice reaches people: composed in each recipient's own language, through the outbox (once per
recipient and purpose), or relayed at once with no trace of who wrote it."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from html import escape
from typing import ParamSpec

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.notices.outgoing import Outgoing, Queue
from bot.services.users import UserService

# What a notice builder returns: the text and its buttons, in the language of the locale it runs in.
Composed = tuple[str, InlineKeyboardMarkup | None]
P = ParamSpec("P")


def compose_with(
    build: Callable[P, Composed], *args: P.args, **kwargs: P.kwargs
) -> Callable[[str], Composed]:
    """A `compose` for `tell` from a builder that needs no more than the locale it runs in."""
    return lambda _lang: build(*args, **kwargs)


async def language_of(users: UserService, i18n: I18n, telegram_id: int) -> str:
    """The recipient's chosen language, read from the database (not the cache, which a restart empties)."""
    return (await users.languages([telegram_id])).get(telegram_id, i18n.default_locale)


async def tell(
    outbox: Queue,
    users: UserService,
    i18n: I18n,
    recipients: Sequence[int],
    purpose: str,
    compose: Callable[[str], Composed],
    *,
    citizen: bool = False,
) -> int:
    """One message per recipient, composed in their language (`compose(language)` runs inside its
    locale), queued together. Returns how many were new."""
    if not recipients:
        return 0
    languages = await users.languages(list(recipients))
    messages = []
    for telegram_id in recipients:
        lang = languages.get(telegram_id, i18n.default_locale)
        # context(): jobs run outside any update's i18n middleware.
        with i18n.context(), i18n.use_locale(lang):
            text, markup = compose(lang)
        messages.append(Outgoing(telegram_id, purpose, text, markup, citizen=citizen))
    return await outbox.enqueue(messages)


async def tell_citizen(
    outbox: Queue,
    users: UserService,
    i18n: I18n,
    chat: int,
    purpose: str,
    compose: Callable[[str], Composed],
) -> int:
    """A message to a citizen: its purpose (which names a case) is stored only as a keyed hash and the
    row is deleted once delivered (db/models.py OutboxMessage)."""
    return await tell(outbox, users, i18n, [chat], purpose, compose, citizen=True)


def relayed(header: str, text: str | None) -> str:
    """A person's message as passed on: the header that names the request, then their words as typed."""
    return header + ("\n\n" + escape(text) if text else "")


async def relay(
    bot: Bot,
    outbox: Queue,
    chat_id: int,
    purpose: str,
    header: str,
    text: str | None,
    photo: str | None,
    markup: InlineKeyboardMarkup | None = None,
) -> str:
    """Pass a message on with no trace of who sent it, protected from forwarding and saving.

    It goes through the outbox, sent at once: a failure of any shape (a Telegram error, the network,
    a timeout, a proxy's HTML error page) leaves it queued for the outbox's retries, and the same
    `purpose` queued twice is sent once. Returns "sent" (Telegram accepted it), "queued" (it will be
    delivered), "blocked" or "failed" (it cannot be: the recipient blocked the bot or left)."""
    body = relayed(header, text)
    # A person's words: kept in the outbox only until delivered, under a keyed hash of their purpose
    # (`citizen`: deleted once answered), whoever receives them. A nonce makes each relay its own row: a
    # stored message's id may come back after /forget erased the newest ones.
    purpose = f"{purpose}:{secrets.token_hex(8)}"
    row = await outbox.enqueue_one(Outgoing(chat_id, purpose, body, markup, photo=photo, citizen=True))
    if row is None:  # cannot happen with the nonce; said as it would be if it did
        return "failed"
    return await outbox.send_now(bot, row)
