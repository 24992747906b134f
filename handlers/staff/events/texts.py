"""The event flow's screens as text: the summary of the event being logged, the events in a coordinator's
area, an event's history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import escape
from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.services.directory import Directory
from bot.services.wording import hryvnias


def summary(data: dict[str, Any], directory: Directory, lang: str) -> str:
    """The dialog's answers so far (its data), as they will be saved."""
    district = directory.district(data["district"]) if data.get("district") else None
    lines = [
        _("event.summary_title"),
        _("event.line_type").format(value=_(f"event_type.{data['kind']}")),
        _("event.line_measure").format(value=escape(data.get("measure_title", ""))),
        _("event.line_date").format(value=date.fromisoformat(data["held_on"]).strftime("%d.%m.%Y")),
        _("event.line_district").format(
            value=escape(district.name.get(lang)) if district else _("event.whole_oblast")
        ),
        _("event.line_participants").format(value=data["participants"]),
    ]
    if data.get("breakdown"):
        lines.append(
            _("event.line_breakdown").format(
                value=", ".join(f"{_(f'group.{g}')}: {n}" for g, n in data["breakdown"].items())
            )
        )
    if data.get("cost"):
        lines.append(_("event.line_cost").format(value=hryvnias(Decimal(data["cost"]), lang)))
    if data.get("attachment_kind"):
        lines.append(_("event.line_attachment"))
    return "\n".join(lines)


def in_scope(
    items: list[tuple[date, str, int, str | None, str]], total: int, directory: Directory, lang: str
) -> str:
    """The events in a coordinator's area: (date, type, participants, district, measure number)."""
    lines = [_("event.scope_title").format(count=total)]
    for held_on, kind, participants, district_id, number in items:
        place = directory.district(district_id) if district_id else None
        where = place.name.get(lang) if place else _("event.whole_oblast")
        lines.append(f"{held_on:%d.%m.%Y} · {_(f'event_type.{kind}')} · {number} · {where} · {participants}")
    return "\n".join(lines)


def history(event_id: int, versions: list[tuple[int, str, dict[str, object]]]) -> str:
    """Every version of an event: (version, action, snapshot)."""
    lines = [_("event.view_title").format(id=event_id)]
    for version, action, snap in versions:
        lines.append(
            _("event.history_line").format(
                version=version,
                action=_(f"event_action.{action}"),
                date=snap["held_on"],
                participants=snap["participants"],
            )
        )
    return "\n".join(lines)
