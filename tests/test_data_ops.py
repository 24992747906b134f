"""Data protection operations on the real database with the real services: a case's export for a subject
access request, and key rotation (a crash half-way, a wrong key, the bot reading everything afterwards)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import cli
from bot.app import App, build_app
from bot.clock import today as kyiv_today
from bot.notices.outgoing import Outgoing
from bot.redis_storage import DIALOG_KEYS, EncryptedRedisStorage, redis_client
from bot.services import data_ops
from bot.services.cases import CaseDraft, Situation, format_code
from bot.services.crypto import Cipher
from bot.services.police_reports import Signal
from bot.services.staff import Role, StaffRole
from bot.settings import Settings, load_settings
from bot.storage import SQLStorage
from db.models import AuditEntry, Case, FsmState, Organisation, OutboxMessage, Referral, User, UserRole

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
CHAT = 5551
COORD = StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-bohodukhiv")
FSM_KEY = StorageKey(bot_id=42, chat_id=CHAT, user_id=CHAT)
SECRETS = {
    "description": "Обіцяли роботу в Польщі, забрали паспорт",
    "phone": "+380501112233",
    "from_citizen": "Я на вокзалі, чекаю",
    "to_citizen": "Ми зателефонуємо о 10:00",
    "reason": "Немає місць у притулку",
    "signal": "Вербувальник біля автостанції",
    "outbox": "Дайджест: вербувальник",
    "document": b"digest document",
    "dialog": "чернетка опису",
}


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    built = await build_app(settings.model_copy(update={"encryption_key": OLD}))
    yield built
    await built.close()


async def _staff(sm: async_sessionmaker[AsyncSession], telegram_id: int, role: StaffRole) -> int:
    async with sm() as session, session.begin():
        user = User(telegram_id=telegram_id, roles=[])
        session.add(user)
        await session.flush()
        session.add(
            UserRole(
                user_id=user.id,
                role=role.role,
                oblast=role.oblast,
                district=role.district,
                organisation_id=role.organisation_id,
            )
        )
        return user.id


async def populate(app: App, key: str = OLD) -> tuple[str, int, int]:
    """A case with a description, a phone, messages both ways, a declined referral with its reason; a
    police signal, a queued message with a document, a dialog in progress.
    Returns (code, case id, coordinator's user id)."""
    draft = CaseDraft(
        situation=Situation.LABOUR,
        needs=["legal_aid", "shelter"],
        oblast="kharkiv",
        district="kharkiv-bohodukhiv",
        community=None,
        urgent=True,
        contact="phone",
        consent_orgs=True,
        consent_police=False,
        description=SECRETS["description"],
        phone=SECRETS["phone"],
        sex="female",
        age_group="18-29",
    )
    case = await app.cases.create(draft, citizen_chat_id=CHAT)
    coordinator = await _staff(app.sessionmaker, 2001, COORD)
    async with app.sessionmaker() as session, session.begin():
        org = Organisation(name="Центр соціальних служб", kind="social", oblast="kharkiv")
        session.add(org)
        await session.flush()
        org_id = org.id
    specialist_role = StaffRole(Role.SPECIALIST, org_id, "kharkiv", "kharkiv-bohodukhiv")
    specialist = await _staff(app.sessionmaker, 3001, specialist_role)
    await app.cases.accept(coordinator, [COORD], case.id)
    await app.cases.citizen_message(CHAT, case.id, SECRETS["from_citizen"], None)
    await app.cases.staff_message(coordinator, [COORD], case.id, SECRETS["to_citizen"], "photo-file-id")
    await app.cases.refer(coordinator, [COORD], case.id, org_id)
    async with app.sessionmaker() as session:
        referral_id = await session.scalar(select(Referral.id).where(Referral.case_id == case.id))
    assert referral_id is not None
    await app.cases.answer_referral(specialist, [specialist_role], referral_id, False, SECRETS["reason"])
    month = kyiv_today().strftime("%Y-%m")
    await app.police.file(
        specialist,
        [specialist_role],
        month,
        [Signal("threat", "labour", "kharkiv-bohodukhiv", SECRETS["signal"])],
    )
    await app.outbox.enqueue(
        [Outgoing(777, "test.digest", SECRETS["outbox"], document_name="d.txt", document=SECRETS["document"])]
    )
    storage = SQLStorage(app.sessionmaker, Cipher(key), cache=False)
    await storage.set_data(FSM_KEY, {"description": SECRETS["dialog"]})
    return case.code, case.id, coordinator


async def sealed_values(sm: async_sessionmaker[AsyncSession]) -> dict[str, list[bytes]]:
    """Every Fernet token in the database, by table.column, as stored."""
    found: dict[str, list[bytes]] = {}
    async with sm() as session:
        for sealed in data_ops.SEALED:
            for attr, how in sealed.columns:
                column = getattr(sealed.model, attr)
                for value in await session.scalars(select(column).order_by(sealed.key)):
                    token = data_ops._token(value, how)
                    if token is not None:
                        found.setdefault(f"{sealed.model.__tablename__}.{attr}", []).append(token)
    return found


async def test_export_holds_everything_decrypted_and_is_audited(app: App) -> None:
    code, case_id, _ = await populate(app)
    cipher = Cipher(OLD)
    typed = format_code(code).lower().replace("a", "а")  # lower case, a Cyrillic look-alike, with a dash
    export = await data_ops.export_case(app.sessionmaker, cipher, typed)

    assert export["code"] == format_code(code)
    assert export["description"] == SECRETS["description"] and export["phone"] == SECRETS["phone"]
    assert export["telegram_chat_id"] == CHAT
    assert export["status"] == "referred" and export["urgent"] is True
    assert export["needs"] == ["legal_aid", "shelter"]
    assert export["consent"]["organisations_at"] and export["consent"]["police_at"] is None
    assert [(m["direction"], m["text"]) for m in export["messages"]] == [
        ("from_citizen", SECRETS["from_citizen"]),
        ("to_citizen", SECRETS["to_citizen"]),
    ]
    assert export["messages"][1]["photo_file_id"] == "photo-file-id"
    assert export["referrals"][0]["status"] == "declined"
    assert export["referrals"][0]["reason"] == SECRETS["reason"]
    assert [h["event"] for h in export["history"]][:3] == ["created", "consent", "accepted"]
    assert "case.read" not in [a["action"] for a in export["access_log"]]
    json.dumps(export)  # plain JSON

    async with app.sessionmaker() as session:
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "case.export"))).all()
    assert [(a.case_id, a.actor_id, a.detail) for a in audit] == [(case_id, None, "cli")]

    with pytest.raises(data_ops.DataOpsError, match="No case"):
        await data_ops.export_case(
            app.sessionmaker, cipher, "ZZZZ-ZZZZ" if code != "ZZZZZZZZ" else "YYYYYYYY"
        )
    with pytest.raises(data_ops.DataOpsError, match="not a case code"):
        await data_ops.export_case(app.sessionmaker, cipher, "hello")


