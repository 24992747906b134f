"""Admins and coordinators: invite redemption, /admin, organisations, invites, staff removal.

Callback data can be forged by any client: a button only says what was asked, never what is
allowed. Every handler here reads the role from the person's profile again and leaves scope
decisions to StaffService; a refused action is audited. Citizens who forge a staff button are told
no more than that the button is out of date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import AdminInvite, AdminMenu, AdminOrganisation, AdminStaff
from bot.keyboards import WHOLE, back_to_menu_row, button
from bot.notices.cases import notify_area
from bot.notices.outgoing import Queue
from bot.services.cases import CaseService
from bot.services.directory import Directory, Oblast
from bot.services.staff import (
    INVITE_PREFIX,
    INVITE_TTL,
    ORGANISATION_KINDS,
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
from handlers.ui import chat_id_of, show, stale_button

PAGE_SIZE = 8
NAME_MIN, NAME_MAX = 3, 300
LABEL_MAX = 48  # characters of an organisation name on a button
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what a Telegram deep-link parameter may hold
INVITE_HOURS = int(INVITE_TTL.total_seconds() // 3600)
ROLE_CODES = {"c": Role.COORDINATOR, "s": Role.SPECIALIST, "p": Role.POLICE}
ROLE_ORDER = (Role.ADMIN, Role.COORDINATOR, Role.POLICE, Role.SPECIALIST)
POLICE_KIND = "police"


class AddOrganisation(StatesGroup):
    name = State()
    place = State()  # name given; kind and place are chosen with buttons


# --- names ------------------------------------------------------------------------------------
def kind_name(kind: str) -> str:
    names = {
        "social_services": _("org.kind.social_services"),
        "administration": _("org.kind.administration"),
        "community": _("org.kind.community"),
        "ngo": _("org.kind.ngo"),
        "employment": _("org.kind.employment"),
        "legal_aid": _("org.kind.legal_aid"),
        "migration": _("org.kind.migration"),
        "labour_inspection": _("org.kind.labour_inspection"),
        "school": _("org.kind.school"),
        "police": _("org.kind.police"),
        "health": _("org.kind.health"),
        "children_service": _("org.kind.children_service"),
    }
    return names.get(kind, kind)


def role_name(role: str) -> str:
    names: dict[str, str] = {
        Role.ADMIN: _("staffadm.role.admin"),
        Role.COORDINATOR: _("staffadm.role.coordinator"),
        Role.SPECIALIST: _("staffadm.role.specialist"),
        Role.POLICE: _("staffadm.role.police"),
    }
    return names.get(role, role)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _short(text: str, limit: int = LABEL_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def place_name(directory: Directory, oblast_id: str | None, district_id: str | None, lang: str) -> str:
    if oblast_id is None:
        return ""
    oblast = directory.oblast(oblast_id)
    oblast_label = oblast.name.get(lang) if oblast else oblast_id
    if district_id is None:
        return escape(_("admin.place_whole").format(oblast=oblast_label))
    district = directory.district(district_id)
    district_label = district.name.get(lang) if district else district_id
    return escape(f"{district_label}, {oblast_label}")


def scope_text(role: StaffRole, org: OrganisationView | None, directory: Directory, lang: str) -> str:
    """Organisation and place of a role, HTML-escaped."""
    parts = []
    if org is not None:
        parts.append(f"<b>{escape(_short(org.name, 120))}</b>")
    place = place_name(directory, role.oblast, role.district, lang)
    if place:
        parts.append(place)
    return ", ".join(parts) or "—"


def _org_scope(org: OrganisationView, directory: Directory, lang: str) -> str:
    return scope_text(StaffRole("", org.id, org.oblast, org.district), org, directory, lang)


# --- keyboards --------------------------------------------------------------------------------
def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


def _back_row() -> list[InlineKeyboardButton]:
    return [button(_("admin.button.back"), AdminMenu(to="menu"))]


def admin_menu(profile: UserProfile) -> InlineKeyboardMarkup:
    rows = []
    if profile.has(Role.ADMIN):
        rows.append([button(_("admin.button.add_org"), AdminMenu(to="org"))])
    rows.append([button(_("admin.button.invite"), AdminMenu(to="inv"))])
    rows.append([button(_("admin.button.staff"), AdminMenu(to="staff"))])
    return _markup(*rows, back_to_menu_row())


def _nav_row(prev: CallbackData | None, nxt: CallbackData | None) -> list[InlineKeyboardButton]:
    row = []
    if prev is not None:
        row.append(button(_("button.prev"), prev))
    if nxt is not None:
        row.append(button(_("button.next"), nxt))
    return row


def _pages(count: int, page: int) -> tuple[int, int]:
    pages = max(1, -(-count // PAGE_SIZE))
    return min(max(page, 0), pages - 1), pages


# --- access -----------------------------------------------------------------------------------
def is_admin(profile: UserProfile) -> bool:
    return profile.has(Role.ADMIN)


def is_manager(profile: UserProfile) -> bool:
    """Who may open /admin: admins and coordinators."""
    return profile.has(Role.ADMIN) or profile.has(Role.COORDINATOR)


async def _refuse(
    callback: CallbackQuery,
    bot: Bot,
    staff: StaffService,
    profile: UserProfile,
    action: str,
    detail: str | None = None,
) -> None:
    """A staff button this person may not use: audited. Someone without /admin learns nothing
    from the answer (a stale button); an admin or coordinator is told they lack the right."""
    await staff.audit(
        profile.id,
        f"denied.{action}"[:40],
        detail=(detail or callback.data or "")[:200],
        actor_key=profile.key,
    )
    if not is_manager(profile):
        await stale_button(callback, bot)
        return
    # A new message, like a stale button's answer: a refusal repeated on the same screen is seen too.
    await callback.answer(_("admin.forbidden_toast"))
    await bot.send_message(chat_id_of(callback), _("admin.forbidden"), reply_markup=_markup(_back_row()))


def _roles_text(
    profile: UserProfile, orgs: dict[int, OrganisationView], directory: Directory, lang: str
) -> str:
    lines = []
    for role in sorted(profile.staff, key=lambda r: _role_rank(r.role)):
        org = orgs.get(role.organisation_id) if role.organisation_id is not None else None
        scope = scope_text(role, org, directory, lang) if (org or role.oblast) else ""
        lines.append(f"• {escape(role_name(role.role))}" + (f" — {scope}" if scope else ""))
    return "\n".join(lines)


def _role_rank(role: str) -> int:
    return ROLE_ORDER.index(Role(role)) if role in ROLE_ORDER else len(ROLE_ORDER)


async def _menu_text(profile: UserProfile, staff: StaffService, directory: Directory, lang: str) -> str:
    org_ids = {r.organisation_id for r in profile.staff if r.organisation_id is not None}
    orgs = {o.id: o for o in await staff.organisations() if o.id in org_ids} if org_ids else {}
    return _("admin.menu").format(roles=_roles_text(profile, orgs, directory, lang))


def _invite_error_text(key: str) -> str:
    texts = {
        "invite.used": _("invite.used"),
        "invite.expired": _("invite.expired"),
    }
    return texts.get(key, _("invite.unknown")).format(hours=INVITE_HOURS)


def _not_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


# --- the router -------------------------------------------------------------------------------
def create_router() -> Router:
    router = Router(name="admin")

    @router.message(CommandStart(deep_link=True, magic=F.args.startswith(INVITE_PREFIX)))
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
        if any(r.role == Role.COORDINATOR for r in redemption.ended):
            # As an admin's removal: the cases the person no longer covers go to the area's coordinators.
            released = await cases.release_orphans_with_owners()
            passed_on = sum(1 for _case, owner in released if owner == user_id)
            summaries = [c for c, _owner in released]
            await notify_area(
                outbox, i18n, users, cases, directory, settings.admin_ids, summaries, "case.released"
            )
        lang = i18n.current_locale
        role = redemption.role
        org = await staff.organisation(role.organisation_id) if role.organisation_id is not None else None
        text = _("invite.welcome").format(
            role=escape(role_name(role.role)), scope=scope_text(role, org, directory, lang)
        )
        text += await _ended_text(redemption, passed_on, staff, directory, lang)
        if role.role == Role.COORDINATOR:
            text += "\n\n" + _("invite.welcome_coordinator")
        await message.answer(text, reply_markup=keyboards.menu_for(True))

    @router.message(Command("admin"))
    async def on_admin(
        message: Message,
        state: FSMContext,
        raw_state: str | None,
        profile: UserProfile,
        staff: StaffService,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        if raw_state is not None:
            await state.clear()
        if not is_manager(profile):
            await staff.audit(profile.id, "denied.admin", actor_key=profile.key)
            await message.answer(_("admin.denied"), reply_markup=keyboards.menu_for(profile.is_staff))
            return
        text = await _menu_text(profile, staff, directory, i18n.current_locale)
        await message.answer(text, reply_markup=admin_menu(profile))

    @router.callback_query(AdminMenu.filter())
    async def on_admin_menu(
        callback: CallbackQuery,
        callback_data: AdminMenu,
        bot: Bot,
        state: FSMContext,
        profile: UserProfile,
        staff: StaffService,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        if not is_manager(profile):
            await _refuse(callback, bot, staff, profile, "admin.menu")
            return
        lang = i18n.current_locale
        to = callback_data.to
        if to == "menu":
            await state.clear()
            await show(callback, bot, await _menu_text(profile, staff, directory, lang), admin_menu(profile))
        elif to == "org":
            if not is_admin(profile):
                await _refuse(callback, bot, staff, profile, "org.add")
                return
            await state.set_state(AddOrganisation.name)
            text = _("org.ask_name").format(min=NAME_MIN, max=NAME_MAX)
            await show(callback, bot, text, _markup(_back_row()))
        elif to == "inv":
            await state.clear()
            await _invite_step(callback, AdminInvite(), bot, profile, staff, directory, lang)
        elif to == "staff":
            await state.clear()
            await _staff_list(callback, 0, bot, profile, staff, directory, lang)
        else:
            await stale_button(callback, bot)

    # --- add organisation: name -> kind -> oblast -> district ----------------------------------
    @router.message(StateFilter(AddOrganisation.name), F.text, _not_command)
    async def on_org_name(
        message: Message, state: FSMContext, profile: UserProfile, staff: StaffService
    ) -> None:
        if not is_admin(profile):
            await state.clear()
            await staff.audit(profile.id, "denied.org.add", actor_key=profile.key)
            await message.answer(_("admin.denied"), reply_markup=keyboards.menu_for(profile.is_staff))
            return
        name = " ".join((message.text or "").split())
        if not NAME_MIN <= len(name) <= NAME_MAX:
            await message.answer(_("org.name_length").format(min=NAME_MIN, max=NAME_MAX, length=len(name)))
            return
        await state.update_data(org_name=name)
        await state.set_state(AddOrganisation.place)
        await message.answer(_("org.choose_kind").format(name=escape(name)), reply_markup=_kinds())

    @router.message(StateFilter(AddOrganisation.name), ~F.text)
    async def on_org_name_not_text(message: Message) -> None:
        await message.answer(_("org.name_not_text").format(min=NAME_MIN, max=NAME_MAX))

    @router.message(StateFilter(AddOrganisation.place), _not_command)
    async def on_org_place_typed(message: Message) -> None:
        await message.answer(_("admin.use_buttons"))

    @router.callback_query(AdminOrganisation.filter())
    async def on_org_step(
        callback: CallbackQuery,
        callback_data: AdminOrganisation,
        bot: Bot,
        state: FSMContext,
        profile: UserProfile,
        staff: StaffService,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        if not is_admin(profile):
            await _refuse(callback, bot, staff, profile, "org.add")
            return
        name = (await state.get_data()).get("org_name")
        if await state.get_state() != AddOrganisation.place.state or not isinstance(name, str):
            await stale_button(callback, bot)  # the dialog was finished or cancelled
            return
        await _org_step(
            callback, callback_data, name, bot, state, profile, staff, directory, i18n.current_locale
        )

    # --- invites -------------------------------------------------------------------------------
    @router.callback_query(AdminInvite.filter())
    async def on_invite_step(
        callback: CallbackQuery,
        callback_data: AdminInvite,
        bot: Bot,
        profile: UserProfile,
        staff: StaffService,
        directory: Directory,
        i18n: I18n,
    ) -> None:
        await _invite_step(callback, callback_data, bot, profile, staff, directory, i18n.current_locale)

    # --- staff ---------------------------------------------------------------------------------
    @router.callback_query(AdminStaff.filter())
    async def on_staff_action(
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
        if not is_manager(profile):
            await _refuse(callback, bot, staff, profile, "staff")
            return
        act = callback_data
        if act.a == "l":
            await _staff_list(callback, act.p, bot, profile, staff, directory, lang)
            return
        if act.a not in ("r", "y"):
            await stale_button(callback, bot)
            return
        # Who this is comes from the server's own list of staff in the actor's scope, never from the button.
        entry = next(
            (e for e in await staff.staff_in_scope(profile.staff) if e[0] == act.u and e[2].role == act.r),
            None,
        )
        if entry is None:
            await staff.audit(
                profile.id, "denied.staff.remove", detail=(callback.data or "")[:200], actor_key=profile.key
            )
            await _staff_list(callback, act.p, bot, profile, staff, directory, lang, _("staffadm.gone"))
            return
        user_id, telegram_id, role = entry
        org = await staff.organisation(role.organisation_id) if role.organisation_id is not None else None
        scope = scope_text(role, org, directory, lang)
        if act.a == "r":
            text = _("staffadm.confirm").format(
                role=escape(_capital(role_name(role.role))), scope=scope, tid=telegram_id
            )
            markup = _markup(
                [button(_("staffadm.button.yes"), AdminStaff(a="y", p=act.p, u=user_id, r=role.role))],
                [button(_("staffadm.button.no"), AdminStaff(a="l", p=act.p))],
            )
            await show(callback, bot, text, markup)
            return
        try:
            await staff.remove_staff(profile.staff_id, profile.staff, user_id, role.role)
        except AccessDenied as exc:
            await _refuse(callback, bot, staff, profile, "staff.remove", exc.action)
            return
        users.invalidate(telegram_id)
        if role.role == Role.COORDINATOR:  # their open cases must not wait for someone who is gone
            released = await cases.release_orphans()
            await notify_area(
                outbox, i18n, users, cases, directory, settings.admin_ids, released, "case.released"
            )
        notice = _("staffadm.removed").format(role=escape(role_name(role.role)), tid=telegram_id)
        await _staff_list(callback, act.p, bot, profile, staff, directory, lang, notice)

    return router


# --- add organisation -------------------------------------------------------------------------
async def _invite_oblast(
    callback: CallbackQuery, bot: Bot, step: AdminInvite, directory: Directory, lang: str, who: str
) -> tuple[AdminInvite, Oblast] | None:
    """The invite's oblast: asked when there are several (None: a screen was shown instead)."""
    if not step.o:
        if len(directory.oblasts) > 1:
            rows = [[button(o.name.get(lang), AdminInvite(r=step.r, o=o.id))] for o in directory.oblasts]
            markup = _markup(*rows, [button(_("button.back"), AdminInvite())], _back_row())
            await show(callback, bot, _("invite.choose_oblast").format(role=who), markup)
            return None
        step = AdminInvite(r=step.r, o=directory.oblasts[0].id)
    oblast = directory.oblast(step.o)
    if oblast is None:
        await stale_button(callback, bot)
        return None
    return step, oblast


