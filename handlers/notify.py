"""Messages the bot sends on its own to staff (new cases, relayed messages, deadlines).

Each goes out in the recipient's own language. A failure to reach one person (blocked the bot,
deleted the chat) is logged without identities and does not stop the others.
"""

from __future__ import annotations

import logging
import secrets
from html import escape

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot import case_keyboards as ck
from bot import render
from bot.notices.outbox import Outbox, Outgoing
from bot.services.cases import CaseService, CaseSummary
from bot.services.directory import Directory
from bot.services.users import UserService

log = logging.getLogger("dovira")


async def language_of(users: UserService, i18n: I18n, telegram_id: int) -> str:
    """The recipient's chosen language, read from the database (not the cache, which a restart empties)."""
    return (await users.languages([telegram_id])).get(telegram_id, i18n.default_locale)


async def notify(
    outbox: Outbox, recipient: int, purpose: str, text: str, markup: InlineKeyboardMarkup | None = None
) -> int:
    """One message the bot sends on its own, through the outbox (once per recipient and purpose)."""
    return await outbox.enqueue([Outgoing(recipient, purpose, text, markup)])


async def notify_citizen(
    outbox: Outbox, chat: int, purpose: str, text: str, markup: InlineKeyboardMarkup | None = None
) -> int:
    """A message to a citizen through the outbox: its purpose (which names a case) is stored only as a
    keyed hash and the row is deleted once delivered (db/models.py OutboxMessage)."""
    return await outbox.enqueue([Outgoing(chat, purpose, text, markup, citizen=True)])


async def notify_new_case(
    outbox: Outbox,
    i18n: I18n,
    users: UserService,
    recipients: list[int],
    case: CaseSummary,
    directory: Directory,
    kind: str = "case.new",
    *,
    with_buttons: bool = True,
) -> int:
    """Tell coordinators about a case, with the minimum data and buttons to accept or open it
    (admins, who cannot take cases, get it without buttons)."""
    messages = []
    languages = await users.languages(recipients)
    for telegram_id in recipients:
        lang = languages.get(telegram_id, i18n.default_locale)
        # context(): this also runs from scheduler jobs, outside any update's i18n middleware.
        with i18n.context(), i18n.use_locale(lang):
            text = i18n.gettext(f"notice.{kind}") + "\n\n" + render.case_summary(case, directory, lang)
            markup = ck.new_case_notice(case.id) if with_buttons and case.status == "new" else None
        messages.append(Outgoing(telegram_id, f"{kind}:{case.id}", text, markup))
    return await outbox.enqueue(messages)


async def notify_released(
    outbox: Outbox,
    i18n: I18n,
    users: UserService,
    cases: CaseService,
    directory: Directory,
    admin_ids: frozenset[int],
    released: list[CaseSummary],
) -> int:
    """Cases whose coordinator was removed: the area's coordinators are asked to take each over (the
    admins, when nobody covers the area: they cannot take it, but must find someone)."""
    queued = 0
    for case in released:
        recipients = await cases.coordinators_for(case.oblast, case.district)
        if recipients:
            queued += await notify_new_case(outbox, i18n, users, recipients, case, directory, "case.released")
        else:
            queued += await notify_new_case(
                outbox, i18n, users, sorted(admin_ids), case, directory, "case.released", with_buttons=False
            )
    return queued


async def relay(
    bot: Bot,
    outbox: Outbox,
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
    body = header + ("\n\n" + escape(text) if text else "")
    # A person's words: kept in the outbox only until delivered, under a keyed hash of their purpose
    # (`citizen`: deleted once answered), whoever receives them. A nonce makes each relay its own row: a
    # stored message's id may come back after /forget erased the newest ones.
    purpose = f"{purpose}:{secrets.token_hex(8)}"
    row = await outbox.enqueue_one(Outgoing(chat_id, purpose, body, markup, photo=photo, citizen=True))
    if row is None:  # cannot happen with the nonce; said as it would be if it did
        return "failed"
    return await outbox.send_now(bot, row)
