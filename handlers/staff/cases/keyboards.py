"""The buttons of a coordinator's case work. Callback data is never trusted: every id in it is looked up
again and access is checked by the service (bot/services/cases.py) from the person's roles."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CaseAction, Cases
from bot.keyboards import back_to_menu_row, button, markup
from bot.services.cases import VICTIM_STATUS_STEPS, CaseCard, CaseSummary, Outcome, Status
from bot.services.staff import OrganisationView

CHOICES_SHOWN = 30  # organisations or colleagues on one screen
LABEL_LIMIT = 60


def on_case(label: str, action: CaseAction, case_id: int, value: str = "") -> InlineKeyboardButton:
    return button(label, Cases(action=action, id=case_id, value=value))


def back_to_card_row(case_id: int) -> list[InlineKeyboardButton]:
    return [on_case(_("button.back"), CaseAction.OPEN, case_id)]


def case_actions(
    case: CaseSummary, mine: bool, *, break_glass: bool = False, reassign: bool = False
) -> InlineKeyboardMarkup:
    """The buttons of a case card: the owner's work, or accepting a new case; for an oblast-wide
    coordinator, handing the case over and break-glass (what the service allows: `CaseCard.may_*`)."""
    rows: list[list[InlineKeyboardButton]] = []
    if case.status == Status.NEW:
        rows.append([on_case(_("staff.accept"), CaseAction.ACCEPT, case.id)])
    elif mine and case.status != Status.CLOSED:
        rows.append([on_case(_("staff.refer"), CaseAction.REFER, case.id)])
        if case.status != Status.IN_PROGRESS:
            rows.append([on_case(_("staff.in_progress"), CaseAction.PROGRESS, case.id)])
        if case.relay_open:
            rows.append([on_case(_("staff.write"), CaseAction.WRITE, case.id)])
        rows.append([on_case(_("staff.victim_status"), CaseAction.VICTIM_STATUS, case.id)])
        rows.append([on_case(_("staff.close"), CaseAction.CLOSE, case.id)])
    if reassign:
        rows.append([on_case(_("access.reassign"), CaseAction.REASSIGN, case.id)])
    if break_glass:
        rows.append([on_case(_("access.break_glass"), CaseAction.BREAK_GLASS, case.id)])
    rows.append([button(_("staff.list"), Cases(action=CaseAction.LIST))])
    return markup(*rows)


def card(card: CaseCard) -> InlineKeyboardMarkup:
    return case_actions(
        card.summary, card.owner_is_me, break_glass=card.may_break_glass, reassign=card.may_reassign
    )


def colleagues(case_id: int, choices: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    """Coordinators to hand the case to: (user id, label)."""
    rows = [
        [on_case(label[:LABEL_LIMIT], CaseAction.REASSIGN_TO, case_id, str(uid))]
        for uid, label in choices[:CHOICES_SHOWN]
    ]
    return markup(*rows, back_to_card_row(case_id))


def break_glass_cancel(case_id: int) -> InlineKeyboardMarkup:
    return markup([on_case(_("request.cancel"), CaseAction.OPEN, case_id)])


def organisations(case_id: int, orgs: list[OrganisationView]) -> InlineKeyboardMarkup:
    rows = [
        [on_case(o.name[:LABEL_LIMIT], CaseAction.REFER_TO, case_id, str(o.id))] for o in orgs[:CHOICES_SHOWN]
    ]
    return markup(*rows, back_to_card_row(case_id))


def outcomes(case_id: int) -> InlineKeyboardMarkup:
    rows = [[on_case(_(f"outcome.{o.value}"), CaseAction.CLOSE_WITH, case_id, o.value)] for o in Outcome]
    return markup(*rows, back_to_card_row(case_id))


def victim_status(case_id: int) -> InlineKeyboardMarkup:
    rows = [
        [on_case(_(f"victim_status.{s}"), CaseAction.VICTIM_STATUS_SET, case_id, s)]
        for s in VICTIM_STATUS_STEPS
    ]
    return markup(*rows, back_to_card_row(case_id))


def case_list(cases: list[CaseSummary], page: int, pages: int, status: str) -> InlineKeyboardMarkup:
    def listing(label: str, value: str, at: int = 0) -> InlineKeyboardButton:
        return button(label, Cases(action=CaseAction.LIST, value=value, page=at))

    rows = [
        [
            on_case(
                ("⏰ " if c.overdue else "") + f"{c.code[:4]}-{c.code[4:]} · {_(f'status.{c.status.value}')}",
                CaseAction.OPEN,
                c.id,
            )
        ]
        for c in cases
    ]
    nav = []
    if page > 0:
        nav.append(listing(_("button.prev"), status, page - 1))
    if page + 1 < pages:
        nav.append(listing(_("button.next"), status, page + 1))
    filters = [
        listing(("• " if status == s else "") + _(f"filter.{s or 'open'}"), s)
        for s in ("", Status.NEW.value, Status.CLOSED.value)
    ]
    return markup(*rows, nav, filters, back_to_menu_row())


def stop_staff_writing(case_id: int) -> InlineKeyboardMarkup:
    return markup([on_case(_("relay.stop"), CaseAction.OPEN, case_id)])
