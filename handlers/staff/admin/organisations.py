"""Adding an organisation (admins only): its name typed, then its kind, oblast and district with buttons."""

from __future__ import annotations

from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AdminOrganisation
from bot.keyboards import WHOLE
from bot.services.directory import Directory, Oblast
from bot.services.staff import ORGANISATION_KINDS, StaffService
from bot.services.users import UserProfile
from handlers.staff.access import gate
from handlers.staff.admin import keyboards as kb
from handlers.staff.admin.access import ADMINS, ButtonGate
from handlers.staff.admin.names import kind_name, place_name
from handlers.staff.admin.states import AddOrganisation
from handlers.ui import show, stale_button

NAME_MIN, NAME_MAX = 3, 300


def not_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


async def ask_name(callback: CallbackQuery, bot: Bot, state: FSMContext) -> None:
    await state.set_state(AddOrganisation.name)
    await show(callback, bot, _("org.ask_name").format(min=NAME_MIN, max=NAME_MAX), kb.back_only())


# --- the name, typed --------------------------------------------------------------------------
async def on_name(message: Message, state: FSMContext) -> None:
    name = " ".join((message.text or "").split())
    if not NAME_MIN <= len(name) <= NAME_MAX:
        await message.answer(_("org.name_length").format(min=NAME_MIN, max=NAME_MAX, length=len(name)))
        return
    await state.update_data(org_name=name)
    await state.set_state(AddOrganisation.place)
    await message.answer(_("org.choose_kind").format(name=escape(name)), reply_markup=kb.kinds())


async def on_name_not_text(message: Message) -> None:
    await message.answer(_("org.name_not_text").format(min=NAME_MIN, max=NAME_MAX))


async def on_place_typed(message: Message) -> None:
    await message.answer(_("admin.use_buttons"))


# --- kind -> oblast -> district, with buttons -------------------------------------------------
async def on_step(
    callback: CallbackQuery,
    callback_data: AdminOrganisation,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    i18n: I18n,
) -> None:
    name = (await state.get_data()).get("org_name")
    if await state.get_state() != AddOrganisation.place.state or not isinstance(name, str):
        await stale_button(callback, bot)  # the dialog was finished or cancelled
        return
    step, lang = callback_data, i18n.current_locale
    if step.kind == -1:
        await show(callback, bot, _("org.choose_kind").format(name=escape(name)), kb.kinds())
        return
    if not 0 <= step.kind < len(ORGANISATION_KINDS):
        await stale_button(callback, bot)
        return
    fields = {"name": escape(name), "kind": escape(kind_name(ORGANISATION_KINDS[step.kind]))}
    place = await _place(callback, bot, step, directory, lang, fields)
    if place is not None:
        await _add(callback, bot, state, profile, staff, directory, lang, name, step.kind, *place)


async def _place(
    callback: CallbackQuery,
    bot: Bot,
    step: AdminOrganisation,
    directory: Directory,
    lang: str,
    fields: dict[str, str],
) -> tuple[str, str | None] | None:
    """The oblast and district chosen (None: the next question, or a stale button, was shown)."""
    if not step.oblast:
        if len(directory.oblasts) > 1:
            kind = step.kind
            markup = kb.oblasts(
                directory, lang, lambda o: AdminOrganisation(kind=kind, oblast=o), AdminOrganisation()
            )
            await show(callback, bot, _("org.choose_oblast").format(**fields), markup)
            return None
        step = AdminOrganisation(kind=step.kind, oblast=directory.oblasts[0].id)
    oblast = directory.oblast(step.oblast)
    if oblast is None:
        await stale_button(callback, bot)
        return None
    if not step.district:
        await _ask_district(callback, bot, step, oblast, directory, lang, fields)
        return None
    district = None if step.district == WHOLE else step.district
    if district is not None and directory.oblast_of(district) is not oblast:
        await stale_button(callback, bot)
        return None
    return oblast.id, district


async def _ask_district(
    callback: CallbackQuery,
    bot: Bot,
    step: AdminOrganisation,
    oblast: Oblast,
    directory: Directory,
    lang: str,
    fields: dict[str, str],
) -> None:
    back = AdminOrganisation(kind=step.kind) if len(directory.oblasts) > 1 else AdminOrganisation()
    markup = kb.districts(
        oblast, lang, lambda d: AdminOrganisation(kind=step.kind, oblast=oblast.id, district=d), back
    )
    await show(callback, bot, _("org.choose_district").format(**fields), markup)


async def _add(
    callback: CallbackQuery,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    lang: str,
    name: str,
    kind_index: int,
    oblast: str,
    district: str | None,
) -> None:
    kind = ORGANISATION_KINDS[kind_index]
    org = await staff.add_organisation(profile.staff_id, name, kind, oblast, district)
    await state.clear()
    text = _("org.added").format(
        name=escape(org.name),
        kind=escape(kind_name(kind)),
        place=place_name(directory, org.oblast, org.district, lang),
    )
    await show(callback, bot, text, kb.organisation_added(org))


def create_router() -> Router:
    dialog = Router(name="admin.organisation_dialog")
    gate(dialog, "org.add", ADMINS, "admin.denied")
    name_state, place_state = StateFilter(AddOrganisation.name), StateFilter(AddOrganisation.place)
    dialog.message.register(on_name, name_state, F.text, not_command)
    dialog.message.register(on_name_not_text, name_state, ~F.text)
    dialog.message.register(on_place_typed, place_state, not_command)

    steps = Router(name="admin.organisation_steps")
    steps.callback_query.middleware(ButtonGate("org.add", ADMINS))
    steps.callback_query.register(on_step, AdminOrganisation.filter())

    router = Router(name="admin.organisations")
    router.include_routers(dialog, steps)
    return router
