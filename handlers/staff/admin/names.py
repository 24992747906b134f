"""How the admin screens name kinds, roles, places and scopes (HTML-escaped where they go into a text),
and how they page a list."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _

from bot.services.directory import Directory
from bot.services.staff import INVITE_TTL, OrganisationView, Role, StaffRole

PAGE_SIZE = 8  # organisations or staff to a page
LABEL_MAX = 48  # characters of an organisation name on a button
INVITE_HOURS = int(INVITE_TTL.total_seconds() // 3600)
ROLE_ORDER = (Role.ADMIN, Role.COORDINATOR, Role.POLICE, Role.SPECIALIST)
POLICE_KIND = "police"


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


def role_rank(role: str) -> int:
    return ROLE_ORDER.index(Role(role)) if role in ROLE_ORDER else len(ROLE_ORDER)


def pages_of(count: int, page: int) -> tuple[int, int]:
    """The page shown (within range) and the number of pages, PAGE_SIZE to a page."""
    pages = max(1, -(-count // PAGE_SIZE))
    return min(max(page, 0), pages - 1), pages


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def short(text: str, limit: int = LABEL_MAX) -> str:
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
        parts.append(f"<b>{escape(short(org.name, 120))}</b>")
    place = place_name(directory, role.oblast, role.district, lang)
    if place:
        parts.append(place)
    return ", ".join(parts) or "—"


def org_scope(org: OrganisationView, directory: Directory, lang: str) -> str:
    return scope_text(StaffRole("", org.id, org.oblast, org.district), org, directory, lang)
