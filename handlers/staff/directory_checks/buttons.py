"""One handler per button of an entry check: the card's three (still correct, correct, withdraw) and the
correction dialog's. Every press is checked again by DirectoryChecks: the entry must still be shown and in
the person's scope, whatever the button says; refusals are answered by the router's middleware."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards, render
from bot.callbacks import EntryChecks
from bot.notices.keyboards import directory_check
from bot.services.directory import Directory, DirectoryChecks, Entry
from bot.services.users import UserProfile
from handlers.staff.directory_checks import keyboards as kb
from handlers.staff.directory_checks.states import EntryFix, in_dialog
from handlers.ui import show, stale_button


def _card(notice: str, entry: Entry, directory: Directory, lang: str) -> str:
    return render.fit(notice + "\n\n" + render.entry_check_card(entry, directory, lang))


async def next_step(
    state: FSMContext, entry: Entry, directory: Directory, checks: DirectoryChecks, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The step after the one just answered (the answer is in the dialog data already)."""
    data = await state.get_data()
    if "address" not in data:
        await state.set_state(EntryFix.address)
        return kb.address_step(entry)
    if "source" not in data:
        await state.set_state(EntryFix.source)
        return kb.source_step(entry)
    await state.set_state(EntryFix.confirm)
    return kb.preview(entry, data, directory, lang, checks.today())


async def on_cancel(
    callback: CallbackQuery, callback_data: EntryChecks, bot: Bot, state: FSMContext, raw_state: str | None
) -> None:
    if in_dialog(raw_state):
        await state.clear()
    await show(callback, bot, _("directory.cancelled"), kb.cancelled(callback_data.entry))


