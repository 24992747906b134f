"""Keyboards and callback data of the help request dialog and the case workflow.

Callback data is never trusted: every id in it is looked up again and access is checked by the
services (cases.py, staff.py) from the person's roles, not from the button.
"""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from bot.keyboards import NEED_CODES, back_to_menu_row, button, per_locale
from bot.services.cases import AGE_GROUPS, SEXES, CaseSummary, Outcome, Situation, Status
from bot.services.directory import Directory, Oblast
from bot.services.places import OUTSIDE
from bot.services.staff import OrganisationView

# A forged id or page out of range does not even parse: the press falls to the stale-button answer.
DbId = Annotated[int, Field(ge=0, lt=2**31)]
Page = Annotated[int, Field(ge=0, lt=10_000)]


class Rq(CallbackData, prefix="rq"):
    """A choice in the help request dialog: step and value."""

    step: str
    v: str = ""


class Cz(CallbackData, prefix="cz"):
    """A citizen's action on their own case."""

    # view, write, endchat (asks), endchat_yes, resume, withdraw, withdraw_yes, code, list;
    # send_draft (the message `m` typed at the menu goes to this case)
    a: str
    id: DbId = 0
    m: DbId = 0


class Cs(CallbackData, prefix="cs"):
    """A coordinator's action on a case."""

    # open, accept, refer, refer_to, progress, close, close_with, write, vs, vs_set, list;
    # bg (break-glass: asks for the reason), reassign (the choice), reassign_to (v: the user id)
    a: str
    id: DbId = 0
    v: str = ""
    p: Page = 0


class Rf(CallbackData, prefix="rf"):
    """An organisation's action on a referral."""

    a: str  # open, accept, decline, decline_with, list
    id: DbId = 0
    v: str = ""
    p: Page = 0


class Rm(CallbackData, prefix="rm"):
    """Writing between a case's coordinator and the organisation a referral went to."""

    a: str  # org (the coordinator writes to the organisation), coord (the organisation answers), stop
    id: DbId = 0  # the referral


class EvStart(CallbackData, prefix="ev"):
    """The way into event logging (handled in handlers/specialist_events.py, same prefix there)."""

    a: str
    v: str = ""


class PrStart(CallbackData, prefix="pr"):
    """Monthly police notifications (handled in handlers/police_reports.py, same prefix there)."""

    a: str
    v: str = ""


QuarterKey = Annotated[str, Field(pattern=r"^(20\d\d-Q[1-4])?$")]


class Rc(CallbackData, prefix="rc"):
    """The quarterly reconciliation with the police (handled in handlers/reconciliation.py)."""

    a: str  # view, enter, keep, explain, confirm, save, history, cancel
    q: QuarterKey = ""


class Dc(CallbackData, prefix="dc"):
    """A coordinator's check of a directory entry (handled in handlers/directory_checks.py): a = ok, fix,
    wd, wdy (withdraw), rs (restore), open, keep, nophone, noaddr, save, cancel; e = the entry id."""

    a: str
    e: str = ""


DECLINE_REASONS = ("not_our_profile", "no_capacity", "outside_area", "other")
VICTIM_STATUS_STEPS = ("applied", "granted", "refused")


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


