"""Security controls of SECURITY.md that had no test of their own: per-person limits on help requests and
relayed messages (a flood of fake requests), and what a person typed reaching another person as literal
text, never as markup (a link or formatting smuggled into a coordinator's chat)."""

from __future__ import annotations

import asyncio
import io
import os
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql

from bot.app import build_app
from bot.clock import today as kyiv_today
from bot.i18n import create_i18n
from bot.redis_storage import redis_client
from bot.render import compliance_table, police_digest, reconciliation_table
from bot.services.cases import CaseService
from bot.services.crypto import Cipher, load_or_create_key
from bot.services.directory import load_directory
from bot.services.police_letter import default_template, police_letter
from bot.services.police_reports import OrgStatus, PoliceReportService, Signal, month_key
from bot.services.reconciliation import QuarterView
from bot.services.staff import InviteError, Redemption, Role, StaffRole, StaffService
from bot.services.throttle import (
    CODE_ATTEMPTS_PER_HOUR,
    RELAY_MESSAGES_PER_MINUTE,
    REQUESTS_PER_DAY,
    RedisThrottle,
    Throttle,
    next_request_at,
)
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer, parse_formatted_text
from db.engine import create_engine, create_sessionmaker
from db.models import User, UserRole
from tests.conftest import ACCEPTED, Person, RunningBot, bot_says
from tests.test_case_rules import draft
from tests.test_cases_e2e import CITIZEN, COORD, SPECIALIST, enrol, file_request
from tests.test_citizen_e2e import text_of
from tests.test_reports import DATA

MARKUP = '<b>жирний</b> <a href="tg://user?id=2001">натисніть</a> & Ко <i>'


async def _seed_requests(settings: Settings, chat_id: int, count: int) -> None:
    """Requests this chat filed just now, straight through the service (the dialog is tested elsewhere)."""
    engine = create_engine(settings.database_url)
    cases = CaseService(create_sessionmaker(engine), Cipher(load_or_create_key(None, settings.key_file)))
    for _ in range(count):
        await cases.create(draft(), chat_id)
    await engine.dispose()


def _no_formatting(message: dict[str, Any]) -> None:
    """Nothing the person typed became bold, italic or a link on the other side."""
    kinds = {e["type"] for e in message.get("entities", []) + message.get("caption_entities", [])}
    assert not kinds & {"text_link", "text_mention", "italic"}, message.get("entities")
    text = text_of(message)
    for e in message.get("entities", []):
        if e["type"] == "bold":
            assert "жирний" not in text.encode("utf-16-le")[
                2 * e["offset"] : 2 * (e["offset"] + e["length"])
            ].decode("utf-16-le")


# --- a flood of fake help requests ---------------------------------------------------------------
def test_a_chat_may_file_a_few_requests_a_day_and_is_told_when_the_next_one_may_go() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    hours = [now - timedelta(hours=h) for h in (1, 5, 23)]
    assert REQUESTS_PER_DAY == 3
    assert next_request_at(hours[:2], now) is None  # two in a day: a third may go
    assert next_request_at(hours, now) == now + timedelta(hours=1)  # the oldest of the three leaves the day
    assert (
        next_request_at([now - timedelta(hours=25)] * 5 + hours[:2], now) is None
    )  # older ones do not count
    assert next_request_at([], now) is None


async def test_the_in_memory_throttle_counts_per_person_within_its_window() -> None:
    t = [0.0]
    throttle = Throttle(limit=2, per_seconds=60, clock=lambda: t[0])
    assert await throttle.allow(1) and await throttle.allow(1) and not await throttle.allow(1)
    assert await throttle.allow(2)  # another person is not held back
    t[0] = 61.0
    assert await throttle.allow(1)


