"""Generators and checks for tests/test_fuzz.py: what people can send a bot, and what the bot may answer."""

from __future__ import annotations

import logging
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from bot.session import DoviraSession
from bot.telegram_emulator import FakeTelegramServer, StoredMessage
from bot.telegram_emulator import InProcessSession as EmulatorSession

# Planted in staff-only content; none may ever reach a chat of someone who is not staff.
SECRET_CASE = "ZQXSECRETCASE"  # the description of a case filed by another citizen
SECRET_ORG = "ZQXSECRETORG"  # in every organisation's name (citizens never see organisations)
SECRET_STAFF = "ZQXSECRETSTAFF"  # staff members' Telegram names
SECRET_CITIZEN = "ZQXCITIZEN"  # + a citizen's id: what that citizen typed, never for another citizen

# Telegram's limits on what a bot sends (the fake server enforces them too; this says why a call failed).
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200

COMMANDS = (
    "/start",
    "/cancel",
    "/sos",
    "/help",
    "/language",
    "/forget",
    "/staff",
    "/report",
    "/event",
    "/admin",
    "/cases",
    "/status",
    "/nosuchcommand",
)
CALLBACK_PREFIXES = (
    "rq", "cz", "cs", "rf", "ev", "pr", "rc", "rp", "m", "lang", "w", "adv", "sc", "pv",
    "ad", "ado", "adi", "ads", "dc",
)  # fmt: skip

SPECIAL = (
    "\u200f",  # right-to-left mark
    "\u200e",  # left-to-right mark
    "\u202e",  # right-to-left override
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\ufeff",  # byte order mark
    "\u0000",
    "👨‍👩‍👧",  # emoji joined by ZWJ
    "🇺🇦",
    "مرحبا",
    "שלום",
    "Ї",
    "\U0001f600",
)
MARKUP = (
    "<b>", "</b>", "<a href='x'>", "</a>", "&amp;", "&", "<", ">", "*", "_", "[", "]", "(", ")", "~", "`",
    "\\", "<script>", "&#0;", "<tg-spoiler>", "|",
)  # fmt: skip

JSON = dict[str, Any]


def texts() -> st.SearchStrategy[str]:
    """Any text a client can send: all of Unicode, directional and zero-width marks, markup, 5,000+ chars."""
    pieces = st.one_of(
        st.text(min_size=1, max_size=40),
        st.sampled_from(SPECIAL),
        st.sampled_from(MARKUP),
        st.sampled_from(("1", "0", "-1", "99999999999999999999", "+380671234567", "2025-13-45", " ", "\n")),
    )
    short = st.lists(pieces, min_size=1, max_size=8).map("".join)
    long = st.tuples(
        st.sampled_from(("x", "Ї", "<b>", "👨‍👩‍👧", "\u200f", "&")), st.integers(4097, 6000)
    ).map(lambda t: (t[0] * t[1])[: t[1]])
    return st.one_of(short, short, short, long).filter(lambda s: s.strip() != "" or len(s) > 0)


# The buttons that leave a dialog: cancel, back, to the main menu.
def is_way_back(data: str) -> bool:
    return data == "m:main" or "cancel" in data or "back" in data


PLAUSIBLE = (
    "Мені пропонують роботу за кордоном, забрали паспорт",
    "Робота в Польщі, борг за дорогу",
    "12",
    "5",
    "0",
    "1",
    "1500",
    "1500.50",
    "01.11.2025",
    "2025-11-01",
    "15.10",
    "+380671234567",
    "0671234567",
    "так",
    "ні",
    "Центр соціальних служб",
    "вул. Сумська, 1",
    "https://example.org/source",
    "жінки 10, чоловіки 5",
    "10 5 3",
    "семінар",
    "/cancel",
)


# What a person would type at each prompt for typed input (valid answers and near misses), so that
# guided walks get past it into the rest of the dialog.
STATE_INPUTS: dict[str, tuple[str, ...]] = {
    "RequestForm:description": ("Мені пропонують роботу за кордоном, забрали паспорт", "x" * 5000),
    "RequestForm:phone": ("+380671234567", "0671234567", "067 123 45 67", "12345"),
    "MyCase:writing": ("Дякую, коли можна поговорити?", "<b>не жирний</b> &amp;"),
    "StaffWriting:message": ("Добрий день, ми отримали ваше звернення", "<i>x</i>"),
    "StaffWriting:reason": ("Людина не виходить на зв'язок третю добу", "<b>x</b>", "x" * 300),
    "ReferralWriting:to_organisation": ("Чи можете порадити іншу організацію?", "&" * 2000, "x" * 2001),
    "ReferralWriting:to_coordinator": ("Людина вже в нас, дякуємо", "<b>x</b> &amp;"),
    "EventForm:search": ("семінар", "інформ", "навчання", "zzz"),
    "EventForm:typed_date": ("01.11.2025", "15.10", "31.02.2025", "2030-01-01", "01.01.1999"),
    "EventForm:participants": ("25", "1", "0", "-3", "100000000", "двадцять"),
    "EventForm:breakdown": ("жінки 10, чоловіки 5", "10 5 3", "діти 100000", "жінки -1"),
    "EventForm:cost": ("1500", "1500.50", "1 500,50", "-3", "1e9", "0"),
    "ReconcileForm:figure": ("3", "0", "12", "-1", "99999999999", "три"),
    "ReconcileForm:note": ("Різниця через пізню реєстрацію в ЄРДР", "x" * 5000),
    "SignalForm:description": ("Оголошення про роботу в Польщі з житлом", "x" * 5000),
    "EntryFix:phones": ("+380571234567", "0 800 500 335, 116 123", "-", "немає"),
    "EntryFix:address": ("м. Харків, вул. Сумська, 1", "-"),
    "EntryFix:source": ("https://example.org/source", "лист ОДА від 01.03.2028", ""),
    "AddOrganisation:name": ("Центр соціальних служб Богодухівської громади", "<b>Org</b>", "x" * 300),
}


