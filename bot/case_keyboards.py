"""Keyboards and callback data of the help request dialog and the case workflow.

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
    RequestStep,
)
from bot.keyboards import NEED_CODES, back_to_menu_row, button, per_locale
from bot.services.cases import AGE_GROUPS, SEXES, CaseSummary, Outcome, Situation, Status
from bot.services.directory import Directory, Oblast
from bot.services.places import OUTSIDE
from bot.services.staff import OrganisationView

# A forged id or page out of range does not even parse: the press falls to the stale-button answer.
DECLINE_REASONS = ("not_our_profile", "no_capacity", "outside_area", "other")
VICTIM_STATUS_STEPS = ("applied", "granted", "refused")


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


def _pairs(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def cancel_row() -> list[InlineKeyboardButton]:
    return [button(_("request.cancel"), RequestStep(step="cancel"))]


def nav_row() -> list[InlineKeyboardButton]:
    """Under every step of the request: back to the previous step (answers kept), or drop it all."""
    return [
        button(_("request.back"), RequestStep(step="back")),
        button(_("request.cancel"), RequestStep(step="cancel")),
    ]


def _mark(label: str, current: bool) -> str:
    """The answer already given is marked, so that going back shows what was chosen."""
    return "✓ " + label if current else label


# --- the request dialog ------------------------------------------------------------------------
# Answers are kept in the dialog's data; `current` is the one given so far (None: not answered yet).
def situations(current: str | None) -> InlineKeyboardMarkup:
    return _markup(
        *[
            [button(_mark(_(f"situation.{s.value}"), s.value == current), RequestStep(step="sit", v=s.value))]
            for s in Situation
        ],
        nav_row(),
    )


def _outside_rows(current: str | None) -> list[list[InlineKeyboardButton]]:
    """Another oblast, abroad, rather not say: stored as the oblast (bot/services/places.py)."""
    return [
        [button(_mark(_(f"place.button.{code}"), code == current), RequestStep(step="obl", v=code))]
        for code in OUTSIDE
    ]


def oblasts(oblast_list: tuple[Oblast, ...], lang: str, current: str | None) -> InlineKeyboardMarkup:
    rows = [
        [button(_mark(o.name.get(lang), o.id == current), RequestStep(step="obl", v=o.id))]
        for o in oblast_list
    ]
    return _markup(*rows, *_outside_rows(current), nav_row())


def districts(
    oblast: Oblast, lang: str, current: str | None, *, outside: str | None = None, with_outside: bool = False
) -> InlineKeyboardMarkup:
    """`with_outside`: the oblast step is skipped (one oblast in the directory), so its other choices
    are offered here."""
    items = [
        button(_mark(d.name.get(lang), d.id == current), RequestStep(step="dis", v=d.id))
        for d in oblast.districts
    ]
    unknown = [button(_mark(_("request.district_unknown"), current == "*"), RequestStep(step="dis", v="*"))]
    extra = _outside_rows(outside) if with_outside else []
    return _markup(*_pairs(items), unknown, *extra, nav_row())


def communities(
    directory: Directory, district_id: str, lang: str, current: str | None
) -> InlineKeyboardMarkup:
    district = directory.district(district_id)
    assert district is not None
    items = [
        button(_mark(c.name.get(lang), c.id == current), RequestStep(step="com", v=str(i)))
        for i, c in enumerate(district.communities)
    ]
    whole = [button(_mark(_("where.whole_district"), current == "*"), RequestStep(step="com", v="*"))]
    return _markup(*_pairs(items), whole, nav_row())


def urgency(current: bool | None) -> InlineKeyboardMarkup:
    return _markup(
        [button(_mark(_("request.urgent_yes"), current is True), RequestStep(step="urg", v="1"))],
        [button(_mark(_("request.urgent_no"), current is False), RequestStep(step="urg", v="0"))],
        nav_row(),
    )


def contact(current: str | None) -> InlineKeyboardMarkup:
    return _markup(
        [button(_mark(_("request.contact_bot"), current == "bot"), RequestStep(step="contact", v="bot"))],
        [
            button(
                _mark(_("request.contact_phone"), current == "phone"), RequestStep(step="contact", v="phone")
            )
        ],
        nav_row(),
    )


def phone(kept: str | None) -> InlineKeyboardMarkup:
    """While a number is typed; one already given can be kept in one tap."""
    keep = (
        [button("✓ " + _("request.keep_phone").format(phone=kept), RequestStep(step="phone_keep"))]
        if kept
        else []
    )
    return _markup(keep, nav_row())


CONSENTS = ("all", "orgs", "none")  # to organisations and the police / organisations only / nobody yet


def consent(current: str | None) -> InlineKeyboardMarkup:
    return _markup(
        *[
            [button(_mark(_(f"request.consent.{c}"), c == current), RequestStep(step="consent", v=c))]
            for c in CONSENTS
        ],
        nav_row(),
    )


REVIEW_ANSWERS = ("situation", "place", "urgency", "contact", "consent")
REVIEW_ADDITIONS = ("needs", "description", "sex", "age")


def review(data: dict[str, object]) -> InlineKeyboardMarkup:
    """Send; change any answer in one tap; the optional additions (➕ until given, then ✏️)."""
    answers = [button("✏️ " + _(f"request.change.{a}"), RequestStep(step="edit", v=a)) for a in REVIEW_ANSWERS]
    given = {
        "needs": bool(data.get("needs")),
        "description": bool(data.get("description")),
        "sex": data.get("sex") is not None,
        "age": data.get("age_group") is not None,
    }
    additions = [
        button(("✏️ " if given[a] else "➕ ") + _(f"request.change.{a}"), RequestStep(step="edit", v=a))
        for a in REVIEW_ADDITIONS
    ]
    return _markup(
        [button(_("request.send"), RequestStep(step="send"))],
        *_pairs(answers),
        *_pairs(additions),
        nav_row(),
    )


def needs(chosen: list[str]) -> InlineKeyboardMarkup:
    items = [
        button(
            ("✅ " if need.value in chosen else "") + _(f"need.{need.value}"),
            RequestStep(step="need", v=code),
        )
        for need, code in NEED_CODES.items()
    ]
    return _markup(
        *_pairs(items), [button(_("request.needs_done"), RequestStep(step="needs_done"))], nav_row()
    )


def description(has: bool) -> InlineKeyboardMarkup:
    clear = [button(_("request.description_clear"), RequestStep(step="desc_clear"))] if has else []
    return _markup(clear, nav_row())


def sex(current: str | None) -> InlineKeyboardMarkup:
    return _markup(
        [button(_mark(_(f"sex.{s}"), s == current), RequestStep(step="sex", v=s)) for s in SEXES],
        [button(_mark(_("request.prefer_not"), current == "-"), RequestStep(step="sex", v="-"))],
        nav_row(),
    )


def age(current: str | None) -> InlineKeyboardMarkup:
    return _markup(
        [button(_mark(a, a == current), RequestStep(step="age", v=a)) for a in AGE_GROUPS],
        [button(_mark(_("request.prefer_not"), current == "-"), RequestStep(step="age", v="-"))],
        nav_row(),
    )


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
