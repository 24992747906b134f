"""Invites: an admin invites coordinators, specialists and police liaisons, a coordinator the specialists of
their area; the person invited redeems the link (`/start inv_<token>`) and becomes staff."""

from __future__ import annotations

import re
from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import AdminInvite
from bot.keyboards import WHOLE
from bot.notices.cases import notify_area
from bot.notices.outgoing import Queue
from bot.services.cases import CaseService
from bot.services.directory import Directory, Oblast
from bot.services.staff import (
    INVITE_PREFIX,
    AccessDenied,
    InviteError,
    OrganisationView,
    Redemption,
    Role,
    StaffRole,
    StaffService,
)
from bot.services.users import UserProfile, UserService
from bot.settings import Settings
from handlers.staff.admin import keyboards as kb
from handlers.staff.admin.access import MANAGERS, ButtonGate, is_admin, refuse
from handlers.staff.admin.keyboards import ROLE_CODES
from handlers.staff.admin.names import (
    INVITE_HOURS,
    PAGE_SIZE,
    POLICE_KIND,
    org_scope,
    pages_of,
    role_name,
    scope_text,
)
from handlers.ui import show, stale_button

TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what a Telegram deep-link parameter may hold


# --- redeeming: by someone who is not staff yet -----------------------------------------------
def _invite_error_text(key: str) -> str:
    texts = {
        "invite.used": _("invite.used"),
        "invite.expired": _("invite.expired"),
    }
    return texts.get(key, _("invite.unknown")).format(hours=INVITE_HOURS)


async def on_invite_link(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    raw_state: str | None,
    profile: UserProfile,
    staff: StaffService,
    users: UserService,
    directory: Directory,
    i18n: I18n,
    cases: CaseService,
    outbox: Queue,
    settings: Settings,
) -> None:
    if raw_state is not None:
        await state.clear()
    token = (command.args or "")[len(INVITE_PREFIX) :]
    try:
        if not TOKEN.fullmatch(token):
            raise InviteError("invite.unknown")
        await staff.redeemable(token)
        # Becoming staff is when the bot starts to remember the person by their Telegram id.
        user_id = await users.enrol(profile.telegram_id)
        redemption = await staff.redeem_invite(user_id, token)
    except InviteError as exc:
        await staff.audit(profile.id, "invite.refused", detail=str(exc), actor_key=profile.key)
        await message.answer(_invite_error_text(str(exc)), reply_markup=keyboards.main_menu())
        return
    users.invalidate(profile.telegram_id)
    passed_on = 0
    if _ended_coordinator(redemption):
        passed_on = await _pass_on_cases(user_id, users, directory, i18n, cases, outbox, settings)
    text = await _welcome_text(redemption, passed_on, staff, directory, i18n.current_locale)
    await message.answer(text, reply_markup=keyboards.menu_for(True))


def _ended_coordinator(redemption: Redemption) -> bool:
    return any(r.role == Role.COORDINATOR for r in redemption.ended)


async def _pass_on_cases(
    user_id: int,
    users: UserService,
    directory: Directory,
    i18n: I18n,
    cases: CaseService,
    outbox: Queue,
    settings: Settings,
) -> int:
    """As an admin's removal: the cases the person no longer covers go to the area's coordinators. How
    many of them were the person's own."""
    released = await cases.release_orphans_with_owners()
    summaries = [c for c, _owner in released]
    await notify_area(outbox, i18n, users, cases, directory, settings.admin_ids, summaries, "case.released")
    return sum(1 for _case, owner in released if owner == user_id)


async def _welcome_text(
    redemption: Redemption, passed_on: int, staff: StaffService, directory: Directory, lang: str
) -> str:
    role = redemption.role
    org = await staff.organisation(role.organisation_id) if role.organisation_id is not None else None
    text = _("invite.welcome").format(
        role=escape(role_name(role.role)), scope=scope_text(role, org, directory, lang)
    )
    text += await _ended_text(redemption, passed_on, staff, directory, lang)
    if role.role == Role.COORDINATOR:
        text += "\n\n" + _("invite.welcome_coordinator")
    return text