def _kinds() -> InlineKeyboardMarkup:
    items = [button(kind_name(k), AdminOrganisation(k=i)) for i, k in enumerate(ORGANISATION_KINDS)]
    return _markup(*[items[i : i + 2] for i in range(0, len(items), 2)], _back_row())


async def _org_step(
    callback: CallbackQuery,
    step: AdminOrganisation,
    name: str,
    bot: Bot,
    state: FSMContext,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    lang: str,
) -> None:
    if step.k == -1:
        await show(callback, bot, _("org.choose_kind").format(name=escape(name)), _kinds())
        return
    if not 0 <= step.k < len(ORGANISATION_KINDS):
        await stale_button(callback, bot)
        return
    kind = ORGANISATION_KINDS[step.k]
    fields = {"name": escape(name), "kind": escape(kind_name(kind))}
    if not step.o:
        if len(directory.oblasts) > 1:
            rows = [
                [button(o.name.get(lang), AdminOrganisation(k=step.k, o=o.id))] for o in directory.oblasts
            ]
            markup = _markup(*rows, [button(_("button.back"), AdminOrganisation())], _back_row())
            await show(callback, bot, _("org.choose_oblast").format(**fields), markup)
            return
        step = AdminOrganisation(k=step.k, o=directory.oblasts[0].id)
    oblast = directory.oblast(step.o)
    if oblast is None:
        await stale_button(callback, bot)
        return
    if not step.d:
        back = AdminOrganisation(k=step.k) if len(directory.oblasts) > 1 else AdminOrganisation()
        markup = _districts(oblast, lang, lambda d: AdminOrganisation(k=step.k, o=oblast.id, d=d), back)
        await show(callback, bot, _("org.choose_district").format(**fields), markup)
        return
    district = None if step.d == WHOLE else step.d
    if district is not None and directory.oblast_of(district) is not oblast:
        await stale_button(callback, bot)
        return
    org = await staff.add_organisation(profile.staff_id, name, kind, oblast.id, district)
    await state.clear()
    invite_role = "p" if kind == POLICE_KIND else "s"
    invite_label = _("org.button.invite_police") if kind == POLICE_KIND else _("org.button.invite_specialist")
    markup = _markup(
        [button(invite_label, AdminInvite(r=invite_role, g=org.id))],
        [button(_("org.button.another"), AdminMenu(to="org"))],
        _back_row(),
    )
    text = _("org.added").format(
        name=escape(org.name),
        kind=escape(kind_name(kind)),
        place=place_name(directory, org.oblast, org.district, lang),
    )
    await show(callback, bot, text, markup)