async def test_export_of_a_purged_case_says_what_remains(app: App) -> None:
    code, case_id, _ = await populate(app)
    async with app.sessionmaker() as session, session.begin():
        await session.execute(
            update(Case)
            .where(Case.id == case_id)
            .values(status="closed", outcome="helped", closed_at=datetime.now(UTC) - timedelta(days=30))
        )
    assert await app.cases.purge_closed(retention_days=7) == 1
    export = await data_ops.export_case(app.sessionmaker, Cipher(OLD), code)
    assert export["purged"] is True and export["purged_at"]
    assert export["description"] is None and export["phone"] is None and export["telegram_chat_id"] is None
    assert export["messages"] == [] and export["referrals"][0]["reason"] is None
    assert export["situation"] == "labour" and export["outcome"] == "helped"
    assert "anonymous statistics" in export["note"]


async def test_rotation_survives_a_crash_and_the_bot_reads_everything_with_the_new_key(
    app: App, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, case_id, coordinator = await populate(app)
    before = await sealed_values(app.sessionmaker)
    assert set(before) == {
        "cases.description_enc",
        "cases.phone_enc",
        "cases.citizen_chat_enc",
        "case_messages.body_enc",
        "case_messages.photo_enc",
        "referrals.reason_enc",
        "police_signals.description_enc",
        "police_report_versions.snapshot_enc",
        "outbox.text",
        "outbox.document",
        "outbox.recipient_enc",
    }
    async with app.sessionmaker() as session:
        old_hash = await session.scalar(select(Case.citizen_key).where(Case.id == case_id))

    # The process dies after the first two tables (batches of one row: each committed on its own).
    real = data_ops._rotate_table
    calls = 0

    async def crashing(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("killed")
        await real(*args)

    monkeypatch.setattr(data_ops, "_rotate_table", crashing)
    with pytest.raises(RuntimeError):
        await data_ops.rotate_key(app.sessionmaker, OLD, NEW, batch_size=1)
    monkeypatch.setattr(data_ops, "_rotate_table", real)
    half = await sealed_values(app.sessionmaker)
    assert half["cases.description_enc"] != before["cases.description_enc"]
    assert half["outbox.text"] == before["outbox.text"]

    # Run again with the same keys: the rows already rotated are read with the new key and kept.
    result = await data_ops.rotate_key(app.sessionmaker, OLD, NEW, batch_size=1)
    assert result.unreadable == 0 and result.rotated > 0 and result.unchanged >= 5
    assert result.rehashed == 1  # the queued message's recipient (the case's was in the crashed run)
    again = await data_ops.rotate_key(app.sessionmaker, OLD, NEW)
    assert again.rotated == 0 and again.unreadable == 0 and again.unchanged == sum(map(len, before.values()))

    old, new = Fernet(OLD.encode()), Fernet(NEW.encode())
    after = await sealed_values(app.sessionmaker)
    assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
    for tokens in after.values():
        for token in tokens:
            with pytest.raises(InvalidToken):
                old.decrypt(token)
            new.decrypt(token)
    async with app.sessionmaker() as session:
        new_hash = await session.scalar(select(Case.citizen_key).where(Case.id == case_id))
        rotations = (
            await session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "key.rotate"))
        ).all()
    assert new_hash == Cipher(NEW).lookup_key(CHAT) != old_hash
    async with app.sessionmaker() as session:
        queued = await session.scalar(select(OutboxMessage.recipient_key))
    assert queued == Cipher(NEW).lookup_key(777)  # the outbox's pacing key follows the key too
    assert len(rotations) == 2  # the crashed run wrote none

    # The bot started with the new key: the coordinator's card, the citizen's "my requests", the code,
    # the dialog in progress, the queued message.
    rotated = await build_app(settings.model_copy(update={"encryption_key": NEW}))
    try:
        card = await rotated.cases.card(coordinator, [COORD], case_id)
        assert card.description == SECRETS["description"] and card.phone == SECRETS["phone"]
        assert [m[2] for m in card.messages] == [SECRETS["from_citizen"], SECRETS["to_citizen"]]
        assert [c.id for c in await rotated.cases.of_citizen(CHAT)] == [case_id]
        found = await rotated.cases.by_code(format_code(code).lower())
        assert found is not None and found.id == case_id
        assert await rotated.cases.declined_reason(card.referrals[0][0]) == SECRETS["reason"]
        # The dialog in progress was named by the old key's hashes: it ended (the person starts it
        # again), and nothing of it is left under either name.
        dialogs = SQLStorage(rotated.sessionmaker, Cipher(NEW), cache=False)
        assert await dialogs.get_data(FSM_KEY) == {}
        async with rotated.sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(FsmState)) == 0
        async with rotated.sessionmaker() as session:
            queued = await session.scalar(select(OutboxMessage))
        assert queued is not None
        assert rotated.outbox._open_text(queued.text) == SECRETS["outbox"]
        assert rotated.outbox._open(queued.document) == SECRETS["document"]
        export = await data_ops.export_case(rotated.sessionmaker, Cipher(NEW), code)
        assert export["description"] == SECRETS["description"]
    finally:
        await rotated.close()


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL is not set")
async def test_rotation_ends_the_dialogs_held_in_redis(app: App, settings: Settings) -> None:
    """Dialog keys name the person by the old key's hash: rotation ends them, in Redis too (the person
    starts again), rather than leave ciphertext nobody can find or open."""
    assert settings.redis_url and isinstance(app.storage, EncryptedRedisStorage)
    await populate(app)
    await app.storage.set_state(FSM_KEY, "RequestForm:description")
    await app.storage.set_data(FSM_KEY, {"description": SECRETS["dialog"]})
    redis = redis_client(settings.redis_url)
    try:
        assert [k async for k in redis.scan_iter(match=DIALOG_KEYS)] != []
        result = await data_ops.rotate_key(app.sessionmaker, OLD, NEW, redis=redis)
        assert result.unreadable == 0 and result.dialogs_ended >= 1
        assert [k async for k in redis.scan_iter(match=DIALOG_KEYS)] == []
        rotated = EncryptedRedisStorage(redis, Cipher(NEW))
        assert await rotated.get_data(FSM_KEY) == {} and await rotated.get_state(FSM_KEY) is None
        again = await data_ops.rotate_key(app.sessionmaker, OLD, NEW, redis=redis)
        assert again.rotated == 0 and again.unreadable == 0
    finally:
        await redis.aclose()


