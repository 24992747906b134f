"""Notices of the quarterly reconciliation with the police: the request for figures and its reminders,
and what one side did (entered, explained, confirmed), told to the other. Each runs in the recipient's
locale."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot import callbacks, render
from bot.notices import keyboards as notice_keyboards
from bot.notices.delivery import Composed
from bot.services.reconciliation import QuarterView, other_side


def _open_button(quarter: str) -> InlineKeyboardMarkup:
    return notice_keyboards.one_button(
        _("reconcile.open"),
        callbacks.Reconciliations(action=callbacks.ReconciliationAction.VIEW, quarter=quarter),
    )


def reminder(view: QuarterView, side: str, reminder: int) -> Composed:
    """To a side that has not confirmed: the opening request (`reminder` 0), then every reminder."""
    key = "reconcile.opened" if reminder == 0 else "reconcile.reminder"
    text = _(key).format(quarter=render.quarter(view.quarter))
    text += "\n\n" + render.reconciliation_state(view, side)
    return text, _open_button(view.quarter)


def told_other_side(view: QuarterView, side: str, event: str) -> Composed:
    """What `side` did (`event`: entered, explained, confirmed), as the other side reads it."""
    other = other_side(side)
    text = _(f"reconcile.told.{event}.{side}").format(quarter=render.quarter(view.quarter))
    text += "\n\n" + render.reconciliation_state(view, other)
    return text, _open_button(view.quarter)
