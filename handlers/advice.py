"""Citizen: safety advice cards (jobs abroad, documents, online recruitment, IDPs)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import Advice, Menu
from bot.keyboards import ADVICE_TOPICS
from handlers.ui import show, stale_button


def create_router() -> Router:
    router = Router(name="citizen-advice")

    @router.callback_query(Menu.filter(F.to == "advice"))
    async def on_advice(callback: CallbackQuery, bot: Bot) -> None:
        await show(callback, bot, _("advice.choose"), keyboards.advice_topics())

    @router.callback_query(Advice.filter())
    async def on_topic(callback: CallbackQuery, callback_data: Advice, bot: Bot) -> None:
        topic = callback_data.topic
        if topic not in ADVICE_TOPICS:
            await stale_button(callback, bot)
            return
        text = _(f"advice.{topic}.title") + "\n\n" + _(f"advice.{topic}.body")
        await show(callback, bot, text, keyboards.after_advice())

    return router
