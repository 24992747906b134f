"""Notices of the monthly notification to the police: the reminder to organisations that have not
filed, and the digest with the official letter to the police liaison. Each runs in the recipient's locale
(the letter itself is always in Ukrainian: bot/services/police_letter.py)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import callbacks, render
from bot.keyboards import button, markup
from bot.notices import keyboards as notice_keyboards
from bot.notices.delivery import Composed
from bot.notices.outgoing import Outgoing
from bot.services.directory import Directory, Oblast
from bot.services.police_letter import police_letter
from bot.services.police_reports import OrgStatus


def reminder(month: str, due_day: int) -> Composed:
    text = _("police.reminder").format(month=render.month(month), day=due_day)
    file = callbacks.PoliceReports(action=callbacks.PoliceAction.START)
    return text, notice_keyboards.one_button(_("police.file"), file)


def digest_buttons(oblast: str, month: str) -> InlineKeyboardMarkup:
    """Acknowledge this month's digest; or get another month's again."""
    ack = callbacks.PoliceReports(action=callbacks.PoliceAction.ACK, value=f"{oblast}|{month}")
    again = callbacks.PoliceReports(action=callbacks.PoliceAction.DIGESTS, value=oblast)
    return markup([button(_("police.acknowledge"), ack)], [button(_("letter.other_months"), again)])


def digest_file(
    statuses: list[OrgStatus], month: str, oblast: Oblast, directory: Directory, template: bytes, lang: str
) -> tuple[str, str, bytes]:
    """The digest's text, and the letter's file name and content."""
    text = render.police_digest(statuses, month, oblast.name.get(lang))
    letter = police_letter(template, statuses, month, oblast.id, directory)
    return text, f"digest-{oblast.id}-{month}.docx", letter


def digest(
    recipient: int,
    purpose: str,
    statuses: list[OrgStatus],
    month: str,
    oblast: Oblast,
    directory: Directory,
    lang: str,
    template: bytes,
) -> Outgoing:
    """Last month's digest with the letter attached (DOCX) and a button to acknowledge it."""
    text, name, letter = digest_file(statuses, month, oblast, directory, template, lang)
    return Outgoing(
        recipient,
        purpose,
        text,
        digest_buttons(oblast.id, month),
        document_name=name,
        document=letter,
    )
