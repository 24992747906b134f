"""Directory freshness end to end, the real bot polling the fake Telegram server, on data files last
checked 400 days ago: the job sends each coordinator the entries of their area; "Still correct" dates
the entry today for citizens; "Withdraw" takes it out of "where to get help" at once; a correction
needs phones that are phones and a source; a forged press from another district is refused."""

from __future__ import annotations

import asyncio
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import build_app
from bot.callbacks import EntryCheckAction, EntryChecks
from bot.clock import today as kyiv_today
from bot.services.directory import load_directory
from bot.settings import Settings, load_settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import OutboxMessage, User, UserRole
from scheduler.freshness import directory_freshness

ROOT = Path(__file__).resolve().parent.parent
BOHODUKHIV, IZIUM, REGIONAL, CITIZEN = 2101, 2102, 2001, 1001
# The bot dates a check by Kyiv's calendar (bot/clock.py), so the test does too: from 22:00 UTC the
# machine's date is a day behind.
CHECKED = kyiv_today() - timedelta(days=400)
TODAY = kyiv_today().strftime("%d.%m.%Y")
DISTRICT_ENTRY, LEGAL_AID_ENTRY, EMPLOYMENT_ENTRY = (
    "kharkiv-bohodukhiv-administration",
    "kharkiv-legal-aid-centre",
    "kharkiv-employment-centre",
)

pytestmark = pytest.mark.usefixtures("quick_chat_pacing")


@pytest.fixture
def settings(server: FakeTelegramServer, database_url: str, tmp_path: Path) -> Settings:
    """The shipped data files, every entry dated 400 days ago (overrides conftest's fixture)."""
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    for path in (data / "directory").glob("*.yaml"):
        text = re.sub(r"checked_on: \d{4}-\d{2}-\d{2}", f"checked_on: {CHECKED}", path.read_text("utf-8"))
        path.write_text(text, "utf-8")
    return load_settings(
        _env_file=None,
        BOT_API_BASE=server.base_url,
        DATABASE_URL=database_url,
        ADMIN_IDS="900",
        KEY_FILE=str(tmp_path / "dovira.key"),
        DATA_DIR=str(data),
    )


def text_of(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")


async def enrol(settings: Settings, server: FakeTelegramServer) -> None:
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        for telegram_id, district in (
            (BOHODUKHIV, "kharkiv-bohodukhiv"),
            (IZIUM, "kharkiv-izium"),
            (REGIONAL, None),
        ):
            server.add_user(telegram_id)
            user = User(telegram_id=telegram_id, roles=[])
            session.add(user)
            await session.flush()
            session.add(UserRole(user_id=user.id, role="coordinator", oblast="kharkiv", district=district))
    await engine.dispose()


async def run_job(settings: Settings, server: FakeTelegramServer) -> None:
    """The job as the running bot's scheduler runs it (App.job_context), then the outbox sends."""
    app = await build_app(settings)
    sender = server.create_bot()
    try:
        ctx = app.job_context(sender)
        assert await directory_freshness(ctx) > 0
        assert await directory_freshness(ctx) == 0  # a second run the same day sends nothing
        await app.outbox.send_due(sender)
        # The running bot's own sender may have taken some of them: wait until all are out, so that
        # none arrives later in the middle of the dialog below.
        for _ in range(400):
            async with app.sessionmaker() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status.in_(("pending", "sending")))
                )
            if not waiting:
                break
            await asyncio.sleep(0.025)
    finally:
        await sender.session.close()
        await app.close()


def reminder(server: FakeTelegramServer, telegram_id: int, name: str) -> dict[str, Any]:
    return next(
        m
        for m in server.bot_messages(telegram_id)
        if "Перевірка довідника" in text_of(m) and name in text_of(m)
    )


async def where(citizen: Any, *steps: str) -> str:
    step = await citizen.press("Куди звернутися", await citizen.say("/start"))
    for label in steps:
        step = await citizen.press(label, step)
    return text_of(step)


