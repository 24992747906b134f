"""The directory entry sent to be checked (scheduler/freshness.py says who gets it, and when), as citizens see
it, with its place and source and the buttons to confirm, correct or withdraw it. Runs in the
recipient's locale."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot import render
from bot.notices import keyboards as notice_keyboards
from bot.notices.delivery import Composed
from bot.services.directory import Directory, Entry


def stale_entry(entry: Entry, directory: Directory, lang: str) -> Composed:
    intro = _("directory.reminder").format(date=entry.checked_on.strftime("%d.%m.%Y"))
    text = render.fit(intro + "\n\n" + render.entry_check_card(entry, directory, lang))
    return text, notice_keyboards.directory_check(entry.id)
