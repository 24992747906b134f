"""Notices about cases and referrals: to the area's coordinators, a case's owner, the organisations a
referral reached, and the person who asked for help. Each builder runs in the recipient's locale."""

from __future__ import annotations

from datetime import datetime
from html import escape

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import callbacks, render
from bot.notices import keyboards as notice_keyboards
from bot.notices.delivery import Composed, relayed, tell
from bot.notices.outgoing import Outgoing, Queue
from bot.services.cases import CaseCard, CaseService, CaseSummary, ReferralThread, ReferralView
from bot.services.directory import Directory
from bot.services.users import UserService


def _oblast_name(directory: Directory, oblast: str, lang: str) -> str:
    found = directory.oblast(oblast)
    return found.name.get(lang) if found else oblast


# --- to coordinators --------------------------------------------------------------------------------
def new_case(
    case: CaseSummary, directory: Directory, lang: str, kind: str, *, with_buttons: bool
) -> Composed:
    """A case to take (new, reminded, escalated, released): the minimum data, with buttons to accept or
    open it while it is new (admins, who cannot take cases, get it without)."""
    text = _(f"notice.{kind}") + "\n\n" + render.case_summary(case, directory, lang)
    markup = notice_keyboards.new_case_notice(case.id) if with_buttons and case.status == "new" else None
    return text, markup


async def notify_new_case(
    outbox: Queue,
    i18n: I18n,
    users: UserService,
    recipients: list[int],
    case: CaseSummary,
    directory: Directory,
    kind: str = "case.new",
    *,
    with_buttons: bool = True,
) -> int:
    """Tell coordinators about a case (`kind`: case.new, case.remind, case.escalate, case.released)."""
    return await tell(
        outbox,
        users,
        i18n,
        recipients,
        f"{kind}:{case.id}",
        lambda lang: new_case(case, directory, lang, kind, with_buttons=with_buttons),
    )


async def notify_area(
    outbox: Queue,
    i18n: I18n,
    users: UserService,
    cases: CaseService,
    directory: Directory,
    admin_ids: frozenset[int],
    summaries: list[CaseSummary],
    kind: str,
) -> int:
    """The coordinators of each case's area are asked to take it (`kind`: case.new, or case.released when
    its coordinator was removed); when nobody covers the area, the admins hear of it at once (they
    cannot take it, but must find someone)."""
    queued = 0
    for case in summaries:
        recipients = await cases.coordinators_for(case.oblast, case.district)
        if recipients:
            queued += await notify_new_case(outbox, i18n, users, recipients, case, directory, kind)
        else:
            queued += await notify_new_case(
                outbox, i18n, users, sorted(admin_ids), case, directory, kind, with_buttons=False
            )
    return queued


def reassigned_to_you(case: CaseSummary, directory: Directory, lang: str, actor: int) -> Composed:
    oblast = _oblast_name(directory, case.oblast, lang)
    text = _("access.notice.reassigned_to_you").format(
        code=render.code(case.code), oblast=escape(oblast), actor=actor
    )
    text += "\n\n" + render.case_summary(case, directory, lang)
    opening = callbacks.Cases(action=callbacks.CaseAction.OPEN, id=case.id)
    return text, notice_keyboards.one_button(_("staff.open"), opening)


def reassigned_away(case: CaseSummary, directory: Directory, lang: str, actor: int, to: int) -> Composed:
    oblast = _oblast_name(directory, case.oblast, lang)
    text = _("access.notice.reassigned_away").format(
        code=render.code(case.code), oblast=escape(oblast), to=to, actor=actor
    )
    return text, None


def break_glass(card: CaseCard, directory: Directory, lang: str, actor: int, reason: str) -> Composed:
    """The case's owner hears who opened its content by break-glass, and why."""
    oblast = _oblast_name(directory, card.summary.oblast, lang)
    text = _("access.notice.break_glass").format(
        code=render.code(card.summary.code),
        oblast=escape(oblast),
        actor=actor,
        reason=escape(" ".join(reason.split())),
    )
    opening = callbacks.Cases(action=callbacks.CaseAction.OPEN, id=card.summary.id)
    return text, notice_keyboards.one_button(_("staff.open"), opening)


