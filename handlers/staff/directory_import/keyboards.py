"""The directory import's keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DirectoryImport, DirectoryImportAction
from bot.keyboards import button, markup
from handlers.staff.admin.keyboards import back_row


def waiting() -> InlineKeyboardMarkup:
    return markup(
        [button(_("import.button.current"), DirectoryImport(action=DirectoryImportAction.CURRENT))],
        back_row(),
    )


def confirm(has_changes: bool) -> InlineKeyboardMarkup:
    rows = []
    if has_changes:
        rows.append(
            [button(_("import.button.confirm"), DirectoryImport(action=DirectoryImportAction.CONFIRM))]
        )
    rows.append([button(_("import.button.cancel"), DirectoryImport(action=DirectoryImportAction.CANCEL))])
    return markup(*rows)