async def _ended_text(
    redemption: Redemption, passed_on: int, staff: StaffService, directory: Directory, lang: str
) -> str:
    """For the person who redeemed: which of their roles ended, and how many open requests went on."""
    parts = []
    for role in redemption.ended:
        org = await staff.organisation(role.organisation_id) if role.organisation_id is not None else None
        parts.append(
            _("invite.role_ended").format(
                role=escape(role_name(role.role)), scope=scope_text(role, org, directory, lang)
            )
        )
    if _ended_coordinator(redemption):
        parts.append(_("invite.passed_on").format(count=passed_on))
    return "".join("\n\n" + p for p in parts)


# --- creating: role -> (oblast -> district | organisation) -> keep or replace -----------------
async def on_invite_step(
    callback: CallbackQuery,
    callback_data: AdminInvite,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    i18n: I18n,
) -> None:
    await invite_step(callback, callback_data, bot, profile, staff, directory, i18n.current_locale)


async def invite_step(
    callback: CallbackQuery,
    step: AdminInvite,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    lang: str,
) -> None:
    admin = is_admin(profile)
    if not step.role:
        if admin:
            await show(callback, bot, _("invite.choose_role"), kb.invite_roles())
            return
        step = AdminInvite(role="s")  # a coordinator invites specialists only: no question to ask
    role = ROLE_CODES.get(step.role)
    if role is None:
        await stale_button(callback, bot)
        return
    if role != Role.SPECIALIST and not admin:
        await refuse(callback, bot, staff, profile, "invite", f"role={role.value}")
        return
    if role == Role.COORDINATOR:
        await _coordinator_scope(callback, step, role, bot, profile, staff, directory, lang)
    else:
        await _organisation_choice(callback, step, role, bot, profile, staff, directory, lang)


async def _invite_oblast(
    callback: CallbackQuery, bot: Bot, step: AdminInvite, directory: Directory, lang: str, who: str
) -> tuple[AdminInvite, Oblast] | None:
    """The invite's oblast: asked when there are several (None: a screen was shown instead)."""
    if not step.oblast:
        if len(directory.oblasts) > 1:
            code = step.role
            markup = kb.oblasts(directory, lang, lambda o: AdminInvite(role=code, oblast=o), AdminInvite())
            await show(callback, bot, _("invite.choose_oblast").format(role=who), markup)
            return None
        step = AdminInvite(role=step.role, oblast=directory.oblasts[0].id)
    oblast = directory.oblast(step.oblast)
    if oblast is None:
        await stale_button(callback, bot)
        return None
    return step, oblast


def _back(step: AdminInvite, directory: Directory) -> AdminInvite:
    """Back from the step after the oblast: to the oblasts when there are several, else to the roles."""
    return AdminInvite(role=step.role) if len(directory.oblasts) > 1 else AdminInvite()


async def _coordinator_scope(
    callback: CallbackQuery,
    step: AdminInvite,
    role: Role,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    lang: str,
) -> None:
    who = escape(role_name(role))
    found = await _invite_oblast(callback, bot, step, directory, lang, who)
    if found is None:
        return
    step, oblast = found
    if not step.district:
        code = step.role
        markup = kb.districts(
            oblast,
            lang,
            lambda d: AdminInvite(role=code, oblast=oblast.id, district=d),
            _back(step, directory),
        )
        await show(callback, bot, _("invite.choose_district").format(role=who), markup)
        return
    district = None if step.district == WHOLE else step.district
    if district is not None and directory.oblast_of(district) is not oblast:
        await stale_button(callback, bot)
        return
    await _make_invite(callback, step, bot, profile, staff, directory, lang, role, None, oblast.id, district)


async def _organisations_for(
    profile: UserProfile, staff: StaffService, oblast: str | None
) -> list[OrganisationView]:
    if is_admin(profile):
        return await staff.organisations(oblast)
    coordinator = [r for r in profile.staff if r.role == Role.COORDINATOR and r.oblast is not None]
    found: dict[int, OrganisationView] = {}
    for oblast_id in sorted({r.oblast for r in coordinator if r.oblast is not None}):
        for org in await staff.organisations(oblast_id):
            if any(r.covers(org.oblast, org.district) for r in coordinator):
                found[org.id] = org
    return sorted(found.values(), key=lambda o: (o.name.casefold(), o.id))


