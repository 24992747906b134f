"""The callback data of every button the bot shows: the wire format between a keyboard and the handler that
takes its press, one class per flow, one prefix per class (tests/test_callbacks.py).

They live together, not beside each flow's handlers, because the notices (bot/notices/, sent by the
scheduler too) put the flows' buttons in messages and may not import handlers (docs/ARCHITECTURE.md).
Callback data can be forged by any client: a value that does not parse makes the press a stale button, and
every id is looked up and every access checked again by the services, never trusted from the button.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# A forged id or page out of range does not even parse: the press falls to the stale-button answer.
DbId = Annotated[int, Field(ge=0, lt=2**31)]
Page = Annotated[int, Field(ge=0, lt=10_000)]
QuarterKey = Annotated[str, Field(pattern=r"^(20\d\d-Q[1-4])?$")]


# --- The citizen menu and its flows ---
class MenuItem(StrEnum):
    MAIN = "main"
    DANGER = "danger"
    HOTLINES = "hotlines"
    REQUEST = "request"
    MY_REQUESTS = "mycase"
    WHERE = "where"
    ADVICE = "advice"
    CHECK = "check"
    PRIVACY = "privacy"
    LANGUAGE = "language"
    STAFF = "staff"


class Menu(CallbackData, prefix="m"):
    to: MenuItem  # the item of the main menu (or a button leading to one)


class Language(CallbackData, prefix="lang"):
    code: str


class Where(CallbackData, prefix="w"):
    """One step of "where to get help": empty fields are still to be chosen."""

    oblast: str = ""  # oblast id
    district: str = ""  # district id, or WHOLE
    community: str = ""  # community index within the district, or WHOLE
    need: str = ""  # need code
    page: int = Field(default=0, ge=0, lt=10_000)  # results page


class Advice(CallbackData, prefix="adv"):
    topic: str


class SelfCheck(CallbackData, prefix="sc"):
    """An answer in the self-check. The answers so far travel in the button (bit i = "yes" to
    question i), so nothing about them is stored anywhere, and the check survives a restart."""

    question: int  # index of the question answered
    answers: int  # answers to the earlier questions
    yes: bool


class PrivacyAction(StrEnum):
    CLEAR = "clear"
    FORGET = "forget"
    FORGET_YES = "forget_yes"
    # With open requests: withdraw them (and erase their content), or keep them open.
    FORGET_WITHDRAW = "forget_withdraw"
    FORGET_KEEP = "forget_keep"


class Privacy(CallbackData, prefix="pv"):
    action: PrivacyAction


# --- A help request and the citizen's own requests ---
class RequestAction(StrEnum):
    """What a button of the help request dialog does: answer a step, or move through the dialog."""

    # moving through the dialog
    CANCEL = "cancel"
    BACK = "back"
    EDIT = "edit"  # value: the answer to change (handlers/citizen/request/steps.py EDITABLE)
    SEND = "send"
    # the essentials; value: the answer
    SITUATION = "sit"
    OBLAST = "obl"  # an oblast id, or a place outside the oblasts (bot/services/places.py)
    DISTRICT = "dis"  # a district id, or WHOLE
    COMMUNITY = "com"  # the community's index within the district, or WHOLE
    URGENCY = "urg"  # "1" urgent, "0" not
    CONTACT = "contact"  # bot, phone
    PHONE_KEEP = "phone_keep"  # the number given before stays
    CONSENT = "consent"
    # the optional additions
    NEED = "need"  # a need code (bot.keyboards.NEED_CODES), toggled
    NEEDS_DONE = "needs_done"
    DESCRIPTION_CLEAR = "desc_clear"
    SEX = "sex"
    AGE = "age"


class RequestStep(CallbackData, prefix="rq"):
    """A button of the help request dialog: what it does and the answer it gives (handled in
    handlers/citizen/request/). An unknown step does not parse: the fallback answers a stale button."""

    step: RequestAction
    value: str = ""


class MyRequestAction(StrEnum):
    LIST = "list"
    VIEW = "view"
    CODE = "code"  # look a request up by its code
    WRITE = "write"
    END_CHAT = "endchat"  # asks first
    END_CHAT_YES = "endchat_yes"
    RESUME = "resume"
    WITHDRAW = "withdraw"  # asks first
    WITHDRAW_YES = "withdraw_yes"
    SEND_DRAFT = "send_draft"  # the message `draft` typed at the menu goes to this case


class MyRequests(CallbackData, prefix="cz"):
    """A citizen's action on their own case."""

    action: MyRequestAction
    id: DbId = 0
    draft: DbId = 0  # the id of the message typed at the menu (send_draft)