async def test_coordinators_confirm_withdraw_and_correct_stale_entries(
    bot: Any, server: FakeTelegramServer, person: Any
) -> None:
    Person = type(person)  # tests/conftest.py's Person, without importing the test package
    directory = load_directory(bot.settings.data_dir)
    names = {e: directory.entry(e).name.uk for e in (DISTRICT_ENTRY, LEGAL_AID_ENTRY, EMPLOYMENT_ENTRY)}  # type: ignore[union-attr]
    await enrol(bot.settings, server)
    await run_job(bot.settings, server)

    # Each coordinator gets the entries of their own area, as citizens see them.
    district_card = reminder(server, BOHODUKHIV, names[DISTRICT_ENTRY])
    assert CHECKED.strftime("%d.%m.%Y") in text_of(district_card)
    assert not any(names[LEGAL_AID_ENTRY] in text_of(m) for m in server.bot_messages(BOHODUKHIV))
    izium_card = reminder(server, IZIUM, "Ізюмськ")
    assert not any(names[DISTRICT_ENTRY] in text_of(m) for m in server.bot_messages(IZIUM))

    # Izium's coordinator forges a press on Bohodukhiv's entry: refused, and nothing changes.
    izium = Person(server, IZIUM)
    for action in ("wdy", "ok", "fix"):
        forged = EntryChecks(action=EntryCheckAction(action), entry=DISTRICT_ENTRY).pack()
        answer = await izium.press_data(forged, izium_card["message_id"])
        assert answer.params.get("text") == "Ця дія вам недоступна."
    # A made-up entry is a stale button.
    answer = await izium.press_data(
        EntryChecks(action=EntryCheckAction.STILL_CORRECT, entry="no-such-entry").pack(),
        izium_card["message_id"],
    )
    assert answer.params.get("text") == "Ця кнопка вже не діє."

    # Bohodukhiv's coordinator: "still correct" -> citizens see it checked today.
    citizen = person
    before = await where(citizen, "Харківська", "Богодухівський", "Соціальні послуги")
    assert names[DISTRICT_ENTRY] in before and f"Перевірено {CHECKED:%d.%m.%Y}" in before
    done = await Person(server, BOHODUKHIV).press("Усе правильно", district_card)
    assert f"перевірений {TODAY}" in text_of(done)
    after = await where(citizen, "Харківська", "Богодухівський", "Соціальні послуги")
    assert names[DISTRICT_ENTRY] in after and f"Перевірено {TODAY}" in after

    # The regional coordinator withdraws the oblast's legal aid centre: citizens stop seeing it at once.
    regional = Person(server, REGIONAL)
    assert names[LEGAL_AID_ENTRY] in await where(citizen, "Харківська", "Уся область", "Правова")
    card = reminder(server, REGIONAL, names[LEGAL_AID_ENTRY])
    ask = await regional.press("Зняти", card)
    assert "Зняти «" in text_of(ask) and "одразу перестануть" in text_of(ask)
    back = await regional.press("Назад до запису", ask)  # changed their mind: the entry is intact
    assert names[LEGAL_AID_ENTRY] in text_of(back)
    ask = await regional.press("Зняти", back)
    withdrawn = await regional.press("Так, зняти", ask)
    assert "більше не бачать" in text_of(withdrawn)
    listed = await where(citizen, "Харківська", "Уся область", "Правова")
    assert names[LEGAL_AID_ENTRY] not in listed and "1547" in listed
    # A mistake: brought back, seen again; then withdrawn for good.
    restored = await regional.press("Повернути запис", withdrawn)
    assert "знову його бачать" in text_of(restored)
    assert names[LEGAL_AID_ENTRY] in await where(citizen, "Харківська", "Уся область", "Правова")
    withdrawn = await regional.press("Так, зняти", await regional.press("Зняти", restored))
    assert names[LEGAL_AID_ENTRY] not in await where(citizen, "Харківська", "Уся область", "Правова")
    # The first reminder's "still correct", pressed after the withdrawal: the entry is gone.
    mark = len(server.calls)
    gone = await regional.press("Усе правильно", card)
    assert "Цього запису вже немає" in text_of(gone)
    answer = next(c for c in server.calls[mark:] if c.method == "answerCallbackQuery")
    assert answer.params.get("text") == "Запис уже знято з довідника."

    # A correction: phones that are phones, a source required, bad input answered with a way out.
    card = reminder(server, REGIONAL, names[EMPLOYMENT_ENTRY])
    step = await regional.press("Виправити", card)
    assert "Телефони зараз: немає" in text_of(step)
    reply = await regional.say("0" * 5000)
    assert "Задовге повідомлення: 5000" in text_of(reply) and "Скасувати" in regional.labels(reply)[0]
    reply = await regional.send("photo")
    assert "Тут потрібен текст" in text_of(reply)
    reply = await regional.say("дзвоніть у понеділок")
    assert "не схоже на номер" in text_of(reply)
    step = await regional.say("057 700 00 00")
    assert "Адреса зараз" in text_of(step)
    step = await regional.press("Залишити як є", step)
    assert "Звідки ці дані" in text_of(step)
    reply = await regional.say("сайт")
    assert "Напишіть джерело від 5" in text_of(reply)
    preview = await regional.say("Лист Харківського обласного центру зайнятості від 20.11.2026")
    assert "057 700 00 00" in text_of(preview) and "Лист Харківського" in text_of(preview)
    assert f"Перевірено {TODAY}" in text_of(preview)  # as citizens will see it once saved
    saved = await regional.press("Зберегти", preview)
    assert f"перевірений {TODAY}" in text_of(saved)
    listed = await where(citizen, "Харківська", "Уся область", "Робота")
    assert "057 700 00 00" in listed and "Лист Харківського" not in listed  # the source is not shown
    # The dialog is over: its buttons are stale now.
    answer = await regional.press_data(
        EntryChecks(action=EntryCheckAction.SAVE, entry=EMPLOYMENT_ENTRY).pack(), saved["message_id"]
    )
    assert answer.params.get("text") == "Ця кнопка вже не діє."


