"""Faults in the middle of an action, through the running bot: the database fails after part of the
work was written (the person is told to try again, nothing half-done stays, the retry files once);
Telegram answers 5xx to the outbox (retried later, nothing lost); the bot is stopped in the middle of a
reconciliation (the dialog goes on after the restart)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from bot.app import build_app
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import Case, CaseEvent, OutboxMessage, Reconciliation
from scheduler.outbox import Outgoing
from tests.conftest import Person, RunningBot, start_bot
from tests.test_citizen_e2e import text_of
from tests.test_reconciliation_e2e import POLICE, POLICE_FIGURES, enrol, open_reconciliation
from tests.test_request_bad_input_e2e import _to_description

TRY_AGAIN = "Щось пішло не так. Спробуйте ще раз."


@contextmanager
def database_fails_after_writing(kind: type) -> Iterator[list[int]]:
    """The next flush that writes a `kind` row fails after the rows went to the database (in the
    middle of the transaction), once."""
    failures: list[int] = []

    def fail(session: Session, _context: Any) -> None:
        if not failures and any(isinstance(o, kind) for o in session.new | session.dirty):
            failures.append(1)
            raise ConnectionError("the database went away in the middle of the transaction")

    event.listen(Session, "after_flush", fail)
    try:
        yield failures
    finally:
        event.remove(Session, "after_flush", fail)


async def count(settings: Settings, model: type) -> int:
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        found = await session.scalar(select(func.count()).select_from(model))
    await engine.dispose()
    return int(found or 0)


async def test_the_database_failing_while_a_request_is_filed_leaves_nothing_and_the_retry_files_once(
    bot: RunningBot, person: Person
) -> None:
    step = await _to_description(person)
    step = await person.say("Опис, що має дійти лише один раз")
    step = await person.press("Лише через цей бот", step)
    step = await person.press("Так", step)
    step = await person.press("Ні", step)
    step = await person.press("Не вказувати", step)
    review = await person.press("Не вказувати", step)
    with database_fails_after_writing(Case) as failures:
        answer = await person.press("Надіслати", review)
    assert failures and TRY_AGAIN in text_of(answer) and "102" in text_of(answer)
    assert await count(bot.settings, Case) == 0 and await count(bot.settings, CaseEvent) == 0
    sent = await person.press("Надіслати", review)  # the same button again: the dialog kept its place
    assert "Код запиту" in text_of(sent)
    assert await count(bot.settings, Case) == 1


async def test_the_database_failing_while_figures_are_saved_keeps_nothing(
    bot: RunningBot, server: FakeTelegramServer
) -> None:
    await enrol(bot.settings, server)
    police = Person(server, POLICE)
    step = await police.press("Внести свої дані", await open_reconciliation(police))
    for value in POLICE_FIGURES:
        step = await police.say(str(value))
    with database_fails_after_writing(Reconciliation) as failures:
        answer = await police.press("Зберегти", step)
    assert failures and TRY_AGAIN in text_of(answer)
    screen = await open_reconciliation(police)
    assert "Ваших даних ще немає" in text_of(screen)  # nothing half-saved


async def test_a_restart_in_the_middle_of_entering_figures_keeps_the_dialog(
    server: FakeTelegramServer, settings: Settings
) -> None:
    first = await start_bot(server, settings)
    await enrol(settings, server)
    police = Person(server, POLICE)
    step = await police.press("Внести свої дані", await open_reconciliation(police))
    for value in POLICE_FIGURES[:5]:
        step = await police.say(str(value))
    await first.shutdown()
    second = await start_bot(server, settings)
    try:
        for value in POLICE_FIGURES[5:]:
            step = await police.say(str(value))
        saved = await police.press("Зберегти", step)
        assert "Дані збережено" in text_of(saved)
    finally:
        await second.shutdown()


async def test_telegram_answering_5xx_to_the_outbox_is_retried_and_nothing_is_lost(
    settings: Settings, server: FakeTelegramServer
) -> None:
    app = await build_app(settings)
    bot = server.create_bot()
    server.add_user(3001)
    try:
        await app.outbox.enqueue([Outgoing(3001, "fault.test", "Нагадування")])
        server.fail_next("sendMessage", status=502)
        assert await app.outbox.send_due(bot) == 0  # Telegram failed: not delivered, not dropped
        async with app.sessionmaker() as session:
            row = await session.scalar(select(OutboxMessage))
            assert row is not None and row.status == "pending" and row.attempts == 1
            row.not_before = app.outbox.clock()  # the backoff has passed
            await session.commit()
        assert await app.outbox.send_due(bot) == 1
        assert [m["text"] for m in server.bot_messages(3001)] == ["Нагадування"]
    finally:
        await bot.session.close()
        await app.close()
