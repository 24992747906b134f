"""Keyboards of the case workflow, and the one-tap offer of a message typed at the menu
(handlers/fallback.py). The help request dialog's are beside it, in handlers/citizen/request/keyboards.py.

Callback data is never trusted: every id in it is looked up again and access is checked by the
services (cases.py, staff.py) from the person's roles, not from the button.
"""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import (
    Cases,
    EventAction,
    Events,
    MyRequests,
    PoliceAction,
    PoliceReports,
    ReconciliationAction,
    Reconciliations,
    ReferralChat,
    Referrals,
    ReportAction,
    Reports,
)
from bot.keyboards import back_to_menu_row, button, per_locale
from bot.services.cases import CaseSummary, Outcome, Status
from bot.services.staff import OrganisationView

# A forged id or page out of range does not even parse: the press falls to the stale-button answer.
DECLINE_REASONS = ("not_our_profile", "no_capacity", "outside_area", "other")
VICTIM_STATUS_STEPS = ("applied", "granted", "refused")


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


# --- the citizen's own case --------------------------------------------------------------------
def send_draft(cases: list[CaseSummary], message_id: int) -> InlineKeyboardMarkup:
    """A message typed at the menu by someone with an open request: one tap sends that message there (a
    button per request when there are several), or the menu."""
    if len(cases) == 1:
        # Before anyone accepted there is no coordinator to send it to: it is added to the request.
        label = _("draft.add") if cases[0].status == Status.NEW else _("draft.send")
        rows = [[button(label, MyRequests(action="send_draft", id=cases[0].id, draft=message_id))]]
    else:
        rows = [
            [
                button(
                    _("draft.send_to").format(code=f"{c.code[:4]}-{c.code[4:]}"),
                    MyRequests(action="send_draft", id=c.id, draft=message_id),
                )
            ]
            for c in cases
        ]
    return _markup(*rows, back_to_menu_row())


# --- staff -------------------------------------------------------------------------------------
def case_actions(
    case: CaseSummary, mine: bool, *, break_glass: bool = False, reassign: bool = False
) -> InlineKeyboardMarkup:
    """The buttons of a case card: the owner's work, or accepting a new case; for an oblast-wide
    coordinator, handing the case over and break-glass (what the service allows: `CaseCard.may_*`)."""
    rows: list[list[InlineKeyboardButton]] = []
    if case.status == Status.NEW:
        rows.append([button(_("staff.accept"), Cases(a="accept", id=case.id))])
    elif mine and case.status != Status.CLOSED:
        rows.append([button(_("staff.refer"), Cases(a="refer", id=case.id))])
        if case.status != Status.IN_PROGRESS:
            rows.append([button(_("staff.in_progress"), Cases(a="progress", id=case.id))])
        if case.relay_open:
            rows.append([button(_("staff.write"), Cases(a="write", id=case.id))])
        rows.append([button(_("staff.victim_status"), Cases(a="vs", id=case.id))])
        rows.append([button(_("staff.close"), Cases(a="close", id=case.id))])
    if reassign:
        rows.append([button(_("access.reassign"), Cases(a="reassign", id=case.id))])
    if break_glass:
        rows.append([button(_("access.break_glass"), Cases(a="bg", id=case.id))])
    rows.append([button(_("staff.list"), Cases(a="list"))])
    return _markup(*rows)


