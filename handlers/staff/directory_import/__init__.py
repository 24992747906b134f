"""Importing directory entries from a CSV in the bot (admins, and an oblast's regional coordinators for
their oblast): the person sends the file, sees the dry run (added, changed, withdrawn, the rows refused
with their line and reason) and confirms or cancels. The file's format and rules are
bot/services/directory_exchange.py's; the file's text stays in the dialog data (encrypted, gone with the
dialog), never in a log. A district coordinator or anyone else is refused, and the refusal audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import F, Router
from aiogram.filters import StateFilter

from bot.callbacks import DirectoryImport, DirectoryImportAction
from handlers.staff.access import gate
from handlers.staff.admin.access import MANAGERS, ButtonGate
from handlers.staff.directory_import import flow
from handlers.staff.directory_import.states import DirectoryImportForm


def _typed(message: object) -> bool:
    text = getattr(message, "text", None) or ""
    return not text.startswith("/")


def create_router() -> Router:
    dialog = Router(name="directory_import.dialog")
    gate(dialog, flow.FLOW, MANAGERS, "admin.denied")
    # Another file instead of confirming the first: its own dry run.
    waiting = StateFilter(DirectoryImportForm.file, DirectoryImportForm.confirm)
    dialog.message.register(flow.on_file, waiting, F.document)
    dialog.message.register(flow.on_not_a_file, waiting, _typed)

    buttons = Router(name="directory_import.buttons")
    buttons.callback_query.middleware(ButtonGate(flow.FLOW, MANAGERS))
    steps: dict[DirectoryImportAction, Callable[..., Awaitable[None]]] = {
        DirectoryImportAction.START: flow.on_start,
        DirectoryImportAction.CURRENT: flow.on_current,
        DirectoryImportAction.CONFIRM: flow.on_confirm,
        DirectoryImportAction.CANCEL: flow.on_cancel,
    }
    for action, handler in steps.items():
        buttons.callback_query.register(handler, DirectoryImport.filter(F.action == action))

    router = Router(name="directory_import")
    router.include_routers(dialog, buttons)
    return router
