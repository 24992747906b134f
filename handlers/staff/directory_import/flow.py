"""The import's steps: ask for the CSV, show what it would change, apply it on "Import" (validated again
then: the directory may have changed meanwhile), or forget it on "Cancel"."""

from __future__ import annotations

from html import escape

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Document, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.services.directory import DirectoryChecks, may_check
from bot.services.directory_exchange import (
    FILE_LIMIT,
    ImportRefused,
    Plan,
    file_refusal,
    may_import,
    plan_import,
    read_rows,
    summary,
    to_csv,
)
from bot.services.staff import StaffService
from bot.services.users import UserProfile
from handlers.staff.admin.access import refuse
from handlers.staff.admin.keyboards import back_only
from handlers.staff.directory_import import keyboards as kb
from handlers.staff.directory_import.states import DirectoryImportForm
from handlers.ui import chat_id_of, received_file, show, stale_button

FLOW = "directory_import"
MESSAGE_LIMIT = 3800  # Telegram's 4096, less the frame around the summary


async def on_start(
    callback: CallbackQuery, bot: Bot, state: FSMContext, profile: UserProfile, staff: StaffService
) -> None:
    if not may_import(profile.staff):
        await refuse(callback, bot, staff, profile, FLOW)
        return
    await state.set_state(DirectoryImportForm.file)
    await show(callback, bot, _("import.ask_file"), kb.waiting())


async def on_current(
    callback: CallbackQuery,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    directory_checks: DirectoryChecks,
) -> None:
    """The entries this person may change, as they are now: the file to edit and send back."""
    if not may_import(profile.staff):
        await refuse(callback, bot, staff, profile, FLOW)
        return
    entries = [e for e in directory_checks.directory.all_entries if may_check(profile.staff, e)]
    await callback.answer()
    await bot.send_document(
        chat_id_of(callback),
        BufferedInputFile(to_csv(entries), "directory.csv"),
        caption=_("import.current_caption").format(count=len(entries)),
    )


async def on_file(
    message: Message,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    staff: StaffService,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    """The dry run: what the file would add, change and withdraw, and the rows refused."""
    if not may_import(profile.staff):  # the role went while the dialog was open
        await state.clear()
        await staff.audit(profile.id, f"denied.{FLOW}", actor_key=profile.key)
        await message.answer(_("admin.forbidden"), reply_markup=back_only())
        return
    try:
        content = await _download(bot, message.document)
        plan = _plan(directory_checks, profile, content)
    except ImportRefused as refused:
        await message.answer(escape(file_refusal(refused, _)), reply_markup=kb.waiting())
        return
    await state.set_state(DirectoryImportForm.confirm)
    await state.update_data(import_csv=content.decode("utf-8-sig"))
    key = "import.plan" if plan.has_changes else "import.plan_nothing"
    await message.answer(
        _(key).format(summary=_summary(plan, i18n)), reply_markup=kb.confirm(plan.has_changes)
    )


async def _download(bot: Bot, document: Document | None) -> bytes:
    if document is None:
        raise ImportRefused("not_csv")
    if (document.file_size or 0) > FILE_LIMIT:
        raise ImportRefused("too_big")
    content = await received_file(bot, document)
    if content is None:  # the network or Telegram, not the file: the same file may be sent again
        raise ImportRefused("not_received")
    return content


def _plan(checks: DirectoryChecks, profile: UserProfile, content: bytes) -> Plan:
    return plan_import(checks.directory, read_rows(content), profile.staff, checks.today())


def _summary(plan: Plan, i18n: I18n) -> str:
    text = summary(plan, _, i18n.current_locale)
    return escape(text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "…")


async def on_confirm(
    callback: CallbackQuery,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    staff: StaffService,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    """The good rows, all together in one transaction; the refused ones are left out (and said again)."""
    text = (await state.get_data()).get("import_csv")
    if not isinstance(text, str):
        await state.clear()
        await stale_button(callback, bot)
        return
    if not may_import(profile.staff):
        await state.clear()
        await refuse(callback, bot, staff, profile, FLOW)
        return
    plan = _plan(directory_checks, profile, text.encode("utf-8"))
    if plan.has_changes:
        await directory_checks.record_import(profile.staff_id, plan.imported, plan.withdrawn, via="bot")
    await state.clear()
    await show(callback, bot, _("import.done").format(summary=_summary(plan, i18n)), back_only())


async def on_cancel(callback: CallbackQuery, bot: Bot, state: FSMContext) -> None:
    await state.clear()
    await show(callback, bot, _("import.cancelled"), back_only())


async def on_not_a_file(message: Message) -> None:
    await message.answer(_("import.not_a_file"), reply_markup=kb.waiting())
