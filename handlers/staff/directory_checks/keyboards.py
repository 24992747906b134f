"""The entry check's screens: the steps of a correction, the preview, withdrawing and restoring.
The card's own three buttons are a notice's (bot/notices/keyboards.py directory_check)."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.callbacks import EntryCheckAction, EntryChecks
from bot.keyboards import back_to_menu_row, button, markup
from bot.services.directory import PHONES_LIMIT, SOURCE_LIMIT, SOURCE_MIN, Directory, Entry


def step(label: str, action: EntryCheckAction, entry_id: str) -> InlineKeyboardButton:
    return button(label, EntryChecks(action=action, entry=entry_id))


def cancel_row(entry_id: str) -> list[InlineKeyboardButton]:
    return [step(_("directory.button.cancel"), EntryCheckAction.CANCEL, entry_id)]


def cancelled(entry_id: str) -> InlineKeyboardMarkup:
    return markup([step(_("directory.button.back"), EntryCheckAction.OPEN, entry_id)], back_to_menu_row())


def withdraw_confirm(entry_id: str) -> InlineKeyboardMarkup:
    return markup(
        [step(_("directory.button.withdraw_yes"), EntryCheckAction.WITHDRAW_YES, entry_id)],
        [step(_("directory.button.back"), EntryCheckAction.OPEN, entry_id)],
    )


def withdrawn(entry_id: str) -> InlineKeyboardMarkup:
    return markup(
        [step(_("directory.button.restore"), EntryCheckAction.RESTORE, entry_id)], back_to_menu_row()
    )


def _phones_text(phones: tuple[str, ...] | list[str]) -> str:
    return ", ".join(escape(p) for p in phones) if phones else _("directory.none")


def phones_step(entry: Entry, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    rows = [[step(_("directory.button.keep"), EntryCheckAction.KEEP, entry.id)]]
    if entry.phones:
        rows.append([step(_("directory.button.no_phone"), EntryCheckAction.NO_PHONE, entry.id)])
    text = _("directory.ask_phones").format(
        name=escape(entry.name.get(lang)), phones=_phones_text(entry.phones), limit=PHONES_LIMIT
    )
    return text, markup(*rows, cancel_row(entry.id))


def address_step(entry: Entry) -> tuple[str, InlineKeyboardMarkup]:
    current = escape(entry.address) if entry.address else _("directory.none")
    text = _("directory.ask_address").format(address=current)
    if entry.address_private:
        text += "\n" + _("directory.address_hidden")
    rows = [[step(_("directory.button.keep"), EntryCheckAction.KEEP, entry.id)]]
    if entry.address:
        rows.append([step(_("directory.button.no_address"), EntryCheckAction.NO_ADDRESS, entry.id)])
    return text, markup(*rows, cancel_row(entry.id))


def source_step(entry: Entry) -> tuple[str, InlineKeyboardMarkup]:
    text = _("directory.ask_source").format(minimum=SOURCE_MIN, limit=SOURCE_LIMIT)
    return text, markup(cancel_row(entry.id))


def preview(
    entry: Entry, data: dict[str, Any], directory: Directory, lang: str, today: date
) -> tuple[str, InlineKeyboardMarkup]:
    """The entry as citizens will see it once saved."""
    corrected = entry.model_copy(
        update={
            "checked_on": today,
            "phones": tuple(data["phones"]),
            "address": data["address"],
            "source": data["source"],
            "phone_notes": entry.phone_notes if tuple(data["phones"]) == entry.phones else None,
        }
    )
    text = _("directory.preview") + "\n\n" + render.entry_check_card(corrected, directory, lang)
    keyboard = markup(
        [step(_("directory.button.save"), EntryCheckAction.SAVE, entry.id)], cancel_row(entry.id)
    )
    return render.fit(text), keyboard