# Each dialog's buttons (callback data prefix), to find its screen among the messages a person has.
DIALOG_BUTTONS = {
    "RequestForm": "rq:",
    "MyCase": "cz:",
    "StaffWriting": "cs:",
    "ReferralWriting": "rm:",
    "EventForm": "ev:",
    "SignalForm": "pr:",
    "ReconcileForm": "rc:",
    "EntryFix": "dc:",
    "AddOrganisation": "ado:",
}


def dialog_screen(
    server: FakeTelegramServer, chat_id: int, state: str | None
) -> tuple[int, list[str]] | None:
    """The newest message with buttons of the dialog the person is in (other messages may have come
    since: a menu, a notice); None when not in a dialog or its screen is gone."""
    prefix = DIALOG_BUTTONS.get((state or "").split(":")[0])
    if prefix is None:
        return None
    for message_id, data in reversed(keyboards(server, chat_id)):
        if any(d.startswith(prefix) for d in data):
            return message_id, data
    return None


def plausible_answers() -> st.SearchStrategy[str]:
    """What a person would type at a dialog's prompt (or now and then anything)."""
    return st.one_of(st.sampled_from(PLAUSIBLE), st.sampled_from(PLAUSIBLE), texts())


def command_texts() -> st.SearchStrategy[str]:
    junk = st.one_of(st.just(""), texts().map(lambda s: " " + s[:200]))
    plain = st.tuples(st.sampled_from(COMMANDS), junk).map("".join)
    invite = st.text(max_size=80).map(lambda s: f"/start inv_{s}")
    deep = st.sampled_from(("/start inv_", "/start inv", "/start  ", "/start@dovira_test_bot", "/START"))
    return st.one_of(plain, plain, invite, deep)


def field_values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-(2**63), 2**63).map(str),
        st.integers(0, 50).map(str),
        st.sampled_from(
            ("", "x", "nan", "-0", "1e9", "None", "true", "kharkiv", "zhytomyr", "new", "closed")
        ),
        st.text(max_size=12),
    )


def clip64(data: str) -> str:
    """Callback data as a client can carry it: 1-64 bytes (a longer one is cut, as a forged client might)."""
    raw = data.encode("utf-8")[:64]
    out = raw.decode("utf-8", errors="ignore")
    return out or "x"


def forged_callback_data() -> st.SearchStrategy[tuple[int, str, int, str]]:
    """What to forge: (recipe, made-up data, a field index, a field value); `forge` cooks it with the
    callback data seen so far. (Strategies may not depend on what the bot did, or hypothesis cannot
    replay a run: the recorded data is picked by index, outside the strategy.)"""
    made_up = st.one_of(
        st.tuples(st.sampled_from(CALLBACK_PREFIXES), st.lists(field_values(), max_size=6)).map(
            lambda t: ":".join((t[0], *t[1]))
        ),
        st.text(min_size=1, max_size=64),
    )
    return st.tuples(st.integers(0, 10**6), made_up, st.integers(0, 8), field_values())


def forge(recorded: list[str], drawn: tuple[int, str, int, str]) -> str:
    """Two times in three a real callback with one field replaced; else made up."""
    recipe, made_up, index, value = drawn
    if not recorded or recipe % 3 == 0:
        return clip64(made_up)
    parts = recorded[recipe % len(recorded)].split(":")
    parts[index % len(parts)] = value
    return clip64(":".join(parts))


