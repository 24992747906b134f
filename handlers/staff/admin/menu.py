"""/admin and its menu: the person's roles, and the way to organisations, invites and the staff list."""

from __future__ import annotations

from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AdminInvite, AdminMenu, AdminSection
from bot.services.directory import Directory
from bot.services.staff import OrganisationView, StaffService
from bot.services.users import UserProfile
from handlers.staff.access import gate
from handlers.staff.admin.access import MANAGERS, ButtonGate, end_dialog, is_admin, refuse
from handlers.staff.admin.invites import invite_step
from handlers.staff.admin.keyboards import admin_menu
from handlers.staff.admin.names import role_name, role_rank, scope_text
from handlers.staff.admin.organisations import ask_name
from handlers.staff.admin.staff_list import show_staff_list
from handlers.ui import show


def roles_text(
    profile: UserProfile, orgs: dict[int, OrganisationView], directory: Directory, lang: str
) -> str:
    lines = []
    for role in sorted(profile.staff, key=lambda r: role_rank(r.role)):
        org = orgs.get(role.organisation_id) if role.organisation_id is not None else None
        scope = scope_text(role, org, directory, lang) if (org or role.oblast) else ""
        lines.append(f"• {escape(role_name(role.role))}" + (f" — {scope}" if scope else ""))
    return "\n".join(lines)


async def menu_text(profile: UserProfile, staff: StaffService, directory: Directory, lang: str) -> str:
    org_ids = {r.organisation_id for r in profile.staff if r.organisation_id is not None}
    orgs = {o.id: o for o in await staff.organisations() if o.id in org_ids} if org_ids else {}
    return _("admin.menu").format(roles=roles_text(profile, orgs, directory, lang))


async def on_admin(
    message: Message, profile: UserProfile, staff: StaffService, directory: Directory, i18n: I18n
) -> None:
    text = await menu_text(profile, staff, directory, i18n.current_locale)
    await message.answer(text, reply_markup=admin_menu(profile))


async def on_menu(
    callback: CallbackQuery,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    i18n: I18n,
) -> None:
    await state.clear()
    text = await menu_text(profile, staff, directory, i18n.current_locale)
    await show(callback, bot, text, admin_menu(profile))


async def on_add_organisation(
    callback: CallbackQuery, bot: Bot, state: FSMContext, profile: UserProfile, staff: StaffService
) -> None:
    if not is_admin(profile):
        await refuse(callback, bot, staff, profile, "org.add")
        return
    await ask_name(callback, bot, state)


async def on_invite(
    callback: CallbackQuery,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    i18n: I18n,
) -> None:
    await state.clear()
    await invite_step(callback, AdminInvite(), bot, profile, staff, directory, i18n.current_locale)


async def on_staff(
    callback: CallbackQuery,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    i18n: I18n,
) -> None:
    await state.clear()
    await show_staff_list(callback, 0, bot, profile, staff, directory, i18n.current_locale)


def create_router() -> Router:
    command = Router(name="admin.command")
    command.message.middleware(end_dialog)  # before the gate: /admin ends any dialog, allowed or not
    gate(command, "admin", MANAGERS, "admin.denied")
    command.message.register(on_admin, Command("admin"))

    buttons = Router(name="admin.menu")
    buttons.callback_query.middleware(ButtonGate("admin.menu", MANAGERS))
    section = AdminMenu.filter
    buttons.callback_query.register(on_menu, section(F.action == AdminSection.MENU))
    buttons.callback_query.register(on_add_organisation, section(F.action == AdminSection.ORGANISATION))
    buttons.callback_query.register(on_invite, section(F.action == AdminSection.INVITE))
    buttons.callback_query.register(on_staff, section(F.action == AdminSection.STAFF))

    router = Router(name="admin.home")
    router.include_routers(command, buttons)
    return router
