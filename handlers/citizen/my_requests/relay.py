"""What a person writes about their request: which request a swipe-reply is about, and passing a message
on to the request's coordinator (or keeping it for whoever accepts the request)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MyRequests
from bot.notices import cases as notices
from bot.notices.delivery import language_of, relay
from bot.notices.outgoing import Queue
from bot.services.cases import CaseService, CaseSummary, normalise_code
from bot.services.directory import Directory
from bot.services.users import UserService
from bot.settings import Settings

log = logging.getLogger("dovira")

# A case code as the bot writes it in its messages (render.code): what a swipe-reply is matched by.
CODE_IN_TEXT = re.compile(r"\b([2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4})\b")


@dataclass(frozen=True)
class RelayServices:
    """What passing a message on needs (the handlers' injected services)."""

    bot: Bot
    cases: CaseService
    users: UserService
    i18n: I18n
    outbox: Queue
    directory: Directory
    settings: Settings


def content(message: Message) -> tuple[str | None, str | None, int]:
    """What is passed on of a message: its text (or caption), its photo, and its id (the source)."""
    photo = message.photo[-1].file_id if message.photo else None
    return message.text or message.caption, photo, message.message_id


async def confirm(message: Message, answer: str, markup: InlineKeyboardMarkup) -> None:
    """Tell the sender what became of their message. Stored and queued already: if this answer fails,
    a "try again" would make them send it twice, so the failure is only logged."""
    try:
        await message.answer(answer, reply_markup=markup)
    except Exception as exc:
        log.warning("could not confirm a relayed message to its sender (%s)", type(exc).__name__)


def _case_of_buttons(markup: InlineKeyboardMarkup) -> int | None:
    """The one request the buttons of a message are about (a list of several names none of them)."""
    ids = set()
    for row in markup.inline_keyboard:
        for key in row:
            if key.callback_data and key.callback_data.startswith(MyRequests.__prefix__ + ":"):
                try:
                    ids.add(MyRequests.unpack(key.callback_data).id)
                except (TypeError, ValueError):
                    continue
    ids.discard(0)
    return ids.pop() if len(ids) == 1 else None


def replied_case(message: Message) -> tuple[int | None, str | None]:
    """The request a swipe-reply is about: from the buttons or the code of the bot's message replied to."""
    replied = message.reply_to_message
    if replied is None:
        return None, None
    if isinstance(replied.reply_markup, InlineKeyboardMarkup):
        case_id = _case_of_buttons(replied.reply_markup)
        if case_id is not None:
            return case_id, None
    found = CODE_IN_TEXT.search(replied.text or replied.caption or "")
    return None, (normalise_code(found.group(1)) if found else None)


async def replied_request(message: Message, cases: CaseService) -> CaseSummary | None:
    """The person's own request a swipe-reply is about (None: not one of theirs, or none named)."""
    case_id, code = replied_case(message)
    mine = await cases.of_citizen(message.chat.id)
    return next((c for c in mine if c.id == case_id or (code is not None and c.code == code)), None)


async def pass_on(
    services: RelayServices, chat: int, case_id: int, text: str | None, photo: str | None, source: int | None
) -> str:
    """Store what the person wrote on their request and pass it to its coordinator; returns the
    answer that says truthfully what happened to it. Raises CaseError (too long, conversation over)."""
    s = services
    sent = await s.cases.citizen_message(chat, case_id, text, photo, source)
    if sent.duplicate:  # the same message again (an update handled twice): stored and passed on before
        return _("relay.already")
    if sent.released:  # its coordinator no longer covers it: the area's coordinators take it over
        await notices.notify_area(
            s.outbox,
            s.i18n,
            s.users,
            s.cases,
            s.directory,
            s.settings.admin_ids,
            [sent.case],
            "case.released",
        )
    if sent.owner is None:
        # Stored, and shown on the card of whoever accepts the request; it reached nobody yet.
        return _("relay.saved_for_next")
    with s.i18n.use_locale(await language_of(s.users, s.i18n, sent.owner)):
        header, markup = notices.relay_to_staff(sent.case)
    outcome = await relay(
        s.bot, s.outbox, sent.owner, f"relay:{sent.message_id}", header, text, photo, markup
    )
    return {
        "sent": _("relay.sent"),
        "queued": _("relay.queued"),
    }.get(outcome, _("relay.owner_unreachable"))
