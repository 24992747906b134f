"""Citizen privacy controls: clear this chat, and /forget (erase the person's identity; with open requests,
first the person's choice: withdraw them and erase their content, or keep them open, reachable by code).

Staff are never erased (erasing a member of staff would drop their roles unaudited and the name on their
audit entries): each way in answers them with what to do instead, and the user service refuses too."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards, render
from bot.callbacks import Menu, MenuItem, Privacy, PrivacyAction
from bot.keyboards import back_to_menu_row, button, markup, per_locale
from bot.notices import cases as notices
from bot.notices.delivery import compose_with, tell
from bot.notices.outgoing import Queue
from bot.redis_storage import EncryptedRedisStorage
from bot.services.cases import CaseService, CaseSummary, Forgotten
from bot.services.privacy import ids_to_clear
from bot.services.throttle import Throttles
from bot.services.users import ADMIN, UserProfile, UserService
from bot.settings import Settings
from bot.storage import SQLStorage
from handlers.ui import chat_id_of, show

log = logging.getLogger("dovira")

# The answers to the confirmation: plain (no open requests when it was asked), or with open requests.
FORGET_CHOICES = {PrivacyAction.FORGET_YES, PrivacyAction.FORGET_WITHDRAW, PrivacyAction.FORGET_KEEP}


def create_router() -> Router:
    router = Router(name="citizen-privacy")
    router.callback_query.register(on_privacy, Menu.filter(F.to == MenuItem.PRIVACY))
    router.message.register(on_forget_command, Command("forget", ignore_case=True))
    router.callback_query.register(on_forget, Privacy.filter(F.action == PrivacyAction.FORGET))
    router.callback_query.register(on_forget_choice, Privacy.filter(F.action.in_(FORGET_CHOICES)))
    router.callback_query.register(on_clear, Privacy.filter(F.action == PrivacyAction.CLEAR))
    # An unknown action does not parse: the fallback router answers it as a stale button.
    return router


async def on_privacy(callback: CallbackQuery, bot: Bot) -> None:
    await show(callback, bot, _("privacy.text"), privacy())


async def on_forget_command(message: Message, profile: UserProfile, cases: CaseService) -> None:
    if profile.is_staff:
        await message.answer(_staff_kept(profile), reply_markup=keyboards.only_menu())
        return
    text, reply_markup = await _forget_question(cases, message.chat.id)
    await message.answer(text, reply_markup=reply_markup)


async def on_forget(callback: CallbackQuery, bot: Bot, profile: UserProfile, cases: CaseService) -> None:
    if profile.is_staff:
        await show(callback, bot, _staff_kept(profile), keyboards.only_menu())
        return
    await show(callback, bot, *await _forget_question(cases, chat_id_of(callback)))


async def on_forget_choice(
    callback: CallbackQuery,
    callback_data: Privacy,
    bot: Bot,
    profile: UserProfile,
    users: UserService,
    fsm_storage: SQLStorage | EncryptedRedisStorage,
    cases: CaseService,
    throttles: Throttles,
    outbox: Queue,
    i18n: I18n,
    settings: Settings,
) -> None:
    chat_id, choice = chat_id_of(callback), callback_data.action
    if profile.is_staff:
        await show(callback, bot, _staff_kept(profile), keyboards.only_menu())
        return
    if choice == PrivacyAction.FORGET_YES and await cases.open_requests(chat_id):
        # A confirmation from before a request was filed: the person chooses what happens to it first.
        await show(callback, bot, *await _forget_question(cases, chat_id))
        return
    # Staff are refused here too (an old confirmation pressed after a role was granted).
    if not await users.forget(callback.from_user.id):
        await show(callback, bot, _staff_kept(profile), keyboards.only_menu())
        return
    done = await cases.forget_citizen(chat_id, withdraw=choice == PrivacyAction.FORGET_WITHDRAW)
    await fsm_storage.forget(callback.from_user.id)
    await throttles.forget(callback.from_user.id)
    if choice != PrivacyAction.FORGET_YES and done.linked == 0:
        # The choice pressed again (or twice at once): the first press did it and showed what it did,
        # codes included; that screen must stay.
        await callback.answer(_("forget.already_done"))
        return
    await _tell_staff(done, outbox, users, i18n)
    await show(callback, bot, _forgotten_text(done, settings.case_retention_days), after_forget())


async def on_clear(callback: CallbackQuery, bot: Bot, profile: UserProfile, users: UserService) -> None:
    chat_id = chat_id_of(callback)
    last_seen = max(users.last_message_id(callback.from_user.id), _message_id(callback))
    deleted_any = False
    for batch in ids_to_clear(last_seen):
        try:
            deleted_any = await bot.delete_messages(chat_id, batch) or deleted_any
        except TelegramAPIError as exc:
            log.warning("clear chat: a batch was refused (%s)", type(exc).__name__)
    # A toast, not a message: a cleared chat should show nothing at all.
    await callback.answer(_("privacy.cleared") if deleted_any else _("privacy.clear_failed"))


def _staff_kept(profile: UserProfile) -> str:
    """Why a member of staff is not erased, and what to do (an admin's role is in the settings)."""
    return _("privacy.forget_admin") if profile.has(ADMIN) else _("privacy.forget_staff")


async def _forget_question(cases: CaseService, chat_id: int) -> tuple[str, InlineKeyboardMarkup]:
    """With open requests, the person chooses what happens to them; otherwise a plain confirmation."""
    open_requests = await cases.open_requests(chat_id)
    if open_requests:
        return _("forget.ask_open").format(codes=_codes(open_requests)), forget_open_requests()
    return _("privacy.forget_confirm"), forget_confirm()


def _codes(cases: list[CaseSummary]) -> str:
    return "\n".join(f"• <code>{render.code(c.code)}</code>" for c in cases)


def _forgotten_text(done: Forgotten, retention_days: int) -> str:
    """Exactly what was erased and what remains."""
    if done.withdrawn:
        parts = [_("forget.done_withdrawn").format(codes=_codes([c for c, _owner in done.withdrawn]))]
        if any(n.recipients for n in done.revoked):
            parts.append(_("forget.done_orgs_asked"))
        parts.append(_("forget.done_statistics"))
        if done.closed:
            parts.append(_("forget.done_closed").format(days=retention_days))
        parts.append(_("forget.done_identity"))
    elif done.kept:
        parts = [_("forget.done_kept").format(codes=_codes(done.kept), days=retention_days)]
        if done.closed:
            parts.append(_("forget.done_closed").format(days=retention_days))
    else:
        parts = [_("privacy.forgotten")]
        if done.closed:
            parts.append(_("forget.done_closed").format(days=retention_days))
    parts.append(_("forget.clear_chat"))
    return "\n\n".join(parts)


async def _tell_staff(done: Forgotten, outbox: Queue, users: UserService, i18n: I18n) -> None:
    """The owners of withdrawn requests, as a withdrawal tells them; the organisations whose referrals
    were revoked, asked to delete what they received."""
    for case, owner in done.withdrawn:
        if owner is not None:
            purpose = f"case.withdrawn:{case.id}"
            await tell(outbox, users, i18n, [owner], purpose, compose_with(notices.case_withdrawn, case))
    for notice in done.revoked:
        purpose = f"referral.revoked:{notice.extra['referral']}"
        revoked = compose_with(notices.referral_revoked, notice.case)
        await tell(outbox, users, i18n, notice.recipients, purpose, revoked)


def _message_id(callback: CallbackQuery) -> int:
    return callback.message.message_id if callback.message is not None else 0


# --- keyboards ---------------------------------------------------------------------------------
@per_locale
def privacy() -> InlineKeyboardMarkup:
    return markup(
        [button(_("privacy.clear"), Privacy(action=PrivacyAction.CLEAR))],
        [button(_("privacy.forget"), Privacy(action=PrivacyAction.FORGET))],
        back_to_menu_row(),
    )


@per_locale
def forget_confirm() -> InlineKeyboardMarkup:
    return markup(
        [button(_("privacy.forget_yes"), Privacy(action=PrivacyAction.FORGET_YES))],
        [button(_("privacy.forget_no"), Menu(to=MenuItem.MAIN))],
    )


@per_locale
def forget_open_requests() -> InlineKeyboardMarkup:
    """/forget with open requests: withdraw them and erase their content, or keep them open."""
    return markup(
        [button(_("forget.button.withdraw"), Privacy(action=PrivacyAction.FORGET_WITHDRAW))],
        [button(_("forget.button.keep"), Privacy(action=PrivacyAction.FORGET_KEEP))],
        [button(_("forget.button.cancel"), Menu(to=MenuItem.MAIN))],
    )


@per_locale
def after_forget() -> InlineKeyboardMarkup:
    return markup([button(_("privacy.clear"), Privacy(action=PrivacyAction.CLEAR))], back_to_menu_row())
