"""Citizen: the job-offer risk self-check; a few yes/no questions -> risk level and advice."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot import keyboards, render
from bot.callbacks import Menu, SelfCheck
from bot.services import selfcheck
from handlers.ui import show, stale_button


def _question(index: int) -> str:
    return (
        _("selfcheck.counter").format(n=index + 1, total=len(selfcheck.QUESTIONS))
        + "\n\n"
        + _(f"selfcheck.q.{selfcheck.QUESTIONS[index]}")
    )


def create_router() -> Router:
    router = Router(name="citizen-selfcheck")

    @router.callback_query(Menu.filter(F.to == "check"))
    async def on_check(callback: CallbackQuery, bot: Bot) -> None:
        text = _("selfcheck.intro") + "\n\n" + _question(0)
        await show(callback, bot, text, keyboards.check_question(0, 0))

    @router.callback_query(SelfCheck.filter())
    async def on_answer(callback: CallbackQuery, callback_data: SelfCheck, bot: Bot) -> None:
        index, mask = callback_data.q, callback_data.m
        if not selfcheck.valid_progress(index, mask):
            await stale_button(callback, bot)
            return
        mask |= int(callback_data.yes) << index
        if index + 1 < len(selfcheck.QUESTIONS):
            await show(callback, bot, _question(index + 1), keyboards.check_question(index + 1, mask))
            return
        verdict = selfcheck.assess(selfcheck.answers_from_mask(mask))
        await show(callback, bot, render.check_result_text(verdict), keyboards.check_result())

    return router
