"""The staff in an admin's or coordinator's scope, and removing a role (asked, then done)."""

from __future__ import annotations

from html import escape

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AdminStaff, StaffListAction
from bot.notices.cases import notify_area
from bot.notices.outgoing import Queue
from bot.services.cases import CaseService
from bot.services.directory import Directory
from bot.services.staff import AccessDenied, OrganisationView, Role, StaffRole, StaffService
from bot.services.users import UserProfile, UserService
from bot.settings import Settings
from handlers.staff.admin import keyboards as kb
from handlers.staff.admin.access import MANAGERS, ButtonGate, refuse
from handlers.staff.admin.names import PAGE_SIZE, capital, pages_of, role_name, role_rank, scope_text
from handlers.ui import show

StaffEntry = tuple[int, int, StaffRole]  # users.id, Telegram id, the role


async def show_staff_list(
    callback: CallbackQuery,
    page: int,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    lang: str,
    notice: str = "",
) -> None:
    people = await staff.staff_in_scope(profile.staff)
    people.sort(key=lambda e: (role_rank(e[2].role), e[2].oblast or "", e[2].district or "", e[1]))
    orgs = {o.id: o for o in await staff.organisations()}
    page, pages = pages_of(len(people), page)
    shown = people[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    first = page * PAGE_SIZE + 1
    parts = [notice] if notice else []
    if not people:
        parts.append(_("staffadm.empty"))
    else:
        parts.append(_("staffadm.title").format(count=len(people)))
        parts.extend(_lines(shown, first, orgs, directory, lang))
        if pages > 1:
            parts.append(_("admin.page").format(page=page + 1, pages=pages))
    await show(callback, bot, "\n\n".join(parts), kb.staff_page(shown, first, page, pages))


def _lines(
    shown: list[StaffEntry], first: int, orgs: dict[int, OrganisationView], directory: Directory, lang: str
) -> list[str]:
    lines = []
    for i, (_uid, telegram_id, role) in enumerate(shown):
        org = orgs.get(role.organisation_id) if role.organisation_id is not None else None
        lines.append(
            _("staffadm.line").format(
                n=first + i,
                role=escape(capital(role_name(role.role))),
                scope=scope_text(role, org, directory, lang),
                tid=telegram_id,
            )
        )
    return lines


async def _entry(
    callback: CallbackQuery,
    act: AdminStaff,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    lang: str,
) -> StaffEntry | None:
    """Who the button names, from the server's own list of staff in the actor's scope, never from the
    button (None: not there any more, audited, and the list shown again)."""
    people = await staff.staff_in_scope(profile.staff)
    entry = next((e for e in people if e[0] == act.user and e[2].role == act.role), None)
    if entry is None:
        await staff.audit(
            profile.id, "denied.staff.remove", detail=(callback.data or "")[:200], actor_key=profile.key
        )
        await show_staff_list(callback, act.page, bot, profile, staff, directory, lang, _("staffadm.gone"))
    return entry


async def on_page(
    callback: CallbackQuery,
    callback_data: AdminStaff,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    i18n: I18n,
) -> None:
    await show_staff_list(callback, callback_data.page, bot, profile, staff, directory, i18n.current_locale)


async def on_ask_remove(
    callback: CallbackQuery,
    callback_data: AdminStaff,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    i18n: I18n,
) -> None:
    lang = i18n.current_locale
    entry = await _entry(callback, callback_data, bot, profile, staff, directory, lang)
    if entry is None:
        return
    user_id, telegram_id, role = entry
    org = await staff.organisation(role.organisation_id) if role.organisation_id is not None else None
    text = _("staffadm.confirm").format(
        role=escape(capital(role_name(role.role))),
        scope=scope_text(role, org, directory, lang),
        tid=telegram_id,
    )
    await show(callback, bot, text, kb.confirm_removal(callback_data.page, user_id, role.role))


async def on_remove(
    callback: CallbackQuery,
    callback_data: AdminStaff,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    users: UserService,
    directory: Directory,
    i18n: I18n,
    cases: CaseService,
    outbox: Queue,
    settings: Settings,
) -> None:
    lang = i18n.current_locale
    entry = await _entry(callback, callback_data, bot, profile, staff, directory, lang)
    if entry is None:
        return
    user_id, telegram_id, role = entry
    try:
        await staff.remove_staff(profile.staff_id, profile.staff, user_id, role.role)
    except AccessDenied as exc:
        await refuse(callback, bot, staff, profile, "staff.remove", exc.action)
        return
    users.invalidate(telegram_id)
    if role.role == Role.COORDINATOR:  # their open cases must not wait for someone who is gone
        released = await cases.release_orphans()
        await notify_area(
            outbox, i18n, users, cases, directory, settings.admin_ids, released, "case.released"
        )
    notice = _("staffadm.removed").format(role=escape(role_name(role.role)), tid=telegram_id)
    await show_staff_list(callback, callback_data.page, bot, profile, staff, directory, lang, notice)


def create_router() -> Router:
    router = Router(name="admin.staff")
    router.callback_query.middleware(ButtonGate("staff", MANAGERS))
    act = AdminStaff.filter
    router.callback_query.register(on_page, act(F.action == StaffListAction.LIST))
    router.callback_query.register(on_ask_remove, act(F.action == StaffListAction.ASK_REMOVE))
    router.callback_query.register(on_remove, act(F.action == StaffListAction.REMOVE))
    return router
