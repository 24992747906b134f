"""The admin screens' keyboards."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import (
    AdminInvite,
    AdminLetter,
    AdminMenu,
    AdminOrganisation,
    AdminSection,
    AdminStaff,
    DirectoryImport,
    DirectoryImportAction,
    StaffListAction,
)
from bot.keyboards import WHOLE, back_to_menu_row, button, markup, pairs
from bot.services.directory import Directory, Oblast
from bot.services.directory_exchange import may_import
from bot.services.staff import ORGANISATION_KINDS, OrganisationView, Role, StaffRole
from bot.services.users import UserProfile
from handlers.staff.admin.names import POLICE_KIND, capital, kind_name, role_name, short

ROLE_CODES = {"c": Role.COORDINATOR, "s": Role.SPECIALIST, "p": Role.POLICE}


def back_row() -> list[InlineKeyboardButton]:
    return [button(_("admin.button.back"), AdminMenu(action=AdminSection.MENU))]


def admin_menu(profile: UserProfile) -> InlineKeyboardMarkup:
    rows = []
    if profile.has(Role.ADMIN):
        rows.append([button(_("admin.button.add_org"), AdminMenu(action=AdminSection.ORGANISATION))])
    rows.append([button(_("admin.button.invite"), AdminMenu(action=AdminSection.INVITE))])
    rows.append([button(_("admin.button.staff"), AdminMenu(action=AdminSection.STAFF))])
    if profile.has(Role.ADMIN):
        rows.append([button(_("letter.admin_button"), AdminLetter())])
    if may_import(profile.staff):
        rows.append([button(_("import.admin_button"), DirectoryImport(action=DirectoryImportAction.START))])
    return markup(*rows, back_to_menu_row())


def back_only() -> InlineKeyboardMarkup:
    return markup(back_row())


def nav_row(prev: CallbackData | None, nxt: CallbackData | None) -> list[InlineKeyboardButton]:
    row = []
    if prev is not None:
        row.append(button(_("button.prev"), prev))
    if nxt is not None:
        row.append(button(_("button.next"), nxt))
    return row


def oblasts(
    directory: Directory, lang: str, make: Callable[[str], CallbackData], back: CallbackData
) -> InlineKeyboardMarkup:
    rows = [[button(o.name.get(lang), make(o.id))] for o in directory.oblasts]
    return markup(*rows, [button(_("button.back"), back)], back_row())


def districts(
    oblast: Oblast, lang: str, make: Callable[[str], CallbackData], back: CallbackData
) -> InlineKeyboardMarkup:
    rows = [[button(d.name.get(lang), make(d.id))] for d in oblast.districts]
    rows.append([button(_("where.whole_oblast"), make(WHOLE))])
    rows.append([button(_("button.back"), back)])
    return markup(*rows, back_row())


# --- organisations ----------------------------------------------------------------------------
def kinds() -> InlineKeyboardMarkup:
    items = [button(kind_name(k), AdminOrganisation(kind=i)) for i, k in enumerate(ORGANISATION_KINDS)]
    return markup(*pairs(items, 2), back_row())


def organisation_added(org: OrganisationView) -> InlineKeyboardMarkup:
    police = org.kind == POLICE_KIND
    invite_label = _("org.button.invite_police") if police else _("org.button.invite_specialist")
    return markup(
        [button(invite_label, AdminInvite(role="p" if police else "s", org=org.id))],
        [button(_("org.button.another"), AdminMenu(action=AdminSection.ORGANISATION))],
        back_row(),
    )


# --- invites ----------------------------------------------------------------------------------
def invite_roles() -> InlineKeyboardMarkup:
    rows = [[button(capital(role_name(role)), AdminInvite(role=code))] for code, role in ROLE_CODES.items()]
    return markup(*rows, back_row())


def invite_keep(step: AdminInvite) -> InlineKeyboardMarkup:
    return markup(
        [button(_("invite.button.replace"), step.model_copy(update={"keep": "r"}))],
        [button(_("invite.button.keep"), step.model_copy(update={"keep": "a"}))],
        back_row(),
    )


def invite_created() -> InlineKeyboardMarkup:
    return markup([button(_("invite.button.another"), AdminMenu(action=AdminSection.INVITE))], back_row())


def invite_back_rows(back: AdminInvite | None) -> list[list[InlineKeyboardButton]]:
    return [[button(_("button.back"), back)] if back is not None else [], back_row()]


def no_organisations(admin: bool, back: AdminInvite | None) -> InlineKeyboardMarkup:
    add = [button(_("admin.button.add_org"), AdminMenu(action=AdminSection.ORGANISATION))] if admin else []
    return markup(add, *invite_back_rows(back))


def organisation_page(
    step: AdminInvite,
    shown: list[OrganisationView],
    first: int,
    page: int,
    pages: int,
    back: AdminInvite | None,
) -> InlineKeyboardMarkup:
    rows = [
        [button(f"{first + i}. {short(o.name)}", AdminInvite(role=step.role, oblast=step.oblast, org=o.id))]
        for i, o in enumerate(shown)
    ]
    nav = nav_row(
        AdminInvite(role=step.role, oblast=step.oblast, page=page - 1) if page > 0 else None,
        AdminInvite(role=step.role, oblast=step.oblast, page=page + 1) if page + 1 < pages else None,
    )
    return markup(*rows, nav, *invite_back_rows(back))


# --- staff ------------------------------------------------------------------------------------
def staff_page(
    shown: list[tuple[int, int, StaffRole]], first: int, page: int, pages: int
) -> InlineKeyboardMarkup:
    ask = StaffListAction.ASK_REMOVE
    rows = [
        [
            button(
                _("staffadm.button.remove").format(n=first + i, role=role_name(role.role), tid=telegram_id),
                AdminStaff(action=ask, page=page, user=user_id, role=role.role),
            )
        ]
        for i, (user_id, telegram_id, role) in enumerate(shown)
    ]
    nav = nav_row(
        AdminStaff(page=page - 1) if page > 0 else None,
        AdminStaff(page=page + 1) if page + 1 < pages else None,
    )
    return markup(*rows, nav, back_row())


def confirm_removal(page: int, user_id: int, role: str) -> InlineKeyboardMarkup:
    yes = AdminStaff(action=StaffListAction.REMOVE, page=page, user=user_id, role=role)
    return markup(
        [button(_("staffadm.button.yes"), yes)],
        [button(_("staffadm.button.no"), AdminStaff(page=page))],
    )


# --- the letter to the police -----------------------------------------------------------------
def letter_oblasts(directory: Directory, lang: str) -> InlineKeyboardMarkup:
    rows = [[button(o.name.get(lang), AdminLetter(oblast=o.id))] for o in directory.oblasts]
    return markup(*rows, back_row())


def letter_waiting(oblast: str) -> InlineKeyboardMarkup:
    """While the replacement is awaited: the template in use as a file, to edit; back to the menu."""
    return markup([button(_("letter.button_current"), AdminLetter(oblast=oblast, current=True))], back_row())
