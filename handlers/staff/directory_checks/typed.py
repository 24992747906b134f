"""What a coordinator types in the correction dialog: the phones, the address, the source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.keyboards import markup
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
from bot.services.staff import AccessDenied
from bot.services.users import UserProfile
from handlers.staff.directory_checks.buttons import next_step
from handlers.staff.directory_checks.keyboards import cancel_row

# Longer than anything the three text steps accept: refused before any parsing.
TYPED_LIMIT = max(ADDRESS_LIMIT, SOURCE_LIMIT)


async def _typed(
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
            reply_markup=markup(cancel_row(entry.id)),
        )
        return None
    return entry, text


@dataclass(frozen=True)
class _Step:
    """A typed step: the dialog data's key, how the text becomes its value, what a refused text is told."""

    key: str
    parse: Callable[[str], Any]
    refusal: Callable[[str, CheckError], str]


def _phones_refused(text: str, error: CheckError) -> str:
    if str(error) == "phones_count":
        return _("directory.phones_count").format(limit=PHONES_LIMIT)
    return _("directory.bad_phone")


def _address_refused(text: str, error: CheckError) -> str:
    return _("directory.too_long").format(length=len(text), limit=ADDRESS_LIMIT)


def _source_refused(text: str, error: CheckError) -> str:
    return _("directory.source_length").format(minimum=SOURCE_MIN, limit=SOURCE_LIMIT)


PHONES = _Step("phones", lambda text: list(parse_phones(text)), _phones_refused)
ADDRESS = _Step(
    "address", lambda text: clean_text(text, 1, ADDRESS_LIMIT, "address_length"), _address_refused
)
SOURCE = _Step(
    "source", lambda text: clean_text(text, SOURCE_MIN, SOURCE_LIMIT, "source_length"), _source_refused
)


async def _take(
    step: _Step,
    message: Message,
    state: FSMContext,
    profile: UserProfile,
    directory: Directory,
    checks: DirectoryChecks,
    lang: str,
) -> None:
    """Keeps the typed answer and asks the next step, or says why the text was refused."""
    got = await _typed(message, state, profile, checks)
    if got is None:
        return
    entry, text = got
    try:
        value = step.parse(text)
    except CheckError as error:
        await message.answer(step.refusal(text, error), reply_markup=markup(cancel_row(entry.id)))
        return
    await state.update_data({step.key: value})
    reply, keyboard = await next_step(state, entry, directory, checks, lang)
    await message.answer(reply, reply_markup=keyboard)


async def on_phones(
    message: Message,
    state: FSMContext,
    profile: UserProfile,
    directory: Directory,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    await _take(PHONES, message, state, profile, directory, directory_checks, i18n.current_locale)


async def on_address(
    message: Message,
    state: FSMContext,
    profile: UserProfile,
    directory: Directory,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    await _take(ADDRESS, message, state, profile, directory, directory_checks, i18n.current_locale)


async def on_source(
    message: Message,
    state: FSMContext,
    profile: UserProfile,
    directory: Directory,
    directory_checks: DirectoryChecks,
    i18n: I18n,
) -> None:
    await _take(SOURCE, message, state, profile, directory, directory_checks, i18n.current_locale)


async def on_confirm_typed(message: Message, state: FSMContext) -> None:
    entry_id = str((await state.get_data()).get("entry", ""))
    await message.answer(_("directory.use_buttons"), reply_markup=markup(cancel_row(entry_id)))


async def on_not_text(message: Message, state: FSMContext) -> None:
    """A photo, sticker, voice message... where text was expected."""
    entry_id = str((await state.get_data()).get("entry", ""))
    await message.answer(_("directory.text_expected"), reply_markup=markup(cancel_row(entry_id)))
