"""Data protection operations the operator runs from the command line (bot/cli/data_ops.py; SECURITY.md,
"Data protection operations").

- `export_case`: everything stored about one case, decrypted, for a subject access request; audited.
- `rotate_key`: every encrypted value re-encrypted with a new key, and the key-derived look-up hashes
  (cases.citizen_key) recomputed. Batches commit one by one, so a crash half-way leaves rows on either
  key; a second run with the same two keys reads both and finishes (a row already on the new key is
  left as it is). A wrong current key is refused before anything is written.

Never logs a key or any case content; what the command line prints carries counts only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from redis.asyncio import Redis
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from bot.redis_storage import DIALOG_KEYS
from bot.services.cases import format_code, normalise_code, referrals_and_timeline
from bot.services.crypto import Cipher
from db.base import Base
from db.models import (
    AuditEntry,
    Case,
    CaseMessage,
    FsmState,
    OutboxMessage,
    PoliceReportVersion,
    PoliceSignal,
    Referral,
    User,
)

BATCH_SIZE = 200

# How a column holds its ciphertext: raw token bytes; token as ASCII text (a dialog's data, clear JSON
# when stored without a cipher); "enc:" + token (the outbox's text, clear without a cipher).
BYTES, TEXT, PREFIXED = "bytes", "text", "prefixed"


@dataclass(frozen=True)
class Sealed:
    model: type[Base]
    key: InstrumentedAttribute[Any]  # primary key: batches go in its order
    columns: tuple[tuple[str, str], ...]  # (attribute, how it is stored)


# Every place content is sealed with the key (grep `cipher` in bot/ and scheduler/). Dialogs kept in
# Redis (REDIS_URL) are not here: they expire on their own and a dialog that no longer opens restarts.
SEALED: tuple[Sealed, ...] = (
    Sealed(Case, Case.id, (("description_enc", BYTES), ("phone_enc", BYTES), ("citizen_chat_enc", BYTES))),
    Sealed(CaseMessage, CaseMessage.id, (("body_enc", BYTES), ("photo_enc", BYTES))),
    Sealed(Referral, Referral.id, (("reason_enc", BYTES),)),
    Sealed(PoliceSignal, PoliceSignal.id, (("description_enc", BYTES),)),
    Sealed(PoliceReportVersion, PoliceReportVersion.id, (("snapshot_enc", BYTES),)),
    Sealed(
        OutboxMessage,
        OutboxMessage.id,
        (("text", PREFIXED), ("document", BYTES), ("recipient_enc", BYTES)),
    ),
    Sealed(User, User.id, (("chat_enc", BYTES),)),
)
# The look-up hash that follows the key, and the sealed clear value it is recomputed from.
REHASHED: dict[type, tuple[str, str]] = {
    Case: ("citizen_key", "citizen_chat_enc"),
    User: ("telegram_key", "chat_enc"),
    OutboxMessage: ("recipient_key", "recipient_enc"),
}


class DataOpsError(Exception):
    """An operation refused; str() is the one sentence to show the operator (no content, no key)."""


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


# --- export ---------------------------------------------------------------------------------------


async def export_case(
    sessionmaker: async_sessionmaker[AsyncSession],
    cipher: Cipher,
    raw_code: str,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """Everything stored about the case with this code, decrypted. The read is audited ("case.export",
    no actor: the operator at the command line) in the same transaction. Unknown code: DataOpsError."""
    code = normalise_code(raw_code)
    if code is None:
        raise DataOpsError("This is not a case code (8 characters such as ABCD-2345).")
    now = clock()
    async with sessionmaker() as session, session.begin():
        case = await session.scalar(select(Case).where(Case.code == code))
        if case is None:
            raise DataOpsError(f"No case has the code {format_code(code)}.")
        referrals, events = await referrals_and_timeline(session, case.id)
        messages = await session.scalars(
            select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.id)
        )
        audit = await session.scalars(
            select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.id)
        )
        chat = cipher.decrypt(case.citizen_chat_enc)
        export: dict[str, Any] = {
            "code": format_code(case.code),
            "exported_at": _iso(now),
            "purged": case.purged_at is not None,
            "status": case.status,
            "outcome": case.outcome,
            "situation": case.situation,
            "needs": [n for n in case.needs.split(",") if n],
            "oblast": case.oblast,
            "district": case.district,
            "community": case.community,
            "urgent": case.urgent,
            "contact": case.contact,
            "sex": case.sex,
            "age_group": case.age_group,
            "consent": {
                "organisations_at": _iso(case.consent_orgs_at),
                "police_at": _iso(case.consent_police_at),
            },
            "created_at": _iso(case.created_at),
            "accepted_at": _iso(case.accepted_at),
            "closed_at": _iso(case.closed_at),
            "purged_at": _iso(case.purged_at),
            "relay_open": case.relay_open,
            "description": cipher.decrypt(case.description_enc),
            "phone": cipher.decrypt(case.phone_enc),
            "telegram_chat_id": int(chat) if chat and chat.lstrip("-").isdigit() else chat,
            "victim_status": {
                "applied_on": _iso(case.victim_status_applied_on),
                "decision": case.victim_status_decision,
                "decided_on": _iso(case.victim_status_decided_on),
            },
            "messages": [
                {
                    "at": _iso(m.at),
                    "direction": "from_citizen" if m.from_citizen else "to_citizen",
                    "text": cipher.decrypt(m.body_enc),
                    "photo_file_id": cipher.decrypt(m.photo_enc),
                }
                for m in messages
            ],
            "referrals": [
                {
                    "organisation": name,
                    "to_police": r.to_police,
                    "status": r.status,
                    "created_at": _iso(r.created_at),
                    "answered_at": _iso(r.answered_at),
                    "reason": cipher.decrypt(r.reason_enc),
                }
                for r, name in referrals
            ],
            "history": [{"at": _iso(e.at), "event": e.kind, "detail": e.detail} for e in events],
            # Who did what is kept as staff user ids: the export says what was done and when.
            "access_log": [{"at": _iso(a.at), "action": a.action} for a in audit],
        }
        if case.purged_at is not None:
            export["note"] = (
                "The retention period has passed: the description, contact, chat and messages were erased; "
                "only the anonymous statistics and the history above remain."
            )
        elif chat is None and case.citizen_key is None:
            export["note"] = "The person used /forget: the case no longer leads back to their chat."
        session.add(AuditEntry(at=now, action="case.export", case_id=case.id, detail="cli"))
    return export


# --- key rotation ---------------------------------------------------------------------------------


@dataclass
class RotationResult:
    rotated: int = 0  # values re-encrypted with the new key
    unchanged: int = 0  # values already on the new key (a run after a crash)
    rehashed: int = 0  # look-up hashes recomputed
    unreadable: int = 0  # values neither key opens: left as they were
    dialogs_ended: int = 0  # unfinished dialogs, keyed by the old key's hashes: ended


def _token(value: Any, how: str) -> bytes | None:
    """The Fernet token in a stored value, or None for nothing sealed (empty, or clear by design)."""
    if value is None:
        return None
    if how == BYTES:
        return bytes(value)
    if how == TEXT:
        return None if value.startswith("{") else value.encode("ascii")
    return value[4:].encode("ascii") if value.startswith("enc:") else None


def _stored(token: bytes, how: str) -> Any:
    if how == BYTES:
        return token
    text = token.decode("ascii")
    return text if how == TEXT else "enc:" + text


class _Keys:
    def __init__(self, old_key: str, new_key: str) -> None:
        try:
            self.old, self.new = Fernet(old_key.encode()), Fernet(new_key.encode())
        except ValueError as exc:
            raise DataOpsError("A key is not a Fernet key (44 characters of url-safe base64).") from exc
        if old_key.strip() == new_key.strip():
            raise DataOpsError("The new key is the key in use: nothing to rotate.")
        self.new_cipher = Cipher(new_key)

    def open(self, token: bytes) -> tuple[bytes | None, bool]:
        """(clear bytes or None when neither key opens it, whether it is on the new key already)."""
        try:
            return self.new.decrypt(token), True
        except InvalidToken:
            pass
        try:
            return self.old.decrypt(token), False
        except InvalidToken:
            return None, False


async def _check_keys(session: AsyncSession, keys: _Keys) -> None:
    """The first and last few stored values of every sealed column must open with one of the keys: a
    wrong current key is refused here, before any row is written. Rows are rotated in key order, so
    after a crash the last ones are those still on the old key: they test it where it matters."""
    for sealed in SEALED:
        for attr, how in sealed.columns:
            column = getattr(sealed.model, attr)
            present = select(column).where(column.is_not(None))
            first = await session.scalars(present.order_by(sealed.key).limit(3))
            last = await session.scalars(present.order_by(sealed.key.desc()).limit(3))
            for value in [*first, *last]:
                token = _token(value, how)
                if token is not None and keys.open(token)[0] is None:
                    raise DataOpsError(
                        "The current key does not open the stored content (a wrong ENCRYPTION_KEY or key "
                        "file?): nothing was changed."
                    )


async def _rotate_table(
    sessionmaker: async_sessionmaker[AsyncSession],
    sealed: Sealed,
    keys: _Keys,
    result: RotationResult,
    batch: int,
) -> None:
    last: Any = None
    while True:
        async with sessionmaker() as session, session.begin():
            query = select(sealed.model).order_by(sealed.key).limit(batch)
            if last is not None:
                query = query.where(sealed.key > last)
            rows = list(await session.scalars(query))
            if not rows:
                return
            for row in rows:
                _rotate_row(row, sealed, keys, result)
            last = getattr(rows[-1], sealed.key.key)


def _rotate_row(row: Any, sealed: Sealed, keys: _Keys, result: RotationResult) -> None:
    for attr, how in sealed.columns:
        token = _token(getattr(row, attr), how)
        if token is None:
            continue
        clear, on_new = keys.open(token)
        if clear is None:
            result.unreadable += 1
        elif on_new:
            result.unchanged += 1
        else:
            setattr(row, attr, _stored(keys.new.encrypt(clear), how))
            result.rotated += 1
    rehashed = REHASHED.get(type(row))
    if rehashed is not None:
        hash_attr, sealed_attr = rehashed
        token = getattr(row, sealed_attr)
        if getattr(row, hash_attr) is not None and token is not None:
            # The keyed hash of a person's chat ("my requests", /forget, the outbox's pacing) follows
            # the key: recomputed from the chat itself, so running it twice gives the same value.
            chat, _ = keys.open(token)
            if chat is not None:
                fresh = keys.new_cipher.lookup_key(chat.decode("utf-8"))
                if fresh != getattr(row, hash_attr):
                    setattr(row, hash_attr, fresh)
                    result.rehashed += 1


async def _end_dialogs(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis | None, result: RotationResult
) -> None:
    """Unfinished dialogs are named by keyed hashes of the old key, and nothing stored can name them
    again under the new one: they end (a person mid-dialog starts it again; none is older than a day).
    In the database and, with REDIS_URL, in Redis."""
    async with sessionmaker() as session, session.begin():
        ended = await session.execute(delete(FsmState))
        result.dialogs_ended += int(ended.rowcount or 0)  # type: ignore[attr-defined]
    if redis is not None:
        names = [name async for name in redis.scan_iter(match=DIALOG_KEYS, count=500)]
        for start in range(0, len(names), 500):
            await redis.delete(*names[start : start + 500])
        states = [n for n in names if (n if isinstance(n, bytes) else str(n).encode()).endswith(b":state")]
        result.dialogs_ended += len(states)


async def rotate_key(
    sessionmaker: async_sessionmaker[AsyncSession],
    old_key: str,
    new_key: str,
    *,
    batch_size: int = BATCH_SIZE,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    redis: Redis | None = None,
) -> RotationResult:
    """Re-encrypt every sealed value with `new_key`, recompute the look-up hashes and end the
    unfinished dialogs (in Redis too, with `redis`). Stop the bot first: what it writes meanwhile
    would be sealed with the old key. Safe to run again with the same keys."""
    keys = _Keys(old_key, new_key)
    async with sessionmaker() as session:
        await _check_keys(session, keys)
    result = RotationResult()
    for sealed in SEALED:
        await _rotate_table(sessionmaker, sealed, keys, result, batch_size)
    await _end_dialogs(sessionmaker, redis, result)
    async with sessionmaker() as session, session.begin():
        detail = (
            f"rotated={result.rotated} unchanged={result.unchanged} "
            f"rehashed={result.rehashed} unreadable={result.unreadable} "
            f"dialogs_ended={result.dialogs_ended}"
        )
        session.add(AuditEntry(at=clock(), action="key.rotate", detail=detail))
    return result