# --- Case work: coordinators and organisations ---
class CaseAction(StrEnum):
    """A coordinator's buttons on a case (handlers/staff/cases/)."""

    LIST = "list"  # value: the status filter ("" the open ones)
    OPEN = "open"
    ACCEPT = "accept"
    REFER = "refer"  # the organisations to refer to
    REFER_TO = "refer_to"  # value: the organisation id
    PROGRESS = "progress"
    CLOSE = "close"  # the outcomes to close with
    CLOSE_WITH = "close_with"  # value: the outcome
    VICTIM_STATUS = "vs"  # the steps of the victim status procedure
    VICTIM_STATUS_SET = "vs_set"  # value: the step (bot/services/cases.py VICTIM_STATUS_STEPS)
    WRITE = "write"  # to the person who asked
    BREAK_GLASS = "bg"  # asks for the reason
    REASSIGN = "reassign"  # the coordinators to hand the case to
    REASSIGN_TO = "reassign_to"  # value: the user id


class Cases(CallbackData, prefix="cs"):
    """A coordinator's action on a case."""

    action: CaseAction
    id: DbId = 0
    value: str = ""
    page: Page = 0


class ReferralAction(StrEnum):
    """An organisation's buttons on the referrals it received (handlers/staff/referrals/)."""

    LIST = "list"
    OPEN = "open"
    ACCEPT = "accept"
    DECLINE = "decline"  # the reasons to decline with
    DECLINE_WITH = "decline_with"  # value: the reason (bot/services/cases.py DECLINE_REASONS)


class Referrals(CallbackData, prefix="rf"):
    """An organisation's action on a referral."""

    action: ReferralAction
    id: DbId = 0
    value: str = ""
    page: Page = 0


class ReferralChatAction(StrEnum):
    TO_ORGANISATION = "org"  # the case's coordinator writes to the organisation
    TO_COORDINATOR = "coord"  # the organisation answers
    STOP = "stop"


class ReferralChat(CallbackData, prefix="rm"):
    """Writing between a case's coordinator and the organisation a referral went to."""

    action: ReferralChatAction
    id: DbId = 0  # the referral


# --- Events and police notifications ---
class EventAction(StrEnum):
    START = "start"
    CANCEL = "cancel"
    KIND = "kind"  # value: the event type
    SEARCH = "search"  # type words to find the measure
    MEASURE = "measure"  # value: the measure id
    DATE = "date"  # value: days ago ("0", "1"), or "other" (typed)
    DISTRICT = "district"  # value: the district id, or "*" (the whole oblast)
    BREAKDOWN = "breakdown"
    COST = "cost"
    FUNDING = "funding"  # value: the funding source
    ATTACH = "attach"
    SAVE = "save"
    MINE = "mine"  # the author's own events
    SCOPE = "scope"  # the events in a coordinator's area
    VIEW = "view"  # value: the event id (so are the three below)
    WITHDRAW = "withdraw"  # asks first
    WITHDRAW_YES = "withdraw_yes"
    FIX = "fix"


class Events(CallbackData, prefix="ev"):
    """Logging a programme event and the author's own events (handled in handlers/staff/events/)."""

    action: EventAction
    value: str = ""


class PoliceAction(StrEnum):
    # A specialist files the month for their organisation:
    START = "start"  # choose the month
    MONTH = "month"  # value: the month (YYYY-MM)
    CANCEL = "cancel"
    SIGNAL = "signal"  # add a signal: its kind, then the exploitation, the district, the description
    KIND = "kind"  # value: the signal's kind
    EXPLOITATION = "expl"  # value: the type of exploitation
    DISTRICT = "district"  # value: the district id, or "*" (the whole oblast)
    NIL = "nil"  # nothing detected
    SUBMIT = "submit"
    # The police liaison acknowledges the digest (value: "<oblast>|<month>"); coordinators see who filed
    # (value: the month).
    ACK = "ack"
    COMPLIANCE = "compliance"
    # The police liaison gets a past month's digest and letter again: the months (value: the oblast), then
    # one month's (value: "<oblast>|<month>").
    DIGESTS = "digests"
    DIGEST = "digest"


class PoliceReports(CallbackData, prefix="pr"):
    """Monthly police notifications (handled in handlers/staff/police/)."""

    action: PoliceAction
    value: str = ""