def _districts(
    oblast: Oblast, lang: str, make: Callable[[str], CallbackData], back: CallbackData
) -> InlineKeyboardMarkup:
    rows = [[button(d.name.get(lang), make(d.id))] for d in oblast.districts]
    rows.append([button(_("where.whole_oblast"), make(WHOLE))])
    rows.append([button(_("button.back"), back)])
    return _markup(*rows, _back_row())


# --- invites ----------------------------------------------------------------------------------
async def _invite_step(
    callback: CallbackQuery,
    step: AdminInvite,
    bot: Bot,
    profile: UserProfile,
    staff: StaffService,
    directory: Directory,
    lang: str,
) -> None:
    admin = is_admin(profile)
    if not (admin or profile.has(Role.COORDINATOR)):
        await _refuse(callback, bot, staff, profile, "invite")
        return
    if not step.r:
        if not admin:  # a coordinator invites specialists only: no question to ask
            step = AdminInvite(r="s")
        else:
            rows = [
                [button(_capital(role_name(role)), AdminInvite(r=code))] for code, role in ROLE_CODES.items()
            ]
            await show(callback, bot, _("invite.choose_role"), _markup(*rows, _back_row()))
            return
    role = ROLE_CODES.get(step.r)
    if role is None:
        await stale_button(callback, bot)
        return
    if role != Role.SPECIALIST and not admin:
        await _refuse(callback, bot, staff, profile, "invite", f"role={role.value}")
        return
    if role == Role.COORDINATOR:
        await _coordinator_scope(callback, step, role, bot, profile, staff, directory, lang)
    else:
        await _organisation_choice(callback, step, role, bot, profile, staff, directory, lang)


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
    if not step.d:
        back = AdminInvite(r=step.r) if len(directory.oblasts) > 1 else AdminInvite()
        markup = _districts(oblast, lang, lambda d: AdminInvite(r=step.r, o=oblast.id, d=d), back)
        await show(callback, bot, _("invite.choose_district").format(role=who), markup)
        return
    district = None if step.d == WHOLE else step.d
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
    who = escape(role_name(role))
    if step.g:
        org = await staff.organisation(step.g)
        if org is None:
            await stale_button(callback, bot)
            return
        # Whether this person may invite for this organisation is the service's decision.
        await _make_invite(
            callback, step, bot, profile, staff, directory, lang, role, org.id, org.oblast, None
        )
        return
    admin = is_admin(profile)
    oblast: Oblast | None = None
    if admin:
        found = await _invite_oblast(callback, bot, step, directory, lang, who)
        if found is None:
            return
        step, oblast = found
    orgs = await _organisations_for(profile, staff, oblast.id if oblast else None)
    if role == Role.POLICE:
        orgs = [o for o in orgs if o.kind == POLICE_KIND]
    back: AdminInvite | None = None
    if admin:
        back = AdminInvite(r=step.r) if len(directory.oblasts) > 1 else AdminInvite()
    back_rows = [[button(_("button.back"), back)] if back is not None else [], _back_row()]
    if not orgs:
        text = _("invite.no_police_orgs") if role == Role.POLICE else _("invite.no_orgs")
        if admin:
            text += "\n\n" + _("invite.add_org_first")
        add = [button(_("admin.button.add_org"), AdminMenu(to="org"))] if admin else []
        await show(callback, bot, text.format(role=who), _markup(add, *back_rows))
        return
    page, pages = _pages(len(orgs), step.p)
    shown = orgs[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    first = page * PAGE_SIZE + 1
    lines = [f"{first + i}. {_org_scope(o, directory, lang)}" for i, o in enumerate(shown)]
    text = _("invite.choose_org").format(role=who, orgs="\n".join(lines))
    if pages > 1:
        text += "\n\n" + _("admin.page").format(page=page + 1, pages=pages)
    rows = [
        [button(f"{first + i}. {_short(o.name)}", AdminInvite(r=step.r, o=step.o, g=o.id))]
        for i, o in enumerate(shown)
    ]
    nav = _nav_row(
        AdminInvite(r=step.r, o=step.o, p=page - 1) if page > 0 else None,
        AdminInvite(r=step.r, o=step.o, p=page + 1) if page + 1 < pages else None,
    )
    await show(callback, bot, text, _markup(*rows, nav, *back_rows))


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
        if step.k not in ("r", "a"):
            # The last step: whether the role replaces the ones the person may already hold (the default)
            # or is added to them.
            markup = _markup(
                [button(_("invite.button.replace"), step.model_copy(update={"k": "r"}))],
                [button(_("invite.button.keep"), step.model_copy(update={"k": "a"}))],
                _back_row(),
            )
            text = _("invite.choose_keep").format(role=escape(role_name(role)), scope=scope)
            await show(callback, bot, text, markup)
            return
        token = await staff.create_invite(
            profile.staff_id,
            profile.staff,
            role=role,
            organisation_id=organisation_id,
            oblast=oblast,
            district=district,
            keeps_roles=step.k == "a",
        )
    except AccessDenied as exc:
        await _refuse(callback, bot, staff, profile, "invite", exc.action)
        return
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={INVITE_PREFIX}{token}"
    text = _("invite.created").format(
        role=escape(role_name(role)),
        scope=scope,
        mode=_("invite.mode.keep") if step.k == "a" else _("invite.mode.replace"),
        link=escape(link),
        hours=INVITE_HOURS,
    )
    markup = _markup([button(_("invite.button.another"), AdminMenu(to="inv"))], _back_row())
    await show(callback, bot, text, markup)


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
    if any(r.role == Role.COORDINATOR for r in redemption.ended):
        parts.append(_("invite.passed_on").format(count=passed_on))
    return "".join("\n\n" + p for p in parts)


# --- staff ------------------------------------------------------------------------------------
async def _staff_list(
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
    people.sort(key=lambda e: (_role_rank(e[2].role), e[2].oblast or "", e[2].district or "", e[1]))
    orgs = {o.id: o for o in await staff.organisations()}
    page, pages = _pages(len(people), page)
    shown = people[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    first = page * PAGE_SIZE + 1
    parts = [notice] if notice else []
    if not people:
        parts.append(_("staffadm.empty"))
    else:
        parts.append(_("staffadm.title").format(count=len(people)))
        for i, (_uid, telegram_id, role) in enumerate(shown):
            org = orgs.get(role.organisation_id) if role.organisation_id is not None else None
            parts.append(
                _("staffadm.line").format(
                    n=first + i,
                    role=escape(_capital(role_name(role.role))),
                    scope=scope_text(role, org, directory, lang),
                    tid=telegram_id,
                )
            )
        if pages > 1:
            parts.append(_("admin.page").format(page=page + 1, pages=pages))
    rows = [
        [
            button(
                _("staffadm.button.remove").format(n=first + i, role=role_name(role.role), tid=telegram_id),
                AdminStaff(a="r", p=page, u=user_id, r=role.role),
            )
        ]
        for i, (user_id, telegram_id, role) in enumerate(shown)
    ]
    nav = _nav_row(
        AdminStaff(a="l", p=page - 1) if page > 0 else None,
        AdminStaff(a="l", p=page + 1) if page + 1 < pages else None,
    )
    await show(callback, bot, "\n\n".join(parts), _markup(*rows, nav, _back_row()))