def earlier_message(
    recipient: int, purpose: str, case: CaseSummary, at: datetime, words: str | None, photo: str | None
) -> Outgoing:
    """What the person wrote while the request waited, to the coordinator who accepted it (`at` in the
    deployment's zone): each message whole, photos as photos."""
    header = _("relay.earlier").format(code=render.code(case.code), at=f"{at:%d.%m %H:%M}")
    return Outgoing(recipient, purpose, relayed(header, words), photo=photo, citizen=True)


def relay_to_staff(case: CaseSummary) -> Composed:
    """The header and buttons of a person's message passed on to the case's owner."""
    return _("relay.to_staff").format(code=render.code(case.code)), notice_keyboards.reply_to_citizen(case.id)


def chat_closed(case: CaseSummary) -> Composed:
    return _("relay.citizen_closed").format(code=render.code(case.code)), None


def chat_resumed(case: CaseSummary) -> Composed:
    return _("relay.citizen_resumed").format(code=render.code(case.code)), None


def case_withdrawn(case: CaseSummary) -> Composed:
    return _("notice.case.withdrawn").format(code=render.code(case.code)), None


# --- to organisations and back ----------------------------------------------------------------------
def _referral(key: str, case: CaseSummary, directory: Directory, lang: str) -> Composed:
    text = _(key) + "\n\n" + render.case_summary(case, directory, lang)
    listing = callbacks.Referrals(action=callbacks.ReferralAction.LIST)
    return text, notice_keyboards.one_button(_("referral.list"), listing)


def referral_new(case: CaseSummary, directory: Directory, lang: str) -> Composed:
    return _referral("notice.referral.new", case, directory, lang)


def referral_reminder(case: CaseSummary, directory: Directory, lang: str) -> Composed:
    """A referral unanswered past its deadline, to the organisation."""
    return _referral("notice.referral.remind", case, directory, lang)


def referral_answer(view: ReferralView, decline_reason: str | None) -> Composed:
    """The organisation's answer, to the case's owner (`decline_reason` None: accepted)."""
    said = {"organisation": escape(view.organisation), "code": render.code(view.case.code)}
    if decline_reason is None:
        note = _("notice.referral.accepted").format(**said)
    else:
        reason = _(f"referrals.reason.{decline_reason}")
        note = _("notice.referral.declined").format(reason=reason, **said)
    return note, notice_keyboards.referral_answered(view.case.id, view.id)


def referral_message(thread: ReferralThread, text: str, *, to_organisation: bool) -> Composed:
    """One message between a case's owner and the organisation of a referral, whole (the service kept
    it within Telegram's limit)."""
    code = render.code(thread.case.code)
    if to_organisation:
        header = _("referrals.from_coordinator").format(code=code)
        markup = notice_keyboards.reply_to_coordinator(thread.referral_id)
    else:
        header = _("referrals.from_organisation").format(organisation=escape(thread.organisation), code=code)
        markup = notice_keyboards.referral_answered(thread.case.id, thread.referral_id)
    return header + "\n\n" + escape(text), markup


def referral_revoked(case: CaseSummary) -> Composed:
    """The person behind a referral used /forget: the organisation is asked to delete what it received."""
    return _("forget.notice.referral_revoked").format(code=render.code(case.code)), None


# --- to the person who asked ------------------------------------------------------------------------
def citizen_accepted(case: CaseSummary) -> Composed:
    text = _("notice.citizen.accepted").format(code=render.code(case.code))
    text += "\n" + "\n".join(render.conversation_lines(case))
    return text, notice_keyboards.my_case(case)


def citizen_status(case: CaseSummary) -> Composed:
    return render.citizen_status(case), notice_keyboards.my_case(case)


def relay_to_citizen(case: CaseSummary) -> Composed:
    """The header and buttons of the owner's message passed on to the person."""
    return _("relay.to_citizen").format(code=render.code(case.code)), notice_keyboards.my_case(case)
