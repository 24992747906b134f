"""Reminders of the programme's calendar: coordination council meetings, awareness days and the annual
information. Each runs in the recipient's locale."""

from __future__ import annotations

from datetime import date

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import callbacks, render
from bot.notices import keyboards as notice_keyboards
from bot.notices.delivery import Composed
from bot.notices.outgoing import Outgoing
from bot.services.catalogue import Programme


def _log_event_button() -> InlineKeyboardMarkup:
    return notice_keyboards.one_button(_("event.log"), callbacks.Events(action=callbacks.EventAction.START))


def council(when: date, lead: int) -> Composed:
    """A coordination council meeting `lead` days ahead, with the button to log it afterwards."""
    text = _("council.tomorrow" if lead == 1 else "council.week").format(date=when.strftime("%d.%m.%Y"))
    return text, _log_event_button()


def awareness(key: str, when: date, lead: int) -> Composed:
    """An awareness day `lead` days ahead: which campaign will you hold (and log)?"""
    text = _("awareness.tomorrow" if lead == 1 else "awareness.two_weeks").format(
        date=when.strftime("%d.%m"), day=_(f"awareness.{key}")
    )
    return text, _log_event_button()


def annual_information(
    recipient: int,
    purpose: str,
    programme: Programme,
    year: int,
    due_day: int,
    lang: str,
    draft: tuple[str, str, bytes],
) -> Outgoing:
    """The annual information due on `due_day` February, with the draft (summary, file name, XLSX)."""
    summary, name, xlsx = draft
    text = _("annual.reminder").format(year=year, day=due_day, programme=programme.title.get(lang))
    return Outgoing(
        recipient, purpose, render.fit(text + "\n\n" + summary), document_name=name, document=xlsx
    )