async def test_forget_leaves_no_count_of_the_person() -> None:
    """/forget: "the throttles hold nothing of the person" (an in-memory count is per chat id)."""
    throttle = Throttle(limit=2, per_seconds=60)
    assert await throttle.allow(1) and await throttle.allow(2)
    await throttle.forget(1)
    assert 1 not in throttle._hits and 2 in throttle._hits


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL is not set")
async def test_with_redis_replicas_share_each_persons_limits(settings: Settings) -> None:
    """Two replicas (two apps on one Redis) answering one person in turn: 10 messages a minute in all,
    5 code guesses an hour in all, not that many on each."""
    assert settings.redis_url
    first, second = await build_app(settings), await build_app(settings)
    try:
        replicas = [first.dispatcher["throttles"], second.dispatcher["throttles"]]
        relayed = [await replicas[i % 2].relay_messages.allow(CITIZEN) for i in range(14)]
        assert relayed == [True] * RELAY_MESSAGES_PER_MINUTE + [False] * 4
        guesses = [await replicas[i % 2].code_attempts.allow(CITIZEN) for i in range(7)]
        assert guesses == [True] * CODE_ATTEMPTS_PER_HOUR + [False] * 2
        assert await replicas[1].relay_messages.allow(CITIZEN + 1)  # someone else is not held back
        redis = redis_client(settings.redis_url)
        counted = [k.decode() async for k in redis.scan_iter(match="dovira:throttle:*")]
        await redis.aclose()
        assert counted and not any(str(CITIZEN) in k for k in counted)  # a keyed hash names the chat
        await replicas[0].forget(CITIZEN)  # /forget on one replica: the shared counts go
        redis = redis_client(settings.redis_url)
        left = [k.decode() async for k in redis.scan_iter(match="dovira:throttle:*")]
        await redis.aclose()
        assert len(left) == 1  # the other person's count only
    finally:
        await first.close()
        await second.close()


async def test_when_redis_fails_each_replica_still_counts_on_its_own() -> None:
    class Down:
        async def eval(self, *args: object) -> int:
            raise ConnectionError("Redis is down")

    throttle = RedisThrottle(Down(), "relay", 3, 60)  # type: ignore[arg-type]
    assert [await throttle.allow(CITIZEN) for _ in range(4)] == [True, True, True, False]