async def _organisation_choice(
    callback: CallbackQuery,
    step: AdminInvite,
    role: Role,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    lang: str,
) -> None:
    if step.org:
        org = await staff.organisation(step.org)
        if org is None:
            await stale_button(callback, bot)
            return
        # Whether this person may invite for this organisation is the service's decision.
        await _make_invite(
            callback, step, bot, profile, staff, directory, lang, role, org.id, org.oblast, None
        )
        return
    oblast: Oblast | None = None
    back: AdminInvite | None = None
    if is_admin(profile):
        found = await _invite_oblast(callback, bot, step, directory, lang, escape(role_name(role)))
        if found is None:
            return
        step, oblast = found
        back = _back(step, directory)
    orgs = await _organisations_for(profile, staff, oblast.id if oblast else None)
    if role == Role.POLICE:
        orgs = [o for o in orgs if o.kind == POLICE_KIND]
    await _organisation_page(callback, step, role, orgs, back, bot, profile, directory, lang)


async def _organisation_page(
    callback: CallbackQuery,
    step: AdminInvite,
    role: Role,
    orgs: list[OrganisationView],
    back: AdminInvite | None,
    bot: Bot,
    profile: UserProfile,
    directory: Directory,
    lang: str,
) -> None:
    who = escape(role_name(role))
    if not orgs:
        text = _("invite.no_police_orgs") if role == Role.POLICE else _("invite.no_orgs")
        if is_admin(profile):
            text += "\n\n" + _("invite.add_org_first")
        await show(callback, bot, text.format(role=who), kb.no_organisations(is_admin(profile), back))
        return
    page, pages = pages_of(len(orgs), step.page)
    shown = orgs[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    first = page * PAGE_SIZE + 1
    lines = [f"{first + i}. {org_scope(o, directory, lang)}" for i, o in enumerate(shown)]
    text = _("invite.choose_org").format(role=who, orgs="\n".join(lines))
    if pages > 1:
        text += "\n\n" + _("admin.page").format(page=page + 1, pages=pages)
    await show(callback, bot, text, kb.organisation_page(step, shown, first, page, pages, back))


async def _make_invite(
    callback: CallbackQuery,
    step: AdminInvite,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    lang: str,
    role: Role,
    organisation_id: int | None,
    oblast: str,
    district: str | None,
) -> None:
    try:
        org = await staff.check_invite(profile.staff, role, organisation_id)
        scope_role = StaffRole(
            role.value, organisation_id, org.oblast if org else oblast, org.district if org else district
        )
        scope = scope_text(scope_role, org, directory, lang)
        if step.keep not in ("r", "a"):
            # The last step: whether the role replaces the ones the person may already hold (the default)
            # or is added to them.
            text = _("invite.choose_keep").format(role=escape(role_name(role)), scope=scope)
            await show(callback, bot, text, kb.invite_keep(step))
            return
        token = await staff.create_invite(
            profile.staff_id,
            profile.staff,
            role=role,
            organisation_id=organisation_id,
            oblast=oblast,
            district=district,
            keeps_roles=step.keep == "a",
        )
    except AccessDenied as exc:
        await refuse(callback, bot, staff, profile, "invite", exc.action)
        return
    await _show_invite(callback, bot, token, role, scope, step.keep == "a")


async def _show_invite(
    callback: CallbackQuery, bot: Bot, token: str, role: Role, scope: str, keeps_roles: bool
) -> None:
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={INVITE_PREFIX}{token}"
    text = _("invite.created").format(
        role=escape(role_name(role)),
        scope=scope,
        mode=_("invite.mode.keep") if keeps_roles else _("invite.mode.replace"),
        link=escape(link),
        hours=INVITE_HOURS,
    )
    await show(callback, bot, text, kb.invite_created())


def create_redeem_router() -> Router:
    """Redeeming a link: for anyone (the person is not staff yet), so not behind the admin gates."""
    router = Router(name="admin.redeem")
    router.message.register(
        on_invite_link, CommandStart(deep_link=True, magic=F.args.startswith(INVITE_PREFIX))
    )
    return router


def create_router() -> Router:
    router = Router(name="admin.invites")
    router.callback_query.middleware(ButtonGate("invite", MANAGERS))
    router.callback_query.register(on_invite_step, AdminInvite.filter())
    return router
