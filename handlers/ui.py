"""Showing a screen: edit the message the button was on, or send a new one when that fails."""

from __future__ import annotations

import logging

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import CallbackQuery, Document, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.services.cases import CaseError, TooLong

log = logging.getLogger("dovira.files")


def chat_id_of(callback: CallbackQuery) -> int:
    return callback.message.chat.id if callback.message is not None else callback.from_user.id


async def show(
    callback: CallbackQuery,
    bot: Bot,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    alert: str | None = None,
) -> None:
    """Replace the screen the button was on; if it can no longer be edited, send a new message.
    `alert`: said in a pop-up first (a button press is answered once)."""
    await callback.answer(alert, show_alert=alert is not None)
    message = callback.message
    if isinstance(message, Message) and message.text is not None:
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return
    await bot.send_message(chat_id_of(callback), text, reply_markup=markup)


async def stale_button(callback: CallbackQuery, bot: Bot) -> None:
    """A button from an old screen, or data no keyboard of ours produced: say so, offer the menu."""
    await callback.answer(_("stale.toast"))
    await bot.send_message(chat_id_of(callback), _("stale.text"), reply_markup=keyboards.main_menu())


def refusal_text(exc: CaseError) -> str:
    """A refused case action in the person's words (a message too long says its length and the limit)."""
    if isinstance(exc, TooLong):
        return _(str(exc)).format(limit=exc.limit, length=exc.length)
    return _(str(exc))


async def received_file(bot: Bot, document: Document) -> bytes | None:
    """The bytes of a file a person sent, or None when Telegram, or the network to it, could not give
    them: one line names the cause for the operator, and the handler asks the person to send it again."""
    try:
        downloaded = await bot.download(document)
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        log.warning("a file sent to the bot could not be fetched from Telegram: %s", type(exc).__name__)
        return None
    return downloaded.read() if downloaded is not None else None