def _pairs(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def cancel_row() -> list[InlineKeyboardButton]:
    return [button(_("request.cancel"), Rq(step="cancel"))]


def nav_row() -> list[InlineKeyboardButton]:
    """Under every step of the request: back to the previous step (answers kept), or drop it all."""
    return [button(_("request.back"), Rq(step="back")), button(_("request.cancel"), Rq(step="cancel"))]


def _mark(label: str, current: bool) -> str:
    """The answer already given is marked, so that going back shows what was chosen."""
    return "✓ " + label if current else label


# --- the request dialog ------------------------------------------------------------------------
# Answers are kept in the dialog's data; `current` is the one given so far (None: not answered yet).
def situations(current: str | None) -> InlineKeyboardMarkup:
    return _markup(
        *[
            [button(_mark(_(f"situation.{s.value}"), s.value == current), Rq(step="sit", v=s.value))]
            for s in Situation
        ],
        nav_row(),
    )


def _outside_rows(current: str | None) -> list[list[InlineKeyboardButton]]:
    """Another oblast, abroad, rather not say: stored as the oblast (bot/services/places.py)."""
    return [
        [button(_mark(_(f"place.button.{code}"), code == current), Rq(step="obl", v=code))]
        for code in OUTSIDE
    ]


def oblasts(oblast_list: tuple[Oblast, ...], lang: str, current: str | None) -> InlineKeyboardMarkup:
    rows = [[button(_mark(o.name.get(lang), o.id == current), Rq(step="obl", v=o.id))] for o in oblast_list]
    return _markup(*rows, *_outside_rows(current), nav_row())


def districts(
    oblast: Oblast, lang: str, current: str | None, *, outside: str | None = None, with_outside: bool = False
) -> InlineKeyboardMarkup:
    """`with_outside`: the oblast step is skipped (one oblast in the directory), so its other choices
    are offered here."""
    items = [
        button(_mark(d.name.get(lang), d.id == current), Rq(step="dis", v=d.id)) for d in oblast.districts
    ]
    unknown = [button(_mark(_("request.district_unknown"), current == "*"), Rq(step="dis", v="*"))]
    extra = _outside_rows(outside) if with_outside else []
    return _markup(*_pairs(items), unknown, *extra, nav_row())


def communities(
    directory: Directory, district_id: str, lang: str, current: str | None
) -> InlineKeyboardMarkup:
    district = directory.district(district_id)
    assert district is not None
    items = [
        button(_mark(c.name.get(lang), c.id == current), Rq(step="com", v=str(i)))
        for i, c in enumerate(district.communities)
    ]
    whole = [button(_mark(_("where.whole_district"), current == "*"), Rq(step="com", v="*"))]
    return _markup(*_pairs(items), whole, nav_row())


def urgency(current: bool | None) -> InlineKeyboardMarkup:
    return _markup(
        [button(_mark(_("request.urgent_yes"), current is True), Rq(step="urg", v="1"))],
        [button(_mark(_("request.urgent_no"), current is False), Rq(step="urg", v="0"))],
        nav_row(),
    )


def contact(current: str | None) -> InlineKeyboardMarkup:
    return _markup(
        [button(_mark(_("request.contact_bot"), current == "bot"), Rq(step="contact", v="bot"))],
        [button(_mark(_("request.contact_phone"), current == "phone"), Rq(step="contact", v="phone"))],
        nav_row(),
    )


def phone(kept: str | None) -> InlineKeyboardMarkup:
    """While a number is typed; one already given can be kept in one tap."""
    keep = [button("✓ " + _("request.keep_phone").format(phone=kept), Rq(step="phone_keep"))] if kept else []
    return _markup(keep, nav_row())


CONSENTS = ("all", "orgs", "none")  # to organisations and the police / organisations only / nobody yet


def consent(current: str | None) -> InlineKeyboardMarkup:
    return _markup(
        *[
            [button(_mark(_(f"request.consent.{c}"), c == current), Rq(step="consent", v=c))]
            for c in CONSENTS
        ],
        nav_row(),
    )


REVIEW_ANSWERS = ("situation", "place", "urgency", "contact", "consent")
REVIEW_ADDITIONS = ("needs", "description", "sex", "age")


def review(data: dict[str, object]) -> InlineKeyboardMarkup:
    """Send; change any answer in one tap; the optional additions (➕ until given, then ✏️)."""
    answers = [button("✏️ " + _(f"request.change.{a}"), Rq(step="edit", v=a)) for a in REVIEW_ANSWERS]
    given = {
        "needs": bool(data.get("needs")),
        "description": bool(data.get("description")),
        "sex": data.get("sex") is not None,
        "age": data.get("age_group") is not None,
    }
    additions = [
        button(("✏️ " if given[a] else "➕ ") + _(f"request.change.{a}"), Rq(step="edit", v=a))
        for a in REVIEW_ADDITIONS
    ]
    return _markup(
        [button(_("request.send"), Rq(step="send"))],
        *_pairs(answers),
        *_pairs(additions),
        nav_row(),
    )


def needs(chosen: list[str]) -> InlineKeyboardMarkup:
    items = [
        button(("✅ " if need.value in chosen else "") + _(f"need.{need.value}"), Rq(step="need", v=code))
        for need, code in NEED_CODES.items()
    ]
    return _markup(*_pairs(items), [button(_("request.needs_done"), Rq(step="needs_done"))], nav_row())


def description(has: bool) -> InlineKeyboardMarkup:
    clear = [button(_("request.description_clear"), Rq(step="desc_clear"))] if has else []
    return _markup(clear, nav_row())


def sex(current: str | None) -> InlineKeyboardMarkup:
    return _markup(
        [button(_mark(_(f"sex.{s}"), s == current), Rq(step="sex", v=s)) for s in SEXES],
        [button(_mark(_("request.prefer_not"), current == "-"), Rq(step="sex", v="-"))],
        nav_row(),
    )


def age(current: str | None) -> InlineKeyboardMarkup:
    return _markup(
        [button(_mark(a, a == current), Rq(step="age", v=a)) for a in AGE_GROUPS],
        [button(_mark(_("request.prefer_not"), current == "-"), Rq(step="age", v="-"))],
        nav_row(),
    )


# --- the citizen's own case --------------------------------------------------------------------
def my_cases(cases: list[CaseSummary]) -> InlineKeyboardMarkup:
    rows = [
        [button(f"{c.code[:4]}-{c.code[4:]} · {_(f'status.{c.status.value}')}", Cz(a="view", id=c.id))]
        for c in cases
    ]
    return _markup(*rows, [button(_("mycase.enter_code"), Cz(a="code"))], back_to_menu_row())


def my_case(case: CaseSummary) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if case.status != Status.CLOSED:
        if case.relay_open:
            # Before anyone accepted, what the person writes is added to the request, for whoever takes it.
            label = _("mycase.add") if case.status == Status.NEW else _("mycase.write")
            rows.append([button(label, Cz(a="write", id=case.id))])
            rows.append([button(_("mycase.end_chat"), Cz(a="endchat", id=case.id))])
        else:
            rows.append([button(_("mycase.resume_chat"), Cz(a="resume", id=case.id))])
        rows.append([button(_("mycase.withdraw"), Cz(a="withdraw", id=case.id))])
    rows.append([button(_("menu.my_request"), Cz(a="list"))])
    rows.append(back_to_menu_row())
    return _markup(*rows)


def withdraw_confirm(case_id: int) -> InlineKeyboardMarkup:
    return _markup(
        [button(_("mycase.withdraw_yes"), Cz(a="withdraw_yes", id=case_id))],
        [button(_("mycase.withdraw_no"), Cz(a="view", id=case_id))],
    )


def end_chat_confirm(case_id: int) -> InlineKeyboardMarkup:
    return _markup(
        [button(_("mycase.end_chat_yes"), Cz(a="endchat_yes", id=case_id))],
        [button(_("mycase.end_chat_no"), Cz(a="view", id=case_id))],
    )


def stop_writing(case_id: int) -> InlineKeyboardMarkup:
    return _markup([button(_("relay.back_to_request"), Cz(a="view", id=case_id))])


def send_draft(cases: list[CaseSummary], message_id: int) -> InlineKeyboardMarkup:
    """A message typed at the menu by someone with an open request: one tap sends that message there (a
    button per request when there are several), or the menu."""
    if len(cases) == 1:
        # Before anyone accepted there is no coordinator to send it to: it is added to the request.
        label = _("draft.add") if cases[0].status == Status.NEW else _("draft.send")
        rows = [[button(label, Cz(a="send_draft", id=cases[0].id, m=message_id))]]
    else:
        rows = [
            [
                button(
                    _("draft.send_to").format(code=f"{c.code[:4]}-{c.code[4:]}"),
                    Cz(a="send_draft", id=c.id, m=message_id),
                )
            ]
            for c in cases
        ]
    return _markup(*rows, back_to_menu_row())


# --- staff -------------------------------------------------------------------------------------
def one_button(label: str, data: CallbackData) -> InlineKeyboardMarkup:
    return _markup([button(label, data)])


def new_case_notice(case_id: int) -> InlineKeyboardMarkup:
    return _markup(
        [
            button(_("staff.accept"), Cs(a="accept", id=case_id)),
            button(_("staff.open"), Cs(a="open", id=case_id)),
        ]
    )


def case_actions(
    case: CaseSummary, mine: bool, *, break_glass: bool = False, reassign: bool = False
) -> InlineKeyboardMarkup:
    """The buttons of a case card: the owner's work, or accepting a new case; for an oblast-wide
    coordinator, handing the case over and break-glass (what the service allows: `CaseCard.may_*`)."""
    rows: list[list[InlineKeyboardButton]] = []
    if case.status == Status.NEW:
        rows.append([button(_("staff.accept"), Cs(a="accept", id=case.id))])
    elif mine and case.status != Status.CLOSED:
        rows.append([button(_("staff.refer"), Cs(a="refer", id=case.id))])
        if case.status != Status.IN_PROGRESS:
            rows.append([button(_("staff.in_progress"), Cs(a="progress", id=case.id))])
        if case.relay_open:
            rows.append([button(_("staff.write"), Cs(a="write", id=case.id))])
        rows.append([button(_("staff.victim_status"), Cs(a="vs", id=case.id))])
        rows.append([button(_("staff.close"), Cs(a="close", id=case.id))])
    if reassign:
        rows.append([button(_("access.reassign"), Cs(a="reassign", id=case.id))])
    if break_glass:
        rows.append([button(_("access.break_glass"), Cs(a="bg", id=case.id))])
    rows.append([button(_("staff.list"), Cs(a="list"))])
    return _markup(*rows)


def colleagues(case_id: int, choices: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    """Coordinators to hand the case to: (user id, label)."""
    rows = [[button(label[:60], Cs(a="reassign_to", id=case_id, v=str(uid)))] for uid, label in choices[:30]]
    return _markup(*rows, [button(_("button.back"), Cs(a="open", id=case_id))])


def break_glass_cancel(case_id: int) -> InlineKeyboardMarkup:
    return _markup([button(_("request.cancel"), Cs(a="open", id=case_id))])


def organisations(case_id: int, orgs: list[OrganisationView]) -> InlineKeyboardMarkup:
    rows = [[button(o.name[:60], Cs(a="refer_to", id=case_id, v=str(o.id)))] for o in orgs[:30]]
    return _markup(*rows, [button(_("button.back"), Cs(a="open", id=case_id))])


def outcomes(case_id: int) -> InlineKeyboardMarkup:
    rows = [[button(_(f"outcome.{o.value}"), Cs(a="close_with", id=case_id, v=o.value))] for o in Outcome]
    return _markup(*rows, [button(_("button.back"), Cs(a="open", id=case_id))])


def victim_status(case_id: int) -> InlineKeyboardMarkup:
    rows = [[button(_(f"victim_status.{s}"), Cs(a="vs_set", id=case_id, v=s))] for s in VICTIM_STATUS_STEPS]
    return _markup(*rows, [button(_("button.back"), Cs(a="open", id=case_id))])


def case_list(cases: list[CaseSummary], page: int, pages: int, status: str) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                ("⏰ " if c.overdue else "") + f"{c.code[:4]}-{c.code[4:]} · {_(f'status.{c.status.value}')}",
                Cs(a="open", id=c.id),
            )
        ]
        for c in cases
    ]
    nav = []
    if page > 0:
        nav.append(button(_("button.prev"), Cs(a="list", v=status, p=page - 1)))
    if page + 1 < pages:
        nav.append(button(_("button.next"), Cs(a="list", v=status, p=page + 1)))
    filters = [
        button(("• " if status == s else "") + _(f"filter.{s or 'open'}"), Cs(a="list", v=s))
        for s in ("", Status.NEW.value, Status.CLOSED.value)
    ]
    return _markup(*rows, nav, filters, back_to_menu_row())


