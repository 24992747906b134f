"""Notices of the monthly notification to the police: the reminder to organisations that have not
filed, and the digest with the official letter to the police liaison. Each runs in the recipient's locale."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot import callbacks, render
from bot.notices import keyboards as notice_keyboards
from bot.notices.delivery import Composed
from bot.notices.outgoing import Outgoing
from bot.services.directory import Directory, Oblast
from bot.services.police_reports import OrgStatus, digest_docx


def reminder(month: str, due_day: int) -> Composed:
    text = _("police.reminder").format(month=render.month(month), day=due_day)
    file = callbacks.PoliceReports(action=callbacks.PoliceAction.START)
    return text, notice_keyboards.one_button(_("police.file"), file)


def digest(
    recipient: int,
    purpose: str,
    statuses: list[OrgStatus],
    month: str,
    oblast: Oblast,
    directory: Directory,
    lang: str,
) -> Outgoing:
    """Last month's digest with the letter attached (DOCX) and a button to acknowledge it."""
    text, lines = render.police_digest(statuses, month, oblast.name.get(lang), directory, lang)
    ack = callbacks.PoliceReports(action=callbacks.PoliceAction.ACK, value=f"{oblast.id}|{month}")
    markup = notice_keyboards.one_button(_("police.acknowledge"), ack)
    return Outgoing(
        recipient,
        purpose,
        text,
        markup,
        document_name=f"digest-{oblast.id}-{month}.docx",
        document=digest_docx(lines[0], lines[1:]),
    )