class ErrorLog(logging.Handler):
    """Collects ERROR records: the UpdateGuard logs every exception a handler let out."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def visible_text(params: JSON) -> str:
    """All a recipient can read in a call: text, caption, callback answer, button labels."""
    parts = [str(params.get(k) or "") for k in ("text", "caption")]
    markup = params.get("reply_markup")
    if markup:
        parts.append(str(markup))
    return "\n".join(parts)


INVARIANTS: dict[str, str] = {
    "a case without its 'created' event": (
        "SELECT c.id FROM cases c WHERE NOT EXISTS "
        "(SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.kind = 'created')"
    ),
    "a case in an unknown status": (
        "SELECT id FROM cases WHERE status NOT IN ('new','accepted','referred','in_progress','closed')"
    ),
    "a closed case without its closing time, or an open one with it": (
        "SELECT id FROM cases WHERE (status = 'closed') <> (closed_at IS NOT NULL)"
    ),
    "a case past 'new' that was never accepted": (
        "SELECT id FROM cases WHERE status IN ('accepted','referred','in_progress') AND accepted_at IS NULL"
    ),
    "a forgotten citizen's case still open for messages": (
        "SELECT id FROM cases WHERE citizen_chat_enc IS NULL AND relay_open"
    ),
    "a referral without its case": (
        "SELECT r.id FROM referrals r LEFT JOIN cases c ON c.id = r.case_id WHERE c.id IS NULL"
    ),
    "a referral in an unknown status or answered without a time": (
        "SELECT id FROM referrals WHERE status NOT IN "
        "('pending','accepted','declined','cancelled','revoked') "
        "OR (status IN ('accepted','declined') AND answered_at IS NULL)"
    ),
    "an event whose history does not reach its version": (
        "SELECT e.id FROM events e WHERE e.version <> "
        "(SELECT COALESCE(MAX(v.version), 0) FROM event_versions v WHERE v.event_id = e.id) "
        "OR (SELECT COUNT(*) FROM event_versions v WHERE v.event_id = e.id) <> e.version"
    ),
    "an event version without its event": (
        "SELECT v.id FROM event_versions v LEFT JOIN events e ON e.id = v.event_id WHERE e.id IS NULL"
    ),
    "a police report whose history does not reach its version": (
        "SELECT r.id FROM police_reports r WHERE r.version <> "
        "(SELECT COALESCE(MAX(v.version), 0) FROM police_report_versions v WHERE v.report_id = r.id)"
    ),
    "a nil police report with signals": (
        "SELECT r.id FROM police_reports r WHERE r.nil AND EXISTS "
        "(SELECT 1 FROM police_signals s WHERE s.report_id = r.id)"
    ),
    "an outbox message that is empty or in an unknown status": (
        "SELECT id FROM outbox WHERE (text = '' AND document IS NULL) "
        "OR status NOT IN ('pending','sending','sent','blocked','failed')"
    ),
    "a user role without its user": (
        "SELECT r.id FROM user_roles r LEFT JOIN users u ON u.id = r.user_id WHERE u.id IS NULL"
    ),
}


async def broken_invariants(session: AsyncSession) -> list[str]:
    broken = []
    for what, query in INVARIANTS.items():
        rows = (await session.execute(sql(query))).scalars().all()
        if rows:
            broken.append(f"{what}: ids {list(rows)[:10]}")
    return broken


def keyboards(server: FakeTelegramServer, chat_id: int, recent: int = 20) -> list[tuple[int, list[str]]]:
    """The bot's `recent` newest visible messages in a chat that have callback buttons, oldest first:
    (message id, callback data)."""
    found: list[tuple[int, list[str]]] = []
    for stored in server.iter_messages(chat_id, newest_first=True):
        if len(found) >= recent:
            break
        if not stored.from_bot:
            continue
        data = _callback_data(stored)
        if data:
            found.append((stored.message_id, data))
    return found[::-1]


def newest_bot_message(server: FakeTelegramServer, chat_id: int) -> tuple[int, list[str]] | None:
    """The bot's newest visible message in a chat: (message id, its callback data, maybe none)."""
    for stored in server.iter_messages(chat_id, newest_first=True):
        if stored.from_bot:
            return stored.message_id, _callback_data(stored)
    return None


def _callback_data(stored: StoredMessage) -> list[str]:
    markup = stored.data.get("reply_markup") or {}
    return [
        b["callback_data"]
        for row in markup.get("inline_keyboard") or []
        for b in row
        if b.get("callback_data")
    ]


# The fake server's `iter_messages` reads the stored messages in place: its other accessors deep-copy
# the whole history on every call, which is quadratic over a long run.
def bot_message_ids(server: FakeTelegramServer, chat_id: int) -> list[int]:
    return [m.message_id for m in server.iter_messages(chat_id) if m.from_bot]


def own_text_message_ids(server: FakeTelegramServer, chat_id: int) -> list[int]:
    return [m.message_id for m in server.iter_messages(chat_id) if not m.from_bot and "text" in m.data]


class InProcessSession(EmulatorSession, DoviraSession):
    """Dovira's own Bot API session (its request middlewares and form building included) that hands each
    request to the fake server in this process instead of over HTTP, through the server's public
    in-process transport: the same form fields, decoded and checked as over HTTP, the same answers and
    `server.calls` records, about a millisecond less per call."""