async def test_a_fourth_request_in_a_day_is_refused_kindly_and_the_danger_numbers_stay(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    await _seed_requests(settings, CITIZEN, REQUESTS_PER_DAY)
    citizen = Person(server, CITIZEN)
    refused = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    text = text_of(refused)
    assert "кілька запитів" in text and "після" in text
    assert "102" in text and "112" in text and "1547" in text
    assert "Мій запит" in " ".join(citizen.labels(refused))  # the way to the coordinator stays open
    # Never blocked from the emergency numbers.
    sos = await citizen.say("/sos")
    assert "102" in text_of(sos) and "112" in text_of(sos)
    # Someone else is not held back.
    other = Person(server, 1007)
    step = await other.press("Попросити допомоги", await other.say("/start"))
    assert "Що сталося?" in text_of(step)


async def test_the_limit_holds_at_send_for_a_dialog_started_before_it(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    await _seed_requests(settings, CITIZEN, REQUESTS_PER_DAY - 1)
    citizen = Person(server, CITIZEN)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    for label in ("Зникла людина", "Житомирська", "Бердичівський", "Ні, не терміново", "Лише через цей бот"):
        step = await citizen.press(label, step)
    step = await citizen.press("Лише організаціям", step)
    await _seed_requests(settings, CITIZEN, 1)  # meanwhile, from another dialog
    refused = await citizen.press("Надіслати", step)
    assert "кілька запитів" in text_of(refused) and "102" in text_of(refused)
    assert "Код запиту" not in text_of(refused)


async def test_a_flood_of_messages_to_the_coordinator_is_held_back(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    code = await file_request(citizen)
    await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    view = await citizen.press(code, await citizen.press("Мій запит", await citizen.say("/start")))
    await citizen.press("Написати координатору", view)
    for i in range(10):  # a person writing fast: every message goes through
        reply = await citizen.say(f"повідомлення {i}")
        assert "надіслано" in text_of(reply).lower() and "не надіслано" not in text_of(reply)
    held = await citizen.say("ще одне")
    assert "не надіслано" in text_of(held) and "102" in text_of(held)
    await server.wait_idle(quiet=0.2)
    relayed = [
        m for m in server.bot_messages(COORD) if "повідомлення " in text_of(m) or "ще одне" in text_of(m)
    ]
    assert len(relayed) == 10 and not any("ще одне" in text_of(m) for m in relayed)


# --- what a person typed, shown to another person --------------------------------------------------
async def test_markup_typed_by_a_citizen_reaches_the_coordinator_as_literal_text(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    citizen, coord = Person(server, CITIZEN), Person(server, COORD)
    step = await citizen.press("Попросити допомоги", await citizen.say("/start"))
    for label in (
        "Примусова праця",
        "Харківська",
        "Богодухівський",
        "Ні, не терміново",
        "Лише через цей бот",
    ):
        step = await citizen.press(label, step)
    step = await citizen.press("Лише організаціям", step)
    step = await citizen.press("Опис", step)
    step = await citizen.say(MARKUP)
    assert MARKUP in text_of(step)  # shown back to the person as typed
    sent = await citizen.press("Надіслати", step)
    assert "Код запиту" in text_of(sent)

    # The description on the coordinator's card: literal, no link, no formatting.
    card = await coord.press("Прийняти", await server.wait_for_bot_message(COORD))
    await bot_says(server, CITIZEN, ACCEPTED)  # the person hears it first
    assert MARKUP in text_of(card)
    _no_formatting(card)

    # A relayed message, citizen -> coordinator.
    mine = await citizen.press("Мій запит", await citizen.say("/start"))
    await citizen.press("Написати координатору", await citizen.press("-", mine))
    mark = len(server.calls)
    await citizen.say(MARKUP)
    to_coord = await server.wait_for_call(
        "sendMessage", lambda c: c.params.get("chat_id") in (COORD, str(COORD)), after=mark
    )
    assert MARKUP in text_of(to_coord.result)
    _no_formatting(to_coord.result)

    # And back, coordinator -> citizen: staff text is escaped the same way.
    card = await coord.press("Відкрити", server.get_message(COORD, to_coord.result["message_id"]))
    await coord.press("Написати людині", card)
    mark = len(server.calls)
    await coord.say(MARKUP)
    to_citizen = await server.wait_for_call(
        "sendMessage", lambda c: c.params.get("chat_id") in (CITIZEN, str(CITIZEN)), after=mark
    )
    assert MARKUP in text_of(to_citizen.result)
    _no_formatting(to_citizen.result)


def _parsed(html_text: str) -> tuple[str, list[dict[str, Any]]]:
    """As Telegram would show it (raises on markup Telegram would refuse)."""
    text, entities = parse_formatted_text(html_text, "HTML")
    return text, list(entities)


def test_organisation_names_signals_and_reconciliation_notes_are_shown_literally() -> None:
    """Staff-typed text shown to other staff: organisation names (typed by an admin) in the police digest
    and the compliance table, signal descriptions in the official letter (DOCX), reconciliation notes."""
    directory = load_directory(DATA)
    i18n = create_i18n("uk")
    with i18n.context(), i18n.use_locale("uk"):
        statuses = [
            OrgStatus(1, MARKUP, "signals", (Signal("threat", "labour", None, MARKUP),)),
            OrgStatus(2, "Центр & Ко <script>", "nil"),
            OrgStatus(3, "<b>ГО</b>", "missing"),
        ]
        message = police_digest(statuses, "2026-11", "Харківська")
        text, entities = _parsed(message)
        assert MARKUP in text and "Центр & Ко <script>" in text and "<b>ГО</b>" in text
        assert not {e["type"] for e in entities} & {"text_link", "italic"}
        text, _entities = _parsed(compliance_table(statuses, "2026-11", acknowledged=False))
        assert MARKUP in text and "<b>ГО</b>" in text
        # The letter is a Word file: the description is XML-escaped text in it, not markup.
        letter = police_letter(default_template(DATA, "kharkiv"), statuses, "2026-11", "kharkiv", directory)
        with zipfile.ZipFile(io.BytesIO(letter)) as docx:
            xml = docx.read("word/document.xml").decode()
        shown = "".join(ElementTree.fromstring(xml).itertext())  # a well-formed document...
        assert MARKUP in shown and "<a href" not in xml  # ...where the description is only text
        view = QuarterView("kharkiv", "2026-Q3", None, None, MARKUP, "& <i>", False, False, False)
        text, entities = _parsed(reconciliation_table(view))
        assert MARKUP in text and "& <i>" in text
        assert not {e["type"] for e in entities} & {"text_link", "italic"}


# --- a leaked database file ------------------------------------------------------------------------
async def test_a_copied_database_file_holds_no_signal_text_and_no_invite_token(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    """What test_no_plaintext_of_case_content_in_the_database_file does for cases, for the other secrets:
    a police signal's description (encrypted) and an invite token (only its hash is kept); and SQLite
    overwrites what it deletes (secure_delete), so purged content does not linger in free pages."""
    if not settings.database_url.startswith("sqlite"):
        return  # the file check is about the embedded default
    await enrol(bot.settings, server)
    engine = create_engine(settings.database_url)
    sm = create_sessionmaker(engine)
    async with sm() as session:
        assert (await session.execute(sql("PRAGMA secure_delete"))).scalar() == 1
        specialist = await session.scalar(select(User).where(User.telegram_id == SPECIALIST))
        assert specialist is not None
        row = await session.scalar(select(UserRole).where(UserRole.user_id == specialist.id))
        assert row is not None
    role = StaffRole(row.role, row.organisation_id, row.oblast, row.district)
    signal_text = "Вербувальник Петро з автостанції, телефон 0671112233"
    cipher = Cipher(load_or_create_key(None, settings.key_file))
    month = month_key(kyiv_today())
    await PoliceReportService(sm, cipher).file(
        specialist.id, [role], month, [Signal("threat", "labour", None, signal_text)]
    )
    admin = (StaffRole(Role.ADMIN.value, None, None, None),)
    token = await StaffService(sm).create_invite(
        specialist.id, admin, role=Role.COORDINATOR, organisation_id=None, oblast="kharkiv", district=None
    )
    await engine.dispose()

    db_file = Path(settings.database_url.split("///", 1)[1])
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
    for secret in (signal_text, "0671112233", "Вербувальник", token):
        assert secret.encode() not in raw, f"plaintext {secret!r} found in the database files"


async def test_one_invite_redeemed_twice_at_once_enrols_one_person(
    bot: RunningBot, server: FakeTelegramServer, settings: Settings
) -> None:
    await enrol(bot.settings, server)
    engine = create_engine(settings.database_url)
    sm = create_sessionmaker(engine)
    async with sm() as session, session.begin():  # two people who have opened the bot
        people = [User(telegram_id=telegram_id, roles=[]) for telegram_id in (CITIZEN, 1007)]
        session.add_all(people)
        await session.flush()
        ids = [p.id for p in people]
    staff = StaffService(sm)
    admin = (StaffRole(Role.ADMIN.value, None, None, None),)
    token = await staff.create_invite(
        ids[0], admin, role=Role.COORDINATOR, organisation_id=None, oblast="kharkiv", district=None
    )
    results = await asyncio.gather(*(staff.redeem_invite(i, token) for i in ids), return_exceptions=True)
    await engine.dispose()
    assert sum(isinstance(r, Redemption) for r in results) == 1
    assert [str(r) for r in results if isinstance(r, InviteError)] == ["invite.used"]


def test_every_test_security_md_names_exists() -> None:
    """SECURITY.md proves each control by naming its test: a renamed or deleted test must not leave the
    review pointing at nothing."""
    root = Path(__file__).resolve().parent.parent
    named = set(re.findall(r"tests/(\w+\.py)::(\w+)", (root / "SECURITY.md").read_text(encoding="utf-8")))
    assert len(named) > 50
    missing = [
        f"{module}::{name}"
        for module, name in sorted(named)
        if not re.search(
            rf"^(async )?def {name}\(", (root / "tests" / module).read_text(encoding="utf-8"), re.M
        )
    ]
    assert not missing, f"SECURITY.md names tests that do not exist: {missing}"