async def test_cancel_leaves_a_correction_unsaved(bot: Any, server: FakeTelegramServer, person: Any) -> None:
    Person = type(person)
    await enrol(bot.settings, server)
    await run_job(bot.settings, server)
    regional = Person(server, REGIONAL)
    name = load_directory(bot.settings.data_dir).entry(EMPLOYMENT_ENTRY).name.uk  # type: ignore[union-attr]
    step = await regional.press("Виправити", reminder(server, REGIONAL, name))
    reply = await regional.say("/cancel")
    assert "Скасовано" in text_of(reply) or "скасовано" in text_of(reply)
    reply = await regional.say("057 700 00 00")  # no dialog any more: just text
    assert "057 700 00 00" not in text_of(reply)
    step = await regional.press("Скасувати", step)  # the old dialog's cancel button is harmless
    assert "запис не змінено" in text_of(step)
    listed = await where(person, "Харківська", "Уся область", "Робота")
    assert "057 700 00 00" not in listed and f"Перевірено {CHECKED:%d.%m.%Y}" in listed


async def test_a_correction_keeps_or_clears_phones_and_address(
    bot: Any, server: FakeTelegramServer, person: Any
) -> None:
    """The buttons "keep as is", "no phone any more" and "no address any more", each at the step it belongs
    to; a "keep" pressed on an earlier step's screen is stale."""
    Person = type(person)
    await enrol(bot.settings, server)
    await run_job(bot.settings, server)
    regional = Person(server, REGIONAL)
    name = load_directory(bot.settings.data_dir).entry(EMPLOYMENT_ENTRY).name.uk  # type: ignore[union-attr]
    fix = EntryChecks(action=EntryCheckAction.FIX, entry=EMPLOYMENT_ENTRY).pack()

    async def correct_again(screen: dict[str, Any]) -> dict[str, Any]:
        return await regional.reply_to(lambda: server.press_button(REGIONAL, screen["message_id"], fix))

    # First the entry gets phones and an address, both typed.
    await regional.press("Виправити", reminder(server, REGIONAL, name))
    address_step = await regional.say("057 700 00 00")
    step = await regional.say("вул. Сумська, 17")
    assert "Звідки ці дані" in text_of(step)
    stale = await regional.press("Залишити як є", address_step)  # the address was typed already
    assert "Ця кнопка застаріла" in text_of(stale)
    preview = await regional.say("Сайт Харківського обласного центру зайнятості")
    assert "вул. Сумська, 17" in text_of(preview)
    saved = await regional.press("Зберегти", preview)

    # Then the phones are kept and the address is gone.
    step = await correct_again(saved)
    assert "Телефони зараз: 057 700 00 00" in text_of(step)
    assert any("Телефону більше немає" in b for b in regional.labels(step))
    step = await regional.press("Залишити як є", step)
    assert "Адреса зараз: вул. Сумська, 17" in text_of(step)
    step = await regional.press("Адреси більше немає", step)
    preview = await regional.say("Дзвінок до центру зайнятості 01.12.2026")
    assert "057 700 00 00" in text_of(preview) and "Сумська" not in text_of(preview)
    saved = await regional.press("Зберегти", preview)

    # Then the phones go too; with no address left there is no "no address" button.
    step = await regional.press("Телефону більше немає", await correct_again(saved))
    assert "Адреса зараз: немає" in text_of(step) and not any("Адреси" in b for b in regional.labels(step))
    step = await regional.press("Залишити як є", step)
    saved = await regional.press("Зберегти", await regional.say("Дзвінок до центру зайнятості 02.12.2026"))
    assert f"перевірений {TODAY}" in text_of(saved)
    listed = await where(person, "Харківська", "Уся область", "Робота")
    assert name in listed and "057 700 00 00" not in listed and "Сумська" not in listed
