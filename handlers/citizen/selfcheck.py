"""Citizen: the job-offer risk self-check; a few yes/no questions -> risk level and advice."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.callbacks import Menu, MenuItem, SelfCheck
from bot.keyboards import back_to_menu_row, button, markup, per_locale
from bot.services import selfcheck
from handlers.ui import show, stale_button


def create_router() -> Router:
    router = Router(name="citizen-selfcheck")
    router.callback_query.register(on_check, Menu.filter(F.to == MenuItem.CHECK))
    router.callback_query.register(on_answer, SelfCheck.filter())
    return router


async def on_check(callback: CallbackQuery, bot: Bot) -> None:
    text = _("selfcheck.intro") + "\n\n" + _question(0)
    await show(callback, bot, text, check_question(0, 0))


async def on_answer(callback: CallbackQuery, callback_data: SelfCheck, bot: Bot) -> None:
    index, answers = callback_data.question, callback_data.answers
    if not selfcheck.valid_progress(index, answers):
        await stale_button(callback, bot)
        return
    answers |= int(callback_data.yes) << index
    if index + 1 < len(selfcheck.QUESTIONS):
        await show(callback, bot, _question(index + 1), check_question(index + 1, answers))
        return
    verdict = selfcheck.assess(selfcheck.answers_from_mask(answers))
    await show(callback, bot, render.check_result_text(verdict), check_result())


def _question(index: int) -> str:
    return (
        _("selfcheck.counter").format(n=index + 1, total=len(selfcheck.QUESTIONS))
        + "\n\n"
        + _(f"selfcheck.q.{selfcheck.QUESTIONS[index]}")
    )


def check_question(index: int, answers: int) -> InlineKeyboardMarkup:
    """`answers`: bit i is "yes" to question i, for the questions before `index`."""
    return markup(
        [
            button(_("button.yes"), SelfCheck(question=index, answers=answers, yes=True)),
            button(_("button.no"), SelfCheck(question=index, answers=answers, yes=False)),
        ],
        [button(_("check.stop"), Menu(to=MenuItem.MAIN))],
    )


@per_locale
def check_result() -> InlineKeyboardMarkup:
    return markup(
        [button(_("menu.hotlines"), Menu(to=MenuItem.HOTLINES))],
        [button(_("menu.where"), Menu(to=MenuItem.WHERE))],
        [button(_("menu.advice"), Menu(to=MenuItem.ADVICE))],
        back_to_menu_row(),
    )