async def test_a_wrong_current_key_is_refused_and_nothing_changes(app: App) -> None:
    await populate(app)
    before = await sealed_values(app.sessionmaker)
    wrong = Fernet.generate_key().decode()
    with pytest.raises(data_ops.DataOpsError, match="does not open"):
        await data_ops.rotate_key(app.sessionmaker, wrong, NEW)
    with pytest.raises(data_ops.DataOpsError, match="key in use"):
        await data_ops.rotate_key(app.sessionmaker, OLD, OLD)
    assert await sealed_values(app.sessionmaker) == before
    async with app.sessionmaker() as session:
        assert await session.scalar(select(AuditEntry.id).where(AuditEntry.action == "key.rotate")) is None


def test_command_line_export_and_rotation_with_the_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m bot export-case` and `rotate-key` the way an operator runs them, with the default key
    file (no ENCRYPTION_KEY): the file is swapped for the new key only once everything is rotated."""
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for name in ("ENCRYPTION_KEY", "NEW_ENCRYPTION_KEY", "REDIS_URL", "BOT_TOKEN", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    key_file = tmp_path / "dovira.key"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'dovira.db'}")
    monkeypatch.setenv("KEY_FILE", str(key_file))
    settings = load_settings(_env_file=None)

    async def prepare() -> str:
        built = await build_app(settings)  # creates the key file, as the bot's first start does
        try:
            code, _, _ = await populate(built, key_file.read_text().strip())
            return code
        finally:
            await built.close()

    code = asyncio.run(prepare())
    first_key = key_file.read_text().strip()

    out = tmp_path / "export.json"
    assert cli.main(["export-case", format_code(code).lower(), "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["description"] == SECRETS["description"]
    printed = capsys.readouterr()
    assert SECRETS["description"] not in printed.out + printed.err

    assert cli.main(["export-case", "ZZZZ-ZZZ2" if code != "ZZZZZZZ2" else "ZZZZ-ZZZ3"]) == 1
    assert "No case" in capsys.readouterr().err

    assert cli.main(["rotate-key"]) == 0
    printed = capsys.readouterr()
    new_key = key_file.read_text().strip()
    assert new_key != first_key and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (tmp_path / "dovira.key.new").exists()
    assert first_key not in printed.out + printed.err and new_key not in printed.out + printed.err
    assert "now holds the new key" in printed.out

    assert cli.main(["export-case", code]) == 0
    assert json.loads(capsys.readouterr().out)["messages"][0]["text"] == SECRETS["from_citizen"]


async def test_after_a_crash_a_wrong_current_key_is_still_refused(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half the rows are on the new key: the rows still on the old one are checked too."""
    await populate(app)
    real = data_ops._rotate_table
    calls = 0

    async def crashing(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("killed")
        await real(*args)

    monkeypatch.setattr(data_ops, "_rotate_table", crashing)
    with pytest.raises(RuntimeError):
        await data_ops.rotate_key(app.sessionmaker, OLD, NEW)
    monkeypatch.setattr(data_ops, "_rotate_table", real)
    half = await sealed_values(app.sessionmaker)
    with pytest.raises(data_ops.DataOpsError, match="does not open"):
        await data_ops.rotate_key(app.sessionmaker, Fernet.generate_key().decode(), NEW)
    assert await sealed_values(app.sessionmaker) == half
    assert (await data_ops.rotate_key(app.sessionmaker, OLD, NEW)).unreadable == 0


def test_command_line_rotation_with_encryption_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With ENCRYPTION_KEY the new key comes from NEW_ENCRYPTION_KEY (never from the command line, where
    the process list would show it); the operator is told to set it. A wrong key changes nothing."""
    monkeypatch.chdir(tmp_path)
    for name in ("NEW_ENCRYPTION_KEY", "REDIS_URL", "BOT_TOKEN", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'dovira.db'}")
    monkeypatch.setenv("KEY_FILE", str(tmp_path / "dovira.key"))
    monkeypatch.setenv("ENCRYPTION_KEY", OLD)

    async def prepare() -> tuple[str, dict[str, list[bytes]]]:
        built = await build_app(load_settings(_env_file=None))
        try:
            code, _, _ = await populate(built)
            return code, await sealed_values(built.sessionmaker)
        finally:
            await built.close()

    async def stored() -> dict[str, list[bytes]]:
        built = await build_app(load_settings(_env_file=None))
        try:
            return await sealed_values(built.sessionmaker)
        finally:
            await built.close()

    code, before = asyncio.run(prepare())
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert cli.main(["rotate-key"]) == 2  # no new key and no terminal to ask on
    assert "NEW_ENCRYPTION_KEY" in capsys.readouterr().err

    monkeypatch.setenv("NEW_ENCRYPTION_KEY", NEW)
    monkeypatch.setenv("ENCRYPTION_KEY", Fernet.generate_key().decode())
    assert cli.main(["rotate-key"]) == 2
    assert "nothing was changed" in capsys.readouterr().err
    assert asyncio.run(stored()) == before

    monkeypatch.setenv("ENCRYPTION_KEY", OLD)
    assert cli.main(["rotate-key"]) == 0
    printed = capsys.readouterr().out
    assert "set ENCRYPTION_KEY to the new key" in printed and OLD not in printed and NEW not in printed
    assert not (tmp_path / "dovira.key").exists()  # no key file is made when the key is in the setting
    monkeypatch.setenv("ENCRYPTION_KEY", NEW)
    assert cli.main(["export-case", code]) == 0
    assert json.loads(capsys.readouterr().out)["phone"] == SECRETS["phone"]