# --- Reports, the quarterly reconciliation, directory checks ---
class ReportAction(StrEnum):
    START = "s"  # the oblasts (straight to the years when there is one)
    OBLAST = "p"  # its years
    YEAR = "y"  # the kinds of report
    KIND = "k"  # the districts (a regional coordinator), or the report itself
    REPORT = "r"  # the report for the chosen district (or the whole oblast)
    FILE = "f"  # the report as a file


class Reports(CallbackData, prefix="rp"):
    """Reports (handlers/staff/reports/): action, oblast, year, kind, district, file format.

    Kinds travel as one letter and districts as an index into the oblast's list, to stay within
    Telegram's 64 bytes. Buttons sent before reports covered every year carry a programme id where the
    oblast now is: the service takes either (ReportService.oblast_of)."""

    action: ReportAction
    oblast: Annotated[str, Field(pattern=r"^[a-z0-9-]{0,40}$")] = ""
    year: Annotated[int, Field(ge=0, le=2100)] = 0
    kind: Annotated[str, Field(pattern=r"^[a-z]?$")] = ""
    district: Annotated[int, Field(ge=-1, lt=100)] = -1  # -1: the whole oblast
    file_format: Annotated[str, Field(pattern=r"^(|xlsx|csv)$")] = ""


class ReconciliationAction(StrEnum):
    VIEW = "view"
    ENTER = "enter"  # this side's figures, one at a time
    KEEP = "keep"  # the figure entered before
    EXPLAIN = "explain"  # a note on the discrepancies
    CONFIRM = "confirm"
    SAVE = "save"
    HISTORY = "history"
    CANCEL = "cancel"


class Reconciliations(CallbackData, prefix="rc"):
    """The quarterly reconciliation with the police (handlers/staff/reconciliation/)."""

    action: ReconciliationAction
    quarter: QuarterKey = ""  # empty: the quarter due


class EntryCheckAction(StrEnum):
    STILL_CORRECT = "ok"  # checked today
    FIX = "fix"  # the correction dialog
    WITHDRAW = "wd"  # asks first
    WITHDRAW_YES = "wdy"
    RESTORE = "rs"
    OPEN = "open"
    KEEP = "keep"  # the phones or the address as they are
    NO_PHONE = "nophone"
    NO_ADDRESS = "noaddr"
    SAVE = "save"
    CANCEL = "cancel"


class EntryChecks(CallbackData, prefix="dc"):
    """A coordinator's check of a directory entry (handlers/staff/directory_checks/)."""

    action: EntryCheckAction
    entry: str = ""  # the entry id


# --- Administration ---
class AdminSection(StrEnum):
    MENU = "menu"
    ORGANISATION = "org"
    INVITE = "inv"
    STAFF = "staff"


class AdminMenu(CallbackData, prefix="ad"):
    action: AdminSection


class AdminOrganisation(CallbackData, prefix="ado"):
    """A step of "add organisation" after the name: kind -> oblast -> district (or WHOLE)."""

    kind: int = -1  # index in ORGANISATION_KINDS; -1: choose the kind (again)
    oblast: str = ""  # oblast id
    district: str = ""  # district id, or WHOLE


class AdminInvite(CallbackData, prefix="adi"):
    """A step of "create invite"; empty fields are still to be chosen."""

    role: str = ""  # role code (ROLE_CODES)
    oblast: str = ""  # oblast id
    district: str = ""  # district id, or WHOLE (coordinator invites)
    org: int = 0  # organisation id (specialist and police invites)
    page: int = 0  # page of the organisation list
    keep: str = ""  # the person's other roles: "r" replaced (the default), "a" kept; "": still to ask


class AdminLetter(CallbackData, prefix="adl"):
    """The letter template of an oblast (admins): its id; empty: choose the oblast."""

    oblast: str = ""
    current: bool = False  # send the template in use as a file


class DirectoryImportAction(StrEnum):
    START = "start"  # asks for the CSV
    CURRENT = "cur"  # the entries the person may change, as a CSV to edit
    CONFIRM = "yes"
    CANCEL = "no"


class DirectoryImport(CallbackData, prefix="dim"):
    """Importing directory entries from a CSV (handlers/staff/directory_import/)."""

    action: DirectoryImportAction


class StaffListAction(StrEnum):
    LIST = "l"
    ASK_REMOVE = "r"
    REMOVE = "y"


class AdminStaff(CallbackData, prefix="ads"):
    action: StaffListAction = StaffListAction.LIST
    page: int = 0
    user: int = 0  # users.id
    role: str = ""  # role value