def referral_list(items: list[tuple[int, str]], page: int, pages: int) -> InlineKeyboardMarkup:
    rows = [[button(label, Rf(a="open", id=rid))] for rid, label in items]
    nav = []
    if page > 0:
        nav.append(button(_("button.prev"), Rf(a="list", p=page - 1)))
    if page + 1 < pages:
        nav.append(button(_("button.next"), Rf(a="list", p=page + 1)))
    return _markup(*rows, nav, back_to_menu_row())


def referral_actions(referral_id: int, pending: bool) -> InlineKeyboardMarkup:
    rows = []
    if pending:
        rows.append(
            [
                button(_("referral.accept"), Rf(a="accept", id=referral_id)),
                button(_("referral.decline"), Rf(a="decline", id=referral_id)),
            ]
        )
    rows.append([button(_("referral.list"), Rf(a="list"))])
    return _markup(*rows)


def decline_reasons(referral_id: int) -> InlineKeyboardMarkup:
    rows = [[button(_(f"decline.{r}"), Rf(a="decline_with", id=referral_id, v=r))] for r in DECLINE_REASONS]
    return _markup(*rows, [button(_("button.back"), Rf(a="open", id=referral_id))])


def reply_to_citizen(case_id: int) -> InlineKeyboardMarkup:
    return _markup(
        [
            button(_("staff.reply"), Cs(a="write", id=case_id)),
            button(_("staff.open"), Cs(a="open", id=case_id)),
        ]
    )


