"""The reconciliation's screens: the quarter side by side, one figure asked at a time, the review, the
history."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import render
from bot.callbacks import ReconciliationAction, Reconciliations
from bot.keyboards import back_to_menu_row, button, markup, pairs
from bot.services.reconciliation import FIELDS, QuarterView, ReconciliationError, check_figures


def step(label: str, action: ReconciliationAction, quarter: str = "") -> InlineKeyboardButton:
    return button(label, Reconciliations(action=action, quarter=quarter))


def cancel_row(quarter: str) -> list[InlineKeyboardButton]:
    return [step(_("reconcile.cancel"), ReconciliationAction.CANCEL, quarter)]


def quarter_screen(view: QuarterView, side: str) -> tuple[str, InlineKeyboardMarkup]:
    q = view.quarter
    text = render.reconciliation_table(view) + "\n\n" + render.reconciliation_state(view, side)
    rows: list[list[InlineKeyboardButton]] = []
    if not view.reconciled:
        mine = getattr(view, side)
        rows.append(
            [step(_("reconcile.correct" if mine else "reconcile.enter"), ReconciliationAction.ENTER, q)]
        )
        if view.discrepancies:
            rows.append([step(_("reconcile.explain"), ReconciliationAction.EXPLAIN, q)])
        if view.police and view.region and not getattr(view, f"{side}_confirmed"):
            rows.append([step(_("reconcile.confirm"), ReconciliationAction.CONFIRM, q)])
    rows.append([step(_("reconcile.history"), ReconciliationAction.HISTORY)])
    return text, markup(*rows, back_to_menu_row())


def history(views: list[QuarterView], side: str) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("reconcile.history_title")]
    items = []
    for view in views[:8]:
        lines.append(f"{render.quarter(view.quarter)}: {render.reconciliation_state(view, side)}")
        items.append(step(render.quarter(view.quarter), ReconciliationAction.VIEW, view.quarter))
    if not views:
        lines.append(_("reconcile.history_empty"))
    return "\n".join(lines), markup(*pairs(items), back_to_menu_row())


def ask_figure(data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    index = data["index"]
    name = FIELDS[index]
    text = _("reconcile.ask").format(
        quarter=render.quarter(data["quarter"]),
        step=index + 1,
        steps=len(FIELDS),
        field=_(f"reconcile.field.{name}"),
    )
    rows = []
    previous = (data.get("previous") or {}).get(name)
    if previous is not None:
        rows.append(
            [step(_("reconcile.keep").format(value=previous), ReconciliationAction.KEEP, data["quarter"])]
        )
    rows.append(cancel_row(data["quarter"]))
    return text, markup(*rows)


def summary(data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    """All figures typed: either the reason they contradict themselves, or Save."""
    q, values = data["quarter"], data["values"]
    lines = [_("reconcile.review").format(quarter=render.quarter(q))]
    lines += [f"{_(f'reconcile.field.{f}')}: <b>{values[f]}</b>" for f in FIELDS]
    again = [step(_("reconcile.again"), ReconciliationAction.ENTER, q)]
    try:
        check_figures(values)
    except ReconciliationError as exc:
        return "\n".join([*lines, "", "⚠️ " + _(str(exc))]), markup(again, cancel_row(q))
    return "\n".join(lines), markup(
        [step(_("reconcile.save"), ReconciliationAction.SAVE, q)], again, cancel_row(q)
    )
