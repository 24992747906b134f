"""One handler per button of an entry check: the card's three (still correct, correct, withdraw) and the
correction dialog's. Every press is checked again by DirectoryChecks: the entry must still be shown and in
the person's scope, whatever the button says; refusals are answered by the router's middleware."""

from __future__ import annotations

from html import escape

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
    callback_data: EntryChecks,
    state: FSMContext,
    raw_state: str | None,
    checks: DirectoryChecks,
    profile: UserProfile,
    step: str | None,
) -> Entry | None:
    """The entry, if the dialog is at `step` on it; None for a step of a dialog that is over (or at
    another step, or on another entry's)."""
    entry = checks.checkable(profile.staff, callback_data.entry)
    if not in_dialog(raw_state) or (await state.get_data()).get("entry") != entry.id:
        return None
    return entry if raw_state == step else None


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
    entry = directory_checks.checkable(profile.staff, callback_data.entry)
    if not in_dialog(raw_state) or (await state.get_data()).get("entry") != entry.id:
        await stale_button(callback, bot)
    elif raw_state == EntryFix.phones.state:
        await state.update_data(phones=list(entry.phones))
        await show(
            callback, bot, *await next_step(state, entry, directory, directory_checks, i18n.current_locale)
        )
    elif raw_state == EntryFix.address.state:
        await state.update_data(address=entry.address)
        await show(
            callback, bot, *await next_step(state, entry, directory, directory_checks, i18n.current_locale)
        )
    else:
        await stale_button(callback, bot)


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
        callback_data, state, raw_state, directory_checks, profile, EntryFix.phones.state
    )
    if entry is None:
        await stale_button(callback, bot)
        return
    await state.update_data(phones=[])
    await show(
        callback, bot, *await next_step(state, entry, directory, directory_checks, i18n.current_locale)
    )


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
        callback_data, state, raw_state, directory_checks, profile, EntryFix.address.state
    )
    if entry is None:
        await stale_button(callback, bot)
        return
    await state.update_data(address=None)
    await show(
        callback, bot, *await next_step(state, entry, directory, directory_checks, i18n.current_locale)
    )


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
        callback_data, state, raw_state, directory_checks, profile, EntryFix.confirm.state
    )
    if entry is None:
        await stale_button(callback, bot)
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
