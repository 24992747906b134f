"""Citizen: safety advice cards (jobs abroad, documents, online recruitment, IDPs)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import Advice, Menu, MenuItem
from bot.keyboards import ADVICE_TOPICS, back_to_menu_row, button, markup, per_locale
from handlers.ui import show, stale_button


def create_router() -> Router:
    router = Router(name="citizen-advice")
    router.callback_query.register(on_advice, Menu.filter(F.to == MenuItem.ADVICE))
    router.callback_query.register(on_topic, Advice.filter())
    return router


async def on_advice(callback: CallbackQuery, bot: Bot) -> None:
    await show(callback, bot, _("advice.choose"), advice_topics())


async def on_topic(callback: CallbackQuery, callback_data: Advice, bot: Bot) -> None:
    topic = callback_data.topic
    if topic not in ADVICE_TOPICS:
        await stale_button(callback, bot)
        return
    text = _(f"advice.{topic}.title") + "\n\n" + _(f"advice.{topic}.body")
    await show(callback, bot, text, after_advice())


@per_locale
def advice_topics() -> InlineKeyboardMarkup:
    return markup(
        *[[button(_(f"advice.button.{t}"), Advice(topic=t))] for t in ADVICE_TOPICS],
        [button(_("menu.check"), Menu(to=MenuItem.CHECK))],
        back_to_menu_row(),
    )


@per_locale
def after_advice() -> InlineKeyboardMarkup:
    return markup([button(_("advice.other"), Menu(to=MenuItem.ADVICE))], back_to_menu_row())
