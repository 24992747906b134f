"""Citizen: "where to get help" — oblast (when several) -> district -> community -> need -> entries.

A person in another oblast, abroad or who would rather not say gets the national lines (abroad, what
helps there first), each with its source."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards, render
from bot.callbacks import Menu, Where
from bot.keyboards import NEED_BY_CODE, WHOLE
from bot.services.directory import Directory
from bot.services.places import ABROAD, is_outside
from handlers.ui import show, stale_button


def create_router() -> Router:
    router = Router(name="citizen-where")

    @router.callback_query(Menu.filter(F.to == "where"))
    async def on_where(callback: CallbackQuery, bot: Bot, directory: Directory, i18n: I18n) -> None:
        await _step(callback, Where(), bot, directory, i18n.current_locale)

    @router.callback_query(Where.filter())
    async def on_step(
        callback: CallbackQuery, callback_data: Where, bot: Bot, directory: Directory, i18n: I18n
    ) -> None:
        await _step(callback, callback_data, bot, directory, i18n.current_locale)

    return router


async def _step(callback: CallbackQuery, step: Where, bot: Bot, directory: Directory, lang: str) -> None:
    """Show the next choice still open in `step`, or the entries once everything is chosen.

    Every id comes from callback data a client could forge or keep for weeks: each is looked up
    again, and one that does not exist (any more) is answered as a stale button.
    """
    if is_outside(step.o):  # another oblast, abroad, rather not say: the lines that work from anywhere
        text = render.outside_help_text(
            step.o, directory.abroad_lines() if step.o == ABROAD else [], directory.hotlines(), lang
        )
        await show(callback, bot, text, keyboards.after_outside_help())
        return
    if not step.o:
        if len(directory.oblasts) == 1:
            step = Where(o=directory.oblasts[0].id)
        else:
            await show(callback, bot, _("where.choose_oblast"), keyboards.oblasts(directory.oblasts, lang))
            return
    oblast = directory.oblast(step.o)
    if oblast is None:
        await stale_button(callback, bot)
        return
    if not step.d:
        await show(callback, bot, _("where.choose_district"), keyboards.districts(directory, oblast, lang))
        return
    place = oblast.name.get(lang)
    community_id = None
    if step.d != WHOLE:
        district = directory.district(step.d)
        if district is None or directory.oblast_of(step.d) is not oblast:
            await stale_button(callback, bot)
            return
        place = district.name.get(lang)
        if district.communities and not step.c:
            markup = keyboards.communities(directory, step, lang)
            await show(callback, bot, _("where.choose_community"), markup)
            return
        if step.c and step.c != WHOLE:
            if not (step.c.isascii() and step.c.isdigit()) or int(step.c) >= len(district.communities):
                await stale_button(callback, bot)
                return
            community = district.communities[int(step.c)]
            community_id = community.id
            place = f"{community.name.get(lang)}, {place}"
    if not step.n:
        await show(callback, bot, _("where.choose_need").format(place=place), keyboards.needs(step))
        return
    need = NEED_BY_CODE.get(step.n)
    if need is None:
        await stale_button(callback, bot)
        return
    entries = directory.find(
        oblast_id=oblast.id,
        need=need,
        district_id=None if step.d == WHOLE else step.d,
        community_id=community_id,
    )
    text, page, pages = render.results_page(entries, step.p, lang, place, _(f"need.{need.value}"))
    await show(callback, bot, text, keyboards.results(step, page, pages))
