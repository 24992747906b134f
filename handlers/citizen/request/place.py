"""Where it happened: the oblast (or a place outside the oblasts), the district, the community.
Every value is looked up in the directory again: a forged one is a stale button."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n

from bot.callbacks import RequestStep
from bot.services.directory import Directory
from bot.services.places import is_outside
from handlers.citizen.request.screens import answered
from handlers.citizen.request.steps import place_first
from handlers.ui import stale_button


# "obl" comes from the oblast step, and from the district step when the directory has one oblast.
async def on_oblast(
    callback: CallbackQuery,
    callback_data: RequestStep,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
) -> None:
    chosen = callback_data.value
    if directory.oblast(chosen) is None and not is_outside(chosen):
        await stale_button(callback, bot)
        return
    data = await state.get_data()
    # The district and community depend on the oblast: kept for the same one, cleared for another.
    kept = data.get("oblast") == chosen
    await answered(
        callback,
        bot,
        state,
        "oblast",
        directory,
        i18n.current_locale,
        oblast=chosen,
        district=data.get("district") if kept else None,
        community=data.get("community") if kept else None,
    )


async def on_district(
    callback: CallbackQuery,
    callback_data: RequestStep,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    oblast_id = data.get("oblast")
    if place_first(directory) == "district":
        oblast_id = directory.oblasts[0].id  # an earlier "abroad" here is replaced by the district
    oblast = directory.oblast(oblast_id or "")
    chosen = callback_data.value
    district = directory.district(chosen)
    if oblast is None or not (chosen == "*" or (district and directory.oblast_of(chosen) is oblast)):
        await stale_button(callback, bot)
        return
    community = data.get("community") if data.get("district") == chosen else None
    await answered(
        callback,
        bot,
        state,
        "district",
        directory,
        i18n.current_locale,
        oblast=oblast.id,
        district=chosen,
        community=community,
    )


async def on_community(
    callback: CallbackQuery,
    callback_data: RequestStep,
    bot: Bot,
    state: FSMContext,
    directory: Directory,
    i18n: I18n,
) -> None:
    district = directory.district((await state.get_data()).get("district") or "")
    chosen = callback_data.value
    community = None
    if (
        district is not None
        and chosen.isascii()
        and chosen.isdigit()
        and int(chosen) < len(district.communities)
    ):
        community = district.communities[int(chosen)].id
    elif district is None or chosen != "*":
        await stale_button(callback, bot)
        return
    await answered(
        callback, bot, state, "community", directory, i18n.current_locale, community=community or "*"
    )