def referral_answered(case_id: int, referral_id: int) -> InlineKeyboardMarkup:
    """Under an organisation's answer to a referral: writing goes to that organisation, not the person."""
    return _markup(
        [button(_("referrals.write_to_organisation"), Rm(a="org", id=referral_id))],
        [button(_("staff.open"), Cs(a="open", id=case_id))],
    )


def reply_to_coordinator(referral_id: int) -> InlineKeyboardMarkup:
    return _markup([button(_("referrals.reply_to_coordinator"), Rm(a="coord", id=referral_id))])


@per_locale
def stop_referral_writing() -> InlineKeyboardMarkup:
    return _markup([button(_("referrals.stop"), Rm(a="stop"))])


def stop_staff_writing(case_id: int) -> InlineKeyboardMarkup:
    return _markup([button(_("relay.stop"), Cs(a="open", id=case_id))])


@per_locale
def workspace() -> InlineKeyboardMarkup:
    return _markup(
        [button(_("staff.cases"), Cs(a="list"))],
        [button(_("staff.referrals"), Rf(a="list"))],
        [button(_("event.log"), EvStart(a="start")), button(_("event.mine"), EvStart(a="mine"))],
        [button(_("event.scope"), EvStart(a="scope"))],
        [
            button(_("police.file"), PrStart(a="start")),
            button(_("police.compliance"), PrStart(a="compliance")),
        ],
        [button(_("report.button"), Rp(a="s"))],
        [button(_("reconcile.menu"), Rc(a="view"))],
        back_to_menu_row(),
    )


