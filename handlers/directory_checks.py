"""Coordinators keep the "where to get help" directory fresh.

An entry last checked more than a year ago reaches the coordinator of its area (scheduler/freshness.py)
as citizens see it, with three buttons: "Still correct" (checked today), "Correct" (new phones and
address, with the source they were found in; a short dialog) and "Withdraw" (after a confirmation;
citizens stop seeing it at once). Every press is checked again on the server side: the entry must
still be shown and in the person's scope, whatever the button says.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards, render
from bot.callbacks import EntryChecks
from bot.keyboards import button
from bot.notices.keyboards import directory_check
from bot.services.directory import (
    ADDRESS_LIMIT,
    PHONES_LIMIT,
    SOURCE_LIMIT,
    SOURCE_MIN,
    CheckError,
    Directory,
    DirectoryChecks,
    Entry,
    clean_text,
    parse_phones,
)
from bot.services.staff import AccessDenied, StaffService
from bot.services.users import UserProfile
from handlers.ui import chat_id_of, show, stale_button

# Longer than anything the three text steps accept: refused before any parsing.
TYPED_LIMIT = max(ADDRESS_LIMIT, SOURCE_LIMIT)


class EntryFix(StatesGroup):
    phones = State()
    address = State()
    source = State()
    confirm = State()


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


def _cancel_row(entry_id: str) -> list[InlineKeyboardButton]:
    return [button(_("directory.button.cancel"), EntryChecks(a="cancel", e=entry_id))]


def _phones_text(phones: tuple[str, ...] | list[str]) -> str:
    return ", ".join(escape(p) for p in phones) if phones else _("directory.none")


def create_router() -> Router:
    router = Router(name="directory-checks")

    async def ask_phones(
        callback: CallbackQuery, bot: Bot, state: FSMContext, entry: Entry, lang: str
    ) -> None:
        await state.set_state(EntryFix.phones)
        await state.set_data({"entry": entry.id})
        rows = [[button(_("directory.button.keep"), EntryChecks(a="keep", e=entry.id))]]
        if entry.phones:
            rows.append([button(_("directory.button.no_phone"), EntryChecks(a="nophone", e=entry.id))])
        text = _("directory.ask_phones").format(
            name=escape(entry.name.get(lang)), phones=_phones_text(entry.phones), limit=PHONES_LIMIT
        )
        await show(callback, bot, text, _markup(*rows, _cancel_row(entry.id)))

    def address_step(entry: Entry) -> tuple[str, InlineKeyboardMarkup]:
        current = escape(entry.address) if entry.address else _("directory.none")
        text = _("directory.ask_address").format(address=current)
        if entry.address_private:
            text += "\n" + _("directory.address_hidden")
        rows = [[button(_("directory.button.keep"), EntryChecks(a="keep", e=entry.id))]]
        if entry.address:
            rows.append([button(_("directory.button.no_address"), EntryChecks(a="noaddr", e=entry.id))])
        return text, _markup(*rows, _cancel_row(entry.id))

    def source_step(entry: Entry) -> tuple[str, InlineKeyboardMarkup]:
        text = _("directory.ask_source").format(minimum=SOURCE_MIN, limit=SOURCE_LIMIT)
        return text, _markup(_cancel_row(entry.id))

    def preview(
        entry: Entry, data: dict[str, Any], directory: Directory, lang: str, today: date
    ) -> tuple[str, Any]:
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
        markup = _markup(
            [button(_("directory.button.save"), EntryChecks(a="save", e=entry.id))], _cancel_row(entry.id)
        )
        return render.fit(text), markup

    async def next_step(
        state: FSMContext, entry: Entry, directory: Directory, lang: str, today: date
    ) -> tuple[str, InlineKeyboardMarkup]:
        """The step after the one just answered (the answer is in the dialog data already)."""
        data = await state.get_data()
        if "address" not in data:
            await state.set_state(EntryFix.address)
            return address_step(entry)
        if "source" not in data:
            await state.set_state(EntryFix.source)
            return source_step(entry)
        await state.set_state(EntryFix.confirm)
        return preview(entry, data, directory, lang, today)

    @router.callback_query(EntryChecks.filter())
    async def on_button(
        callback: CallbackQuery,
        callback_data: EntryChecks,
        bot: Bot,
        state: FSMContext,
        raw_state: str | None,
        profile: UserProfile,
        directory: Directory,
        directory_checks: DirectoryChecks,
        staff: StaffService,
        i18n: I18n,
    ) -> None:
        a, entry_id = callback_data.a, callback_data.e
        lang = i18n.current_locale
        today = directory_checks.today().strftime("%d.%m.%Y")
        in_dialog = raw_state in {s.state for s in EntryFix.__all_states__}
        try:
            if a == "cancel":
                if in_dialog:
                    await state.clear()
                await show(
                    callback,
                    bot,
                    _("directory.cancelled"),
                    _markup(
                        [button(_("directory.button.back"), EntryChecks(a="open", e=entry_id))],
                        keyboards.back_to_menu_row(),
                    ),
                )
                return
            if a == "rs":
                entry = await directory_checks.restore(profile.staff_id, profile.staff, entry_id)
                text = _("directory.restored") + "\n\n" + render.entry_check_card(entry, directory, lang)
                await show(callback, bot, render.fit(text), directory_check(entry.id))
                return
            entry = directory_checks.checkable(profile.staff, entry_id)
            if a == "open":
                if in_dialog:
                    await state.clear()
                text = _("directory.open") + "\n\n" + render.entry_check_card(entry, directory, lang)
                await show(callback, bot, render.fit(text), directory_check(entry.id))
            elif a == "ok":
                entry = await directory_checks.confirm(profile.staff_id, profile.staff, entry.id)
                text = _("directory.confirmed").format(date=today)
                await show(
                    callback,
                    bot,
                    render.fit(text + "\n\n" + render.entry_check_card(entry, directory, lang)),
                    keyboards.only_menu(),
                )
            elif a == "wd":
                text = _("directory.withdraw_confirm").format(name=escape(entry.name.get(lang)))
                await show(
                    callback,
                    bot,
                    text,
                    _markup(
                        [button(_("directory.button.withdraw_yes"), EntryChecks(a="wdy", e=entry.id))],
                        [button(_("directory.button.back"), EntryChecks(a="open", e=entry.id))],
                    ),
                )
            elif a == "wdy":
                entry = await directory_checks.withdraw(profile.staff_id, profile.staff, entry.id)
                text = _("directory.withdrawn").format(name=escape(entry.name.get(lang)))
                markup = _markup(
                    [button(_("directory.button.restore"), EntryChecks(a="rs", e=entry.id))],
                    keyboards.back_to_menu_row(),
                )
                await show(callback, bot, text, markup)
            elif a == "fix":
                await ask_phones(callback, bot, state, entry, lang)
            elif not in_dialog or (await state.get_data()).get("entry") != entry.id:
                await stale_button(callback, bot)  # a step of a dialog that is over, or another entry's
            elif a in ("keep", "nophone") and raw_state == EntryFix.phones.state:
                await state.update_data(phones=list(entry.phones) if a == "keep" else [])
                await show(
                    callback, bot, *await next_step(state, entry, directory, lang, directory_checks.today())
                )
            elif a in ("keep", "noaddr") and raw_state == EntryFix.address.state:
                await state.update_data(address=entry.address if a == "keep" else None)
                await show(
                    callback, bot, *await next_step(state, entry, directory, lang, directory_checks.today())
                )
            elif a == "save" and raw_state == EntryFix.confirm.state:
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
                text = _("directory.corrected").format(date=today)
                await show(
                    callback,
                    bot,
                    render.fit(text + "\n\n" + render.entry_check_card(entry, directory, lang)),
                    keyboards.only_menu(),
                )
            else:
                await stale_button(callback, bot)
        except AccessDenied as denial:
            await staff.audit(
                profile.id,
                "denied." + str(denial)[:30],
                detail=f"entry={entry_id}"[:200],
                actor_key=profile.key,
            )
            await callback.answer(_("staff.denied"), show_alert=True)
        except CheckError as error:
            if in_dialog:
                await state.clear()
            if str(error) == "unknown":
                await stale_button(callback, bot)
            elif str(error) == "gone":
                await callback.answer(_("directory.gone_toast"))
                await bot.send_message(
                    chat_id_of(callback), _("directory.gone"), reply_markup=keyboards.only_menu()
                )
            else:  # the dialog checked it already; only a change of the rules in between gets here
                await show(callback, bot, _("directory.cancelled"), keyboards.only_menu())

    async def typed(
        message: Message, state: FSMContext, profile: UserProfile, checks: DirectoryChecks
    ) -> tuple[Entry, str] | None:
        """The entry of the dialog (still checkable by this person) and the text typed, or None
        after saying what went wrong (the dialog then stays where it is, or ends if the entry went)."""
        entry_id = str((await state.get_data()).get("entry", ""))
        try:
            entry = checks.checkable(profile.staff, entry_id)
        except AccessDenied:
            await state.clear()
            await message.answer(_("staff.denied_text"), reply_markup=keyboards.only_menu())
            return None
        except CheckError:
            await state.clear()
            await message.answer(_("directory.gone"), reply_markup=keyboards.only_menu())
            return None
        text = message.text or ""
        if len(text) > TYPED_LIMIT:
            await message.answer(
                _("directory.too_long").format(length=len(text), limit=TYPED_LIMIT),
                reply_markup=_markup(_cancel_row(entry.id)),
            )
            return None
        return entry, text

    @router.message(StateFilter(EntryFix.phones), F.text)
    async def on_phones(
        message: Message,
        state: FSMContext,
        profile: UserProfile,
        directory: Directory,
        directory_checks: DirectoryChecks,
        i18n: I18n,
    ) -> None:
        got = await typed(message, state, profile, directory_checks)
        if got is None:
            return
        entry, text = got
        try:
            phones = parse_phones(text)
        except CheckError as error:
            why = (
                _("directory.phones_count").format(limit=PHONES_LIMIT)
                if str(error) == "phones_count"
                else _("directory.bad_phone")
            )
            await message.answer(why, reply_markup=_markup(_cancel_row(entry.id)))
            return
        await state.update_data(phones=list(phones))
        text, markup = await next_step(state, entry, directory, i18n.current_locale, directory_checks.today())
        await message.answer(text, reply_markup=markup)

    @router.message(StateFilter(EntryFix.address), F.text)
    async def on_address(
        message: Message,
        state: FSMContext,
        profile: UserProfile,
        directory: Directory,
        directory_checks: DirectoryChecks,
        i18n: I18n,
    ) -> None:
        got = await typed(message, state, profile, directory_checks)
        if got is None:
            return
        entry, text = got
        try:
            address = clean_text(text, 1, ADDRESS_LIMIT, "address_length")
        except CheckError:
            await message.answer(
                _("directory.too_long").format(length=len(text), limit=ADDRESS_LIMIT),
                reply_markup=_markup(_cancel_row(entry.id)),
            )
            return
        await state.update_data(address=address)
        text, markup = await next_step(state, entry, directory, i18n.current_locale, directory_checks.today())
        await message.answer(text, reply_markup=markup)

    @router.message(StateFilter(EntryFix.source), F.text)
    async def on_source(
        message: Message,
        state: FSMContext,
        profile: UserProfile,
        directory: Directory,
        directory_checks: DirectoryChecks,
        i18n: I18n,
    ) -> None:
        got = await typed(message, state, profile, directory_checks)
        if got is None:
            return
        entry, text = got
        try:
            source = clean_text(text, SOURCE_MIN, SOURCE_LIMIT, "source_length")
        except CheckError:
            await message.answer(
                _("directory.source_length").format(minimum=SOURCE_MIN, limit=SOURCE_LIMIT),
                reply_markup=_markup(_cancel_row(entry.id)),
            )
            return
        await state.update_data(source=source)
        text, markup = await next_step(state, entry, directory, i18n.current_locale, directory_checks.today())
        await message.answer(text, reply_markup=markup)

    @router.message(StateFilter(EntryFix.confirm))
    async def on_confirm_typed(message: Message, state: FSMContext) -> None:
        entry_id = str((await state.get_data()).get("entry", ""))
        await message.answer(_("directory.use_buttons"), reply_markup=_markup(_cancel_row(entry_id)))

    @router.message(StateFilter(EntryFix.phones, EntryFix.address, EntryFix.source))
    async def on_not_text(message: Message, state: FSMContext) -> None:
        """A photo, sticker, voice message... where text was expected."""
        entry_id = str((await state.get_data()).get("entry", ""))
        await message.answer(_("directory.text_expected"), reply_markup=_markup(_cancel_row(entry_id)))

    return router