async def on_restore(
    callback: CallbackQuery,
    callback_data: EntryChecks,
    bot: Bot,
    profile: UserProfile,
    directory: Directory,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    entry = await directory_checks.restore(profile.staff_id, profile.staff, callback_data.entry)
    text = _card(_("directory.restored"), entry, directory, i18n.current_locale)
    await show(callback, bot, text, directory_check(entry.id))


async def on_open(
    callback: CallbackQuery,
    callback_data: EntryChecks,
    bot: Bot,
    state: FSMContext,
    raw_state: str | None,
    profile: UserProfile,
    directory: Directory,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    entry = directory_checks.checkable(profile.staff, callback_data.entry)
    if in_dialog(raw_state):
        await state.clear()
    text = _card(_("directory.open"), entry, directory, i18n.current_locale)
    await show(callback, bot, text, directory_check(entry.id))


async def on_still_correct(
    callback: CallbackQuery,
    callback_data: EntryChecks,
    bot: Bot,
    profile: UserProfile,
    directory: Directory,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    entry = directory_checks.checkable(profile.staff, callback_data.entry)
    entry = await directory_checks.confirm(profile.staff_id, profile.staff, entry.id)
    notice = _("directory.confirmed").format(date=directory_checks.today().strftime("%d.%m.%Y"))
    await show(callback, bot, _card(notice, entry, directory, i18n.current_locale), keyboards.only_menu())


async def on_withdraw(
    callback: CallbackQuery,
    callback_data: EntryChecks,
    bot: Bot,
    profile: UserProfile,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    """Asks first: citizens stop seeing the entry at once."""
    entry = directory_checks.checkable(profile.staff, callback_data.entry)
    text = _("directory.withdraw_confirm").format(name=escape(entry.name.get(i18n.current_locale)))
    await show(callback, bot, text, kb.withdraw_confirm(entry.id))


async def on_withdraw_yes(
    callback: CallbackQuery,
    callback_data: EntryChecks,
    bot: Bot,
    profile: UserProfile,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    entry = directory_checks.checkable(profile.staff, callback_data.entry)
    entry = await directory_checks.withdraw(profile.staff_id, profile.staff, entry.id)
    text = _("directory.withdrawn").format(name=escape(entry.name.get(i18n.current_locale)))
    await show(callback, bot, text, kb.withdrawn(entry.id))


async def on_fix(
    callback: CallbackQuery,
    callback_data: EntryChecks,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    """The correction dialog: phones, address, the source they were found in, a preview."""
    entry = directory_checks.checkable(profile.staff, callback_data.entry)
    await state.set_state(EntryFix.phones)
    await state.set_data({"entry": entry.id})
    await show(callback, bot, *kb.phones_step(entry, i18n.current_locale))


async def _dialog_entry(
    callback: CallbackQuery,
    callback_data: EntryChecks,
    bot: Bot,
    state: FSMContext,
    raw_state: str | None,
    checks: DirectoryChecks,
    profile: UserProfile,
    *steps: str | None,
) -> Entry | None:
    """The entry, if the dialog is at one of `steps` on it; None, after answering the press as stale, for
    a step of a dialog that is over (or at another step, or on another entry's)."""
    entry = checks.checkable(profile.staff, callback_data.entry)
    if raw_state in steps and (await state.get_data()).get("entry") == entry.id:
        return entry
    await stale_button(callback, bot)
    return None


async def _answered(
    callback: CallbackQuery,
    bot: Bot,
    state: FSMContext,
    entry: Entry,
    directory: Directory,
    checks: DirectoryChecks,
    lang: str,
    **answer: Any,
) -> None:
    """Keeps the step's answer and shows the step after it."""
    await state.update_data(**answer)
    await show(callback, bot, *await next_step(state, entry, directory, checks, lang))


# What "keep as is" keeps, by the step it is pressed at.
KEPT: dict[str | None, Callable[[Entry], dict[str, Any]]] = {
    EntryFix.phones.state: lambda entry: {"phones": list(entry.phones)},
    EntryFix.address.state: lambda entry: {"address": entry.address},
}


async def on_keep(
    callback: CallbackQuery,
    callback_data: EntryChecks,
    bot: Bot,
    state: FSMContext,
    raw_state: str | None,
    profile: UserProfile,
    directory: Directory,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    """Keeps the phones or the address, whichever is being asked."""
    entry = await _dialog_entry(
        callback, callback_data, bot, state, raw_state, directory_checks, profile, *KEPT
    )
    if entry is None:
        return
    kept = KEPT[raw_state](entry)
    await _answered(callback, bot, state, entry, directory, directory_checks, i18n.current_locale, **kept)


async def on_no_phone(
    callback: CallbackQuery,
    callback_data: EntryChecks,
    bot: Bot,
    state: FSMContext,
    raw_state: str | None,
    profile: UserProfile,
    directory: Directory,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    entry = await _dialog_entry(
        callback, callback_data, bot, state, raw_state, directory_checks, profile, EntryFix.phones.state
    )
    if entry is not None:
        lang = i18n.current_locale
        await _answered(callback, bot, state, entry, directory, directory_checks, lang, phones=[])


async def on_no_address(
    callback: CallbackQuery,
    callback_data: EntryChecks,
    bot: Bot,
    state: FSMContext,
    raw_state: str | None,
    profile: UserProfile,
    directory: Directory,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    entry = await _dialog_entry(
        callback, callback_data, bot, state, raw_state, directory_checks, profile, EntryFix.address.state
    )
    if entry is not None:
        lang = i18n.current_locale
        await _answered(callback, bot, state, entry, directory, directory_checks, lang, address=None)


async def on_save(
    callback: CallbackQuery,
    callback_data: EntryChecks,
    bot: Bot,
    state: FSMContext,
    raw_state: str | None,
    profile: UserProfile,
    directory: Directory,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    entry = await _dialog_entry(
        callback, callback_data, bot, state, raw_state, directory_checks, profile, EntryFix.confirm.state
    )
    if entry is None:
        return
    data = await state.get_data()
    entry = await directory_checks.correct(
        profile.staff_id,
        profile.staff,
        entry.id,
        phones=data["phones"],
        address=data["address"],
        source=data["source"],
    )
    await state.clear()
    notice = _("directory.corrected").format(date=directory_checks.today().strftime("%d.%m.%Y"))
    await show(callback, bot, _card(notice, entry, directory, i18n.current_locale), keyboards.only_menu())