class Rp(CallbackData, prefix="rp"):
    """Reports (handled in handlers/reports.py): action, programme, year, kind, district, file format.

    Kinds travel as one letter and districts as an index into the oblast's list, to stay within
    Telegram's 64 bytes with the longest programme id."""

    a: Annotated[str, Field(pattern=r"^[a-z]{1,2}$")]  # s(tart) p(rogramme) y(ear) k(ind) r(eport) f(ile)
    p: Annotated[str, Field(pattern=r"^[a-z0-9-]{0,40}$")] = ""
    y: Annotated[int, Field(ge=0, le=2100)] = 0
    k: Annotated[str, Field(pattern=r"^[a-z]?$")] = ""
    d: Annotated[int, Field(ge=-1, lt=100)] = -1  # -1: the whole oblast
    f: Annotated[str, Field(pattern=r"^(|xlsx|csv)$")] = ""


def directory_check(entry_id: str) -> InlineKeyboardMarkup:
    """Under a directory entry sent to be checked: still correct, correct it, or withdraw it."""
    return _markup(
        [button(_("directory.button.ok"), Dc(a="ok", e=entry_id))],
        [
            button(_("directory.button.fix"), Dc(a="fix", e=entry_id)),
            button(_("directory.button.withdraw"), Dc(a="wd", e=entry_id)),
        ],
    )