def colleagues(case_id: int, choices: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    """Coordinators to hand the case to: (user id, label)."""
    rows = [
        [button(label[:60], Cases(a="reassign_to", id=case_id, v=str(uid)))] for uid, label in choices[:30]
    ]
    return _markup(*rows, [button(_("button.back"), Cases(a="open", id=case_id))])


def break_glass_cancel(case_id: int) -> InlineKeyboardMarkup:
    return _markup([button(_("request.cancel"), Cases(a="open", id=case_id))])


def organisations(case_id: int, orgs: list[OrganisationView]) -> InlineKeyboardMarkup:
    rows = [[button(o.name[:60], Cases(a="refer_to", id=case_id, v=str(o.id)))] for o in orgs[:30]]
    return _markup(*rows, [button(_("button.back"), Cases(a="open", id=case_id))])


def outcomes(case_id: int) -> InlineKeyboardMarkup:
    rows = [[button(_(f"outcome.{o.value}"), Cases(a="close_with", id=case_id, v=o.value))] for o in Outcome]
    return _markup(*rows, [button(_("button.back"), Cases(a="open", id=case_id))])


def victim_status(case_id: int) -> InlineKeyboardMarkup:
    rows = [
        [button(_(f"victim_status.{s}"), Cases(a="vs_set", id=case_id, v=s))] for s in VICTIM_STATUS_STEPS
    ]
    return _markup(*rows, [button(_("button.back"), Cases(a="open", id=case_id))])


def case_list(cases: list[CaseSummary], page: int, pages: int, status: str) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                ("⏰ " if c.overdue else "") + f"{c.code[:4]}-{c.code[4:]} · {_(f'status.{c.status.value}')}",
                Cases(a="open", id=c.id),
            )
        ]
        for c in cases
    ]
    nav = []
    if page > 0:
        nav.append(button(_("button.prev"), Cases(a="list", v=status, p=page - 1)))
    if page + 1 < pages:
        nav.append(button(_("button.next"), Cases(a="list", v=status, p=page + 1)))
    filters = [
        button(("• " if status == s else "") + _(f"filter.{s or 'open'}"), Cases(a="list", v=s))
        for s in ("", Status.NEW.value, Status.CLOSED.value)
    ]
    return _markup(*rows, nav, filters, back_to_menu_row())


def referral_list(items: list[tuple[int, str]], page: int, pages: int) -> InlineKeyboardMarkup:
    rows = [[button(label, Referrals(a="open", id=rid))] for rid, label in items]
    nav = []
    if page > 0:
        nav.append(button(_("button.prev"), Referrals(a="list", p=page - 1)))
    if page + 1 < pages:
        nav.append(button(_("button.next"), Referrals(a="list", p=page + 1)))
    return _markup(*rows, nav, back_to_menu_row())


def referral_actions(referral_id: int, pending: bool) -> InlineKeyboardMarkup:
    rows = []
    if pending:
        rows.append(
            [
                button(_("referral.accept"), Referrals(a="accept", id=referral_id)),
                button(_("referral.decline"), Referrals(a="decline", id=referral_id)),
            ]
        )
    rows.append([button(_("referral.list"), Referrals(a="list"))])
    return _markup(*rows)


def decline_reasons(referral_id: int) -> InlineKeyboardMarkup:
    rows = [
        [button(_(f"decline.{r}"), Referrals(a="decline_with", id=referral_id, v=r))] for r in DECLINE_REASONS
    ]
    return _markup(*rows, [button(_("button.back"), Referrals(a="open", id=referral_id))])


@per_locale
def stop_referral_writing() -> InlineKeyboardMarkup:
    return _markup([button(_("referrals.stop"), ReferralChat(a="stop"))])


def stop_staff_writing(case_id: int) -> InlineKeyboardMarkup:
    return _markup([button(_("relay.stop"), Cases(a="open", id=case_id))])


@per_locale
def workspace() -> InlineKeyboardMarkup:
    return _markup(
        [button(_("staff.cases"), Cases(a="list"))],
        [button(_("staff.referrals"), Referrals(a="list"))],
        [
            button(_("event.log"), Events(action=EventAction.START)),
            button(_("event.mine"), Events(action=EventAction.MINE)),
        ],
        [button(_("event.scope"), Events(action=EventAction.SCOPE))],
        [
            button(_("police.file"), PoliceReports(action=PoliceAction.START)),
            button(_("police.compliance"), PoliceReports(action=PoliceAction.COMPLIANCE)),
        ],
        [button(_("report.button"), Reports(action=ReportAction.START))],
        [button(_("reconcile.menu"), Reconciliations(action=ReconciliationAction.VIEW))],
        back_to_menu_row(),
    )
