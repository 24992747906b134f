"""Citizen: "where to get help" — oblast (when several) -> district -> community -> need -> entries.

A person in another oblast, abroad or who would rather not say gets the national lines (abroad, what
helps there first), each with its source.

Every id comes from callback data a client could forge or keep for weeks: each is looked up again, and
one that does not exist (any more) is answered as a stale button.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.callbacks import Menu, MenuItem, Where
from bot.keyboards import NEED_BY_CODE, NEED_CODES, WHOLE, back_to_menu_row, button, markup, pairs, per_locale
from bot.services.directory import Directory, Oblast
from bot.services.places import ABROAD, OUTSIDE, is_outside
from handlers.ui import show, stale_button


def create_router() -> Router:
    router = Router(name="citizen-where")
    router.callback_query.register(on_where, Menu.filter(F.to == MenuItem.WHERE))
    router.callback_query.register(on_step, Where.filter())
    return router


async def on_where(callback: CallbackQuery, bot: Bot, directory: Directory, i18n: I18n) -> None:
    await _step(callback, Where(), bot, directory, i18n.current_locale)


async def on_step(
    callback: CallbackQuery, callback_data: Where, bot: Bot, directory: Directory, i18n: I18n
) -> None:
    await _step(callback, callback_data, bot, directory, i18n.current_locale)


async def _step(callback: CallbackQuery, step: Where, bot: Bot, directory: Directory, lang: str) -> None:
    """Show the next choice still open in `step`, or the entries once everything is chosen."""
    if is_outside(step.oblast):  # another oblast, abroad, rather not say: the lines that work from anywhere
        abroad = directory.abroad_lines() if step.oblast == ABROAD else []
        text = render.outside_help_text(step.oblast, abroad, directory.hotlines(), lang)
        await show(callback, bot, text, after_outside_help())
        return
    if not step.oblast:
        if len(directory.oblasts) != 1:
            await show(callback, bot, _("where.choose_oblast"), oblasts(directory.oblasts, lang))
            return
        step = Where(oblast=directory.oblasts[0].id)
    oblast = directory.oblast(step.oblast)
    if oblast is None:
        await stale_button(callback, bot)
        return
    if not step.district:
        await show(callback, bot, _("where.choose_district"), districts(directory, oblast, lang))
        return
    chosen = await _place(callback, step, oblast, bot, directory, lang)
    if chosen is not None:
        await _need_or_entries(callback, step, oblast, chosen, bot, directory, lang)


async def _place(
    callback: CallbackQuery, step: Where, oblast: Oblast, bot: Bot, directory: Directory, lang: str
) -> tuple[str, str | None] | None:
    """The place chosen in `step`: its name and the community's id (None: the whole district or oblast);
    None when the community is still to be chosen, or the step is stale (answered here)."""
    if step.district == WHOLE:
        return oblast.name.get(lang), None
    district = directory.district(step.district)
    if district is None or directory.oblast_of(step.district) is not oblast:
        await stale_button(callback, bot)
        return None
    place = district.name.get(lang)
    if district.communities and not step.community:
        await show(callback, bot, _("where.choose_community"), communities(directory, step, lang))
        return None
    if not step.community or step.community == WHOLE:
        return place, None
    index = step.community
    if not (index.isascii() and index.isdigit()) or int(index) >= len(district.communities):
        await stale_button(callback, bot)
        return None
    community = district.communities[int(index)]
    return f"{community.name.get(lang)}, {place}", community.id


async def _need_or_entries(
    callback: CallbackQuery,
    step: Where,
    oblast: Oblast,
    chosen: tuple[str, str | None],
    bot: Bot,
    directory: Directory,
    lang: str,
) -> None:
    place, community_id = chosen
    if not step.need:
        await show(callback, bot, _("where.choose_need").format(place=place), needs(step))
        return
    need = NEED_BY_CODE.get(step.need)
    if need is None:
        await stale_button(callback, bot)
        return
    entries = directory.find(
        oblast_id=oblast.id,
        need=need,
        district_id=None if step.district == WHOLE else step.district,
        community_id=community_id,
    )
    text, page, pages = render.results_page(entries, step.page, lang, place, _(f"need.{need.value}"))
    await show(callback, bot, text, results(step, page, pages))


# --- keyboards ---------------------------------------------------------------------------------
def _outside_rows() -> list[list[InlineKeyboardButton]]:
    """Another oblast, abroad, rather not say: answered with the national lines."""
    return [[button(_(f"place.button.{code}"), Where(oblast=code))] for code in OUTSIDE]


def oblasts(oblast_list: tuple[Oblast, ...], language: str) -> InlineKeyboardMarkup:
    rows = [[button(o.name.get(language), Where(oblast=o.id))] for o in oblast_list]
    return markup(*rows, *_outside_rows(), back_to_menu_row())


def districts(directory: Directory, oblast: Oblast, language: str) -> InlineKeyboardMarkup:
    rows = [[button(d.name.get(language), Where(oblast=oblast.id, district=d.id))] for d in oblast.districts]
    rows.append([button(_("where.whole_oblast"), Where(oblast=oblast.id, district=WHOLE))])
    if len(directory.oblasts) > 1:
        rows.append([button(_("button.back"), Where())])
    else:  # the oblast step is skipped: its other choices are here
        rows.extend(_outside_rows())
    rows.append(back_to_menu_row())
    return markup(*rows)


@per_locale
def after_outside_help() -> InlineKeyboardMarkup:
    return markup(
        [button(_("button.back"), Where())],
        [button(_("menu.request"), Menu(to=MenuItem.REQUEST))],
        back_to_menu_row(),
    )


def communities(directory: Directory, step: Where, language: str) -> InlineKeyboardMarkup:
    district = directory.district(step.district)
    assert district is not None
    rows = [
        [button(c.name.get(language), Where(oblast=step.oblast, district=step.district, community=str(i)))]
        for i, c in enumerate(district.communities)
    ]
    whole = Where(oblast=step.oblast, district=step.district, community=WHOLE)
    rows.append([button(_("where.whole_district"), whole)])
    rows.append([button(_("button.back"), Where(oblast=step.oblast))])
    rows.append(back_to_menu_row())
    return markup(*rows)


def needs(step: Where) -> InlineKeyboardMarkup:
    place = {"oblast": step.oblast, "district": step.district, "community": step.community}
    items = [button(_(f"need.{need.value}"), Where(**place, need=code)) for need, code in NEED_CODES.items()]
    # Back: to the communities, or (none chosen) to the districts.
    back = Where(oblast=step.oblast, district="" if step.community in ("", WHOLE) else step.district)
    return markup(*pairs(items), [button(_("button.back"), back)], back_to_menu_row())


def results(step: Where, page: int, pages: int) -> InlineKeyboardMarkup:
    chosen = {"oblast": step.oblast, "district": step.district, "community": step.community}
    nav = []
    if page > 0:
        nav.append(button(_("button.prev"), Where(**chosen, need=step.need, page=page - 1)))
    if page + 1 < pages:
        nav.append(button(_("button.next"), Where(**chosen, need=step.need, page=page + 1)))
    return markup(
        nav,
        [button(_("where.other_need"), Where(**chosen))],
        [button(_("menu.danger"), Menu(to=MenuItem.DANGER))],
        back_to_menu_row(),
    )
