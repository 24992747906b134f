"""Faults in the middle of an action, through the running bot: the database fails after part of the
work was written (the person is told to try again, nothing half-done stays, the retry files once);
Telegram answers 5xx to the outbox (retried later, nothing lost); the bot is stopped in the middle of a
reconciliation (the dialog goes on after the restart); `python -m bot` is killed outright (SIGKILL) in
the middle of a help request, of entering reconciliation figures and of an outbox run (after a restart
both dialogs go on where they were and every queued message arrives).

Elsewhere: Telegram's 429 (tests/test_outbox.py: all sending pauses for its retry_after, nothing lost),
a sender cancelled or dead mid-run (tests/test_outbox.py), a replica killed while it leads
(tests/test_failover.py, PostgreSQL), the disk filling up under SQLite (tests/test_disk_full.py)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from bot.app import build_app
from bot.notices.outgoing import Outgoing
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.engine import create_engine, create_sessionmaker
from db.models import Case, CaseEvent, OutboxMessage, Reconciliation
from tests.conftest import Person, RunningBot, start_bot
from tests.test_citizen_e2e import text_of
from tests.test_failover import Replica, start_replica
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
    await _to_description(person)
    review = await person.say("Опис, що має дійти лише один раз")
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


async def test_killed_outright_in_the_middle_of_everything_it_all_resumes(
    server: FakeTelegramServer, settings: Settings, tmp_path: Path
) -> None:
    """SIGKILL: no shutdown code runs. The dialogs are in the FSM storage (the database, or Redis),
    the queue in the outbox table with its claims: a new process goes on from there."""
    key = Fernet.generate_key().decode()
    settings = settings.model_copy(update={"encryption_key": key})
    backing = {"REDIS_URL": settings.redis_url or ""}
    app = await build_app(settings)
    await enrol(settings, server)
    for chat in REMINDED:
        server.add_user(chat)
    first = await start_replica(server, settings.database_url, key, tmp_path / "a", **backing)
    second: Replica | None = None
    try:
        await first.read_until("Dovira is polling", 60)
        citizen, police = Person(server, 1001), Person(server, POLICE)
        await _to_description(citizen)  # a help request: the description is asked for next
        step = await police.press("Внести свої дані", await open_reconciliation(police))
        for value in POLICE_FIGURES[:5]:
            step = await police.say(str(value))
        await app.outbox.enqueue([Outgoing(chat, "kill.test", f"Нагадування {chat}") for chat in REMINDED])
        await server.wait_until(lambda: len(reminded(server)) >= 20, timeout=30, what="sending under way")

        first.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.proc.wait(), 30)
        async with app.sessionmaker() as session:
            in_doubt = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sending")
            )
        assert len(reminded(server)) < len(REMINDED), "killed too late: the run was over"

        second = await start_replica(server, settings.database_url, key, tmp_path / "b", **backing)
        await second.read_until("Dovira is polling", 60)
        step = await citizen.say("Мого брата забрали на роботу до Польщі, не відповідає")
        assert "Надіслати" in " ".join(citizen.labels(step)), text_of(step)
        for value in POLICE_FIGURES[5:]:
            step = await police.say(str(value))
        assert "Дані збережено" in text_of(await police.press("Зберегти", step))
        await server.wait_until(
            lambda: len(reminded(server)) == len(REMINDED), timeout=40, what="every reminder delivered"
        )
        twice = [chat for chat, n in reminded(server).items() if n > 1]
        assert len(twice) <= (in_doubt or 0), (twice, in_doubt)  # only those on the wire at the kill
        assert "Traceback" not in second.log
    finally:
        await first.stop()
        if second is not None:
            await second.stop()
        await app.close()


REMINDED = range(60_000, 60_160)  # 160 reminders at 40 a second: 4 s, long enough to kill in between


def reminded(server: FakeTelegramServer) -> Counter[int]:
    return Counter(
        int(c.params["chat_id"])
        for c in server.calls_to("sendMessage")
        if c.ok and int(c.params["chat_id"]) in REMINDED
    )
