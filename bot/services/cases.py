"""Anonymous help requests -> cases: routing, statuses, referrals, relay, deadlines, retention.

No Telegram types. Access is decided here from the actor's roles and scope, never from callback
data. Free text, the phone number, the citizen's chat id and relayed messages are stored encrypted;
every read of case content and every change is written to the audit log in the same transaction.

Need to know: a case's content (description, phone, messages, victim-status procedure, referrals,
timeline) is shown to the coordinator who owns it, and to an organisation once it accepted a referral.
Every other coordinator in scope sees the minimum data (`CaseCard.content_shown` False). An oblast-wide
coordinator may reassign a case, and may open its content only by break-glass: a stated reason,
audited, the owner told.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import throttle
from bot.services.crypto import Cipher
from bot.services.places import OUTSIDE, is_outside
from bot.services.staff import AccessDenied, Role, StaffRole, record_denial, serves_area
from bot.telegram_text import telegram_length
from db.models import AuditEntry, Case, CaseEvent, CaseMessage, Organisation, Referral, User, UserRole

# Codes people can dictate over the phone: no 0/O, 1/I/L look-alikes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
# Cyrillic letters that look like Latin ones, as typed on a Ukrainian keyboard.
_LOOKALIKES = str.maketrans("АВЕКМНОРСТХІаеорсхікмнтв", "ABEKMHOPCTXIAEOPCXIKMHTB")

DESCRIPTION_LIMIT = 2000
MESSAGE_LIMIT = 2000
PAGE_SIZE = 8
# The newest relayed messages a case card shows (what the person added while it waited among them).
CARD_MESSAGES = 20
# A break-glass reason is kept whole in the audit entry's detail (String(200)).
BREAK_GLASS_REASON_LIMIT = 200


class Status(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    REFERRED = "referred"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class Outcome(StrEnum):
    HELPED = "helped"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    UNREACHABLE = "unreachable"
    DECLINED = "declined"
    DUPLICATE = "duplicate"


class Situation(StrEnum):
    LABOUR = "labour"
    SEXUAL = "sexual"
    DOMESTIC_VIOLENCE = "domestic_violence"
    MISSING_PERSON = "missing_person"
    JOB_OFFER = "job_offer"
    OTHER = "other"


ALLOWED_MOVES: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ACCEPTED, Status.CLOSED}),
    Status.ACCEPTED: frozenset({Status.REFERRED, Status.IN_PROGRESS, Status.CLOSED}),
    Status.REFERRED: frozenset({Status.REFERRED, Status.IN_PROGRESS, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.REFERRED, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
# Open cases with an owner: what an oblast-wide coordinator may reassign.
OWNED_OPEN = (Status.ACCEPTED, Status.REFERRED, Status.IN_PROGRESS)
SEXES = ("female", "male")
AGE_GROUPS = ("0-17", "18-29", "30-59", "60+")
# Why an organisation declines a referral (each has a text: decline.<reason>).
DECLINE_REASONS = ("not_our_profile", "no_capacity", "outside_area", "other")
# The victim status procedure as a coordinator records it from the card: applied for, then granted or refused.
VICTIM_STATUS_STEPS = ("applied", "granted", "refused")


class CaseError(Exception):
    """A refused case action; str() is the i18n key of the explanation shown to the person."""


class TooLong(CaseError):
    """A message longer than the relay carries, counted as Telegram counts it (bot/telegram_text.py)."""

    def __init__(self, length: int, limit: int = MESSAGE_LIMIT) -> None:
        super().__init__("relay.too_long")
        self.length, self.limit = length, limit


def check_message_length(text: str | None) -> None:
    """Refuse a relayed text before anything is stored when Telegram would count it too long."""
    length = telegram_length(text or "")
    if length > MESSAGE_LIMIT:
        raise TooLong(length)


@dataclass
class CaseDraft:
    situation: Situation
    needs: list[str]
    oblast: str
    district: str | None
    community: str | None
    urgent: bool
    contact: str  # "bot" or "phone"
    consent_orgs: bool
    consent_police: bool
    description: str | None = None
    phone: str | None = None
    sex: str | None = None
    age_group: str | None = None


@dataclass(frozen=True)
class CaseSummary:
    """The minimum data: what a coordinator needs to decide, nothing that identifies anyone."""

    id: int
    code: str
    status: Status
    outcome: str | None
    situation: str
    needs: tuple[str, ...]
    oblast: str
    district: str | None
    urgent: bool
    contact: str
    created_at: datetime
    overdue: bool = False
    relay_open: bool = True


@dataclass(frozen=True)
class CaseCard:
    """A case as one coordinator may see it. With `content_shown` False (not the owner) it is the
    minimum data: the summary and the age group; every content field is empty."""

    summary: CaseSummary
    description: str | None
    phone: str | None
    consent_orgs: bool
    consent_police: bool
    sex: str | None
    age_group: str | None
    owner_is_me: bool
    victim_status: tuple[datetime | None, str | None, datetime | None]
    referrals: tuple[tuple[int, str, str, bool], ...]  # (id, organisation name, status, to police)
    timeline: tuple[tuple[datetime, str, str | None], ...]
    messages: tuple[tuple[datetime, bool, str | None, bool], ...]  # (at, from citizen, text, has photo)
    content_shown: bool = True
    may_break_glass: bool = False  # an oblast-wide coordinator, not the owner
    may_reassign: bool = False  # an oblast-wide coordinator, the case open and owned


@dataclass(frozen=True)
class Colleague:
    """A coordinator a case may be reassigned to (staff are attributable: their Telegram id)."""

    user_id: int
    telegram_id: int
    district: str | None  # None: the whole oblast


@dataclass(frozen=True)
class ReferralView:
    id: int
    case: CaseSummary
    organisation_id: int
    organisation: str  # its name, as the directory of organisations holds it
    status: str
    to_police: bool
    description: str | None  # shared only once the organisation has accepted
    phone: str | None


@dataclass(frozen=True)
class ReferralThread:
    """The two sides of a referral that may write to each other (never the person): the case's owner
    and the organisation's staff the referral reached. `recipients`: whom one message goes to."""

    referral_id: int
    case: CaseSummary
    organisation: str
    recipients: tuple[int, ...]  # Telegram ids


@dataclass
class Notice:
    """A message the bot sends on its own: to whom (Telegram ids), which kind, about which case."""

    kind: str
    recipients: list[int]
    case: CaseSummary
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CitizenRelay:
    """A citizen's message, stored: whom to relay it to now (None: nobody holds the case), and whether
    the case was released just now because its owner no longer coordinates its area."""

    case: CaseSummary
    owner: int | None
    released: bool = False
    message_id: int = 0  # the stored message (the outbox sends it once, by this id)
    duplicate: bool = False  # the same Telegram message handled again: stored and sent the first time


@dataclass(frozen=True)
class StaffRelay:
    """A staff member's message to the citizen, stored: the citizen's chat to relay it to."""

    case: CaseSummary
    citizen: int
    message_id: int
    duplicate: bool = False


@dataclass
class Forgotten:
    """What /forget did to the person's requests (all in one transaction)."""

    linked: int = 0  # requests that led back to the person's chat (0: nothing left to do, e.g. a repeat)
    withdrawn: list[tuple[CaseSummary, int | None]] = field(default_factory=list)  # (case, owner to tell)
    kept: list[CaseSummary] = field(default_factory=list)  # open, now reachable only by code
    closed: int = 0  # closed before: their content goes at the retention date
    revoked: list[Notice] = field(default_factory=list)  # "referral.revoked": whom to ask to delete


# Open statuses in which a coordinator owns the case.
OWNED = (Status.ACCEPTED, Status.REFERRED, Status.IN_PROGRESS)


def normalise_code(raw: str) -> str | None:
    """The code as typed (any case, Cyrillic look-alikes, spaces or dashes) -> canonical, or None."""
    cleaned = "".join(ch for ch in raw.translate(_LOOKALIKES).upper() if ch.isalnum())
    if len(cleaned) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in cleaned):
        return None
    return cleaned


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _summary(case: Case, overdue: bool = False) -> CaseSummary:
    return CaseSummary(
        id=case.id,
        code=case.code,
        status=Status(case.status),
        outcome=case.outcome,
        situation=case.situation,
        needs=tuple(n for n in case.needs.split(",") if n),
        oblast=case.oblast,
        district=case.district,
        urgent=case.urgent,
        contact=case.contact,
        created_at=_aware(case.created_at) or case.created_at,
        overdue=overdue,
        relay_open=case.relay_open and case.status != Status.CLOSED,
    )


async def referrals_and_timeline(
    session: AsyncSession, case_id: int
) -> tuple[list[tuple[Referral, str]], list[CaseEvent]]:
    """A case's referrals with their organisations' names, and its timeline, oldest first (the card and
    the operator's export read the same)."""
    referrals = (
        await session.execute(
            select(Referral, Organisation.name)
            .join(Organisation)
            .where(Referral.case_id == case_id)
            .order_by(Referral.id)
        )
    ).all()
    events = await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    )
    return [(r, name) for r, name in referrals], list(events)


class CaseService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cipher: Cipher,
        *,
        accept_hours: float = 4,
        referral_hours: float = 48,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sm = sessionmaker
        self._cipher = cipher
        self.accept_within = timedelta(hours=accept_hours)
        self.referral_within = timedelta(hours=referral_hours)
        self.clock = clock

    # --- citizen ---------------------------------------------------------------------------------
    async def create(self, draft: CaseDraft, citizen_chat_id: int) -> CaseSummary:
        if draft.description is not None and len(draft.description) > DESCRIPTION_LIMIT:
            raise CaseError("request.description_too_long")
        now = self.clock()
        async with self._sm() as session, session.begin():
            case = Case(
                code=await self._new_code(session),
                status=Status.NEW.value,
                situation=draft.situation.value,
                needs=",".join(draft.needs),
                oblast=draft.oblast,
                district=draft.district,
                community=draft.community,
                urgent=draft.urgent,
                contact=draft.contact,
                description_enc=self._cipher.encrypt(draft.description or None),
                phone_enc=self._cipher.encrypt(draft.phone) if draft.contact == "phone" else None,
                citizen_chat_enc=self._cipher.encrypt(str(citizen_chat_id)),
                citizen_key=self._cipher.lookup_key(citizen_chat_id),
                consent_orgs_at=now if draft.consent_orgs else None,
                consent_police_at=now if draft.consent_police else None,
                sex=draft.sex if draft.sex in SEXES else None,
                age_group=draft.age_group if draft.age_group in AGE_GROUPS else None,
                created_at=now,
            )
            session.add(case)
            await session.flush()
            session.add(CaseEvent(case_id=case.id, at=now, kind="created"))
            if draft.consent_orgs:
                session.add(CaseEvent(case_id=case.id, at=now, kind="consent", detail="organisations"))
            if draft.consent_police:
                session.add(CaseEvent(case_id=case.id, at=now, kind="consent", detail="police"))
            session.add(AuditEntry(at=now, action="case.create", case_id=case.id))
            return _summary(case)

    async def _new_code(self, session: AsyncSession) -> str:
        while True:  # 31^8 codes: a clash is rare, but look anyway
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if await session.scalar(select(Case.id).where(Case.code == code)) is None:
                return code

    async def by_code(self, raw_code: str) -> CaseSummary | None:
        """Status by code. A wrong code finds nothing and suggests nothing."""
        code = normalise_code(raw_code)
        if code is None:
            return None
        async with self._sm() as session:
            case = await session.scalar(select(Case).where(Case.code == code, Case.purged_at.is_(None)))
            return _summary(case) if case else None

    async def of_citizen(self, citizen_chat_id: int) -> list[CaseSummary]:
        async with self._sm() as session:
            cases = await session.scalars(
                select(Case)
                .where(Case.citizen_key == self._cipher.lookup_key(citizen_chat_id), Case.purged_at.is_(None))
                .order_by(Case.created_at.desc())
                .limit(10)
            )
            return [_summary(c) for c in cases]

    async def next_request_at(self, citizen_chat_id: int) -> datetime | None:
        """None when this chat may file one more help request now; otherwise the moment it may (the day's
        share, bot/services/throttle.py), counted from its requests on this service's clock."""
        filed = [c.created_at for c in await self.of_citizen(citizen_chat_id)]
        return throttle.next_request_at(filed, self.clock())

    async def _citizen_case(self, session: AsyncSession, citizen_chat_id: int, case_id: int) -> Case:
        case = await session.get(Case, case_id, with_for_update=True)
        if case is None or case.citizen_key != self._cipher.lookup_key(citizen_chat_id) or case.purged_at:
            raise CaseError("case.not_found")
        return case

    async def withdraw(self, citizen_chat_id: int, case_id: int) -> tuple[CaseSummary, int | None]:
        """The citizen withdraws; returns the case and its owner's Telegram id to tell."""
        now = self.clock()
        async with self._sm() as session, session.begin():
            case = await self._citizen_case(session, citizen_chat_id, case_id)
            if case.status == Status.CLOSED:
                raise CaseError("case.already_closed")
            self._close_as_withdrawn(session, case, now)
            owner = await self._active_owner(session, case)
            return _summary(case), owner

    @staticmethod
    def _close_as_withdrawn(session: AsyncSession, case: Case, now: datetime) -> None:
        case.status, case.outcome, case.closed_at, case.relay_open = (
            Status.CLOSED,
            Outcome.DECLINED,
            now,
            False,
        )
        session.add(CaseEvent(case_id=case.id, at=now, kind="withdrawn"))
        session.add(AuditEntry(at=now, action="case.withdraw", case_id=case.id))

    def _source_key(self, case_id: int, sender: str, source: int | None) -> str | None:
        # Keyed by the case and the sender's side, never the chat: after /forget it must not lead back
        # to the person's chat (message ids are small numbers anyone could try).
        return None if source is None else self._cipher.lookup_key(f"message:{case_id}:{sender}:{source}")

    @staticmethod
    async def _stored_before(session: AsyncSession, source_key: str | None) -> CaseMessage | None:
        if source_key is None:
            return None
        stored: CaseMessage | None = await session.scalar(
            select(CaseMessage).where(CaseMessage.source_key == source_key)
        )
        return stored

    async def citizen_message(
        self,
        citizen_chat_id: int,
        case_id: int,
        text: str | None,
        photo: str | None,
        source: int | None = None,
    ) -> CitizenRelay:
        """Store a citizen's message; returns whom to relay it to. `source`: the Telegram message's id,
        so that the same message handled twice is stored once. Before anyone accepted the request, the
        message is an addition to it, on the card of whoever accepts. A case whose owner no longer
        coordinates its area (role removed, or changed to another area) is released here, in the same
        transaction: the message waits on the card for whoever accepts, and nobody is told it was sent."""
        check_message_length(text)
        now = self.clock()
        source_key = self._source_key(case_id, "citizen", source)
        async with self._sm() as session, session.begin():
            case = await self._citizen_case(session, citizen_chat_id, case_id)
            before = await self._stored_before(session, source_key)
            if before is not None:
                owner = await self._active_owner(session, case)
                return CitizenRelay(_summary(case), owner, message_id=before.id, duplicate=True)
            if case.status == Status.CLOSED or not case.relay_open:
                raise CaseError("relay.closed")
            message = CaseMessage(
                case_id=case.id,
                from_citizen=True,
                at=now,
                body_enc=self._cipher.encrypt(text),
                photo_enc=self._cipher.encrypt(photo),
                source_key=source_key,
            )
            session.add(message)
            session.add(AuditEntry(at=now, action="case.message", case_id=case.id, detail="from citizen"))
            owner = await self._active_owner(session, case)
            released = owner is None and case.status in OWNED
            if released:
                self._release(session, case, now)
            await session.flush()
            return CitizenRelay(_summary(case), owner, released, message.id)

    async def open_requests(self, citizen_chat_id: int) -> list[CaseSummary]:
        """The person's requests that are not closed (all of them, oldest first): /forget asks about these."""
        async with self._sm() as session:
            cases = await session.scalars(
                select(Case)
                .where(
                    Case.citizen_key == self._cipher.lookup_key(citizen_chat_id),
                    Case.status != Status.CLOSED,
                    Case.purged_at.is_(None),
                )
                .order_by(Case.created_at, Case.id)
            )
            return [_summary(c) for c in cases]

    async def forget_citizen(self, citizen_chat_id: int, *, withdraw: bool = False) -> Forgotten:
        """/forget: the person's requests lose every link to their chat (the code no longer leads back
        to them and nobody can write to them).

        withdraw=False: open requests stay open with their content, reachable only by their code.
        withdraw=True: each open request is withdrawn as the person's own withdrawal does it, and its
        description, phone and every relayed message are erased at once (the anonymous statistical fields
        stay); its open referrals (pending or accepted) are revoked, and the staff of their organisations
        are returned, to be asked to delete what they received. Closed requests keep their content until the
        retention purge either way. One transaction; a second call finds nothing left to do."""
        now = self.clock()
        result = Forgotten()
        async with self._sm() as session, session.begin():
            cases = list(
                await session.scalars(
                    select(Case)
                    .where(Case.citizen_key == self._cipher.lookup_key(citizen_chat_id))
                    .order_by(Case.created_at, Case.id)
                    .with_for_update()
                )
            )
            result.linked = len(cases)
            for case in cases:
                is_open = case.status != Status.CLOSED and case.purged_at is None
                if withdraw and is_open:
                    self._close_as_withdrawn(session, case, now)
                    result.revoked += await self._revoke_referrals(session, case, now)
                    await self._erase_content(session, case, now)
                    result.withdrawn.append((_summary(case), await self._active_owner(session, case)))
                elif is_open:
                    result.kept.append(_summary(case))
                else:
                    result.closed += 1
                case.citizen_key, case.citizen_chat_enc, case.relay_open = None, None, False
                session.add(CaseEvent(case_id=case.id, at=now, kind="conversation_closed"))
                session.add(AuditEntry(at=now, action="case.citizen_forgotten", case_id=case.id))
            return result

    @staticmethod
    async def _erase_content(session: AsyncSession, case: Case, now: datetime) -> None:
        """The description, the phone, every relayed message and the organisations' reasons, now; what
        the retention purge would erase later, but the case's statistical fields and timeline stay."""
        case.description_enc = case.phone_enc = None
        await session.execute(delete(CaseMessage).where(CaseMessage.case_id == case.id))
        await session.execute(update(Referral).where(Referral.case_id == case.id).values(reason_enc=None))
        session.add(CaseEvent(case_id=case.id, at=now, kind="content_erased"))
        session.add(AuditEntry(at=now, action="case.content_erase", case_id=case.id))

    async def _revoke_referrals(self, session: AsyncSession, case: Case, now: datetime) -> list[Notice]:
        referrals = list(
            await session.scalars(
                select(Referral)
                .where(Referral.case_id == case.id, Referral.status.in_(("pending", "accepted")))
                .order_by(Referral.id)
            )
        )
        notices = []
        for referral in referrals:
            referral.status = "revoked"
            referral.reason_enc = None
            detail = f"org={referral.organisation_id}"
            session.add(CaseEvent(case_id=case.id, at=now, kind="referral_revoked", detail=detail))
            session.add(AuditEntry(at=now, action="referral.revoked", case_id=case.id, detail=detail))
            notices.append(
                Notice(
                    "referral.revoked",
                    await self._referral_staff(session, referral),
                    _summary(case),
                    {"referral": str(referral.id)},
                )
            )
        return notices

    @staticmethod
    async def _referral_staff(session: AsyncSession, referral: Referral) -> list[int]:
        """Whoever the referral reached: the organisation's specialists (and its police liaison)."""
        roles = [Role.POLICE, Role.SPECIALIST] if referral.to_police else [Role.SPECIALIST]
        recipients = await session.scalars(
            select(User.telegram_id)
            .join(UserRole)
            .where(UserRole.organisation_id == referral.organisation_id, UserRole.role.in_(roles))
        )
        return sorted({r for r in recipients if r is not None})

    async def close_conversation(self, citizen_chat_id: int, case_id: int) -> tuple[CaseSummary, int | None]:
        """The person ends the conversation: nobody can write to them in the bot (nor they to anyone)
        until they resume it. Returns the case and its owner to tell."""
        now = self.clock()
        async with self._sm() as session, session.begin():
            case = await self._citizen_case(session, citizen_chat_id, case_id)
            case.relay_open = False
            session.add(CaseEvent(case_id=case.id, at=now, kind="conversation_closed"))
            session.add(AuditEntry(at=now, action="case.conversation_close", case_id=case.id))
            return _summary(case), await self._active_owner(session, case)

    async def reopen_conversation(self, citizen_chat_id: int, case_id: int) -> tuple[CaseSummary, int | None]:
        """The person takes back ending the conversation, while the request is open. Returns the case
        and its owner to tell."""
        now = self.clock()
        async with self._sm() as session, session.begin():
            case = await self._citizen_case(session, citizen_chat_id, case_id)
            if case.status == Status.CLOSED:
                raise CaseError("case.already_closed")
            if not case.relay_open:
                case.relay_open = True
                session.add(CaseEvent(case_id=case.id, at=now, kind="conversation_reopened"))
                session.add(AuditEntry(at=now, action="case.conversation_reopen", case_id=case.id))
            return _summary(case), await self._active_owner(session, case)

    async def waiting_messages(
        self, actor_id: int, staff: Sequence[StaffRole], case_id: int
    ) -> list[tuple[int, datetime, str | None, str | None]]:
        """What the person wrote on the case until it was accepted (the newest CARD_MESSAGES, oldest
        first), for its owner: (id, when, text, Telegram file id of a photo). Audited as a read."""
        now = self.clock()
        async with self._sm() as session, session.begin():
            case = await self._owned(session, actor_id, staff, case_id, "messages")
            until = _aware(case.accepted_at) or now
            rows = list(
                await session.scalars(
                    select(CaseMessage)
                    .where(CaseMessage.case_id == case.id, CaseMessage.from_citizen, CaseMessage.at <= until)
                    .order_by(CaseMessage.id.desc())
                    .limit(CARD_MESSAGES)
                )
            )
            if rows:
                session.add(
                    AuditEntry(
                        at=now, actor_id=actor_id, action="case.read", case_id=case.id, detail="messages"
                    )
                )
            return [
                (
                    m.id,
                    _aware(m.at) or m.at,
                    self._cipher.decrypt(m.body_enc),
                    self._cipher.decrypt(m.photo_enc),
                )
                for m in reversed(rows)
            ]

    async def citizen_of(self, case_id: int) -> int | None:
        """The person's chat, to tell them of a change in their request (None after /forget)."""
        async with self._sm() as session:
            case = await session.get(Case, case_id)
            return None if case is None or case.purged_at else self._citizen_chat(case)

    # --- access ----------------------------------------------------------------------------------
    @staticmethod
    def _coordinates(staff: Sequence[StaffRole], case: Case) -> bool:
        return any(r.role == Role.COORDINATOR and r.covers(case.oblast, case.district) for r in staff)

    @staticmethod
    def _oblast_wide(staff: Sequence[StaffRole], case: Case) -> bool:
        """An oblast-wide coordinator (district None) of the case's oblast; of any oblast for a case from
        outside them all."""
        return any(
            r.role == Role.COORDINATOR
            and r.district is None
            and (r.oblast == case.oblast or (r.oblast is not None and is_outside(case.oblast)))
            for r in staff
        )

    @staticmethod
    def sees_content(actor_id: int, case: Case) -> bool:
        """Need to know: of the coordinators in scope, only the case's owner reads its content."""
        return case.owner_id is not None and case.owner_id == actor_id

    async def _org_referral(
        self, session: AsyncSession, staff: Sequence[StaffRole], case_id: int
    ) -> Referral | None:
        """The referral of this case to the actor's organisation, if there is one not declined."""
        org_ids = {
            r.organisation_id for r in staff if r.role in (Role.SPECIALIST, Role.POLICE) and r.organisation_id
        }
        if not org_ids:
            return None
        return await session.scalar(
            select(Referral)
            .where(
                Referral.case_id == case_id,
                Referral.organisation_id.in_(org_ids),
                Referral.status != "declined",
            )
            .order_by(Referral.id.desc())
        )

    async def _record_denial(self, actor_id: int, denial: AccessDenied, detail: str | None = None) -> None:
        """Audit a refused case action, after (and outside) the transaction it stopped."""
        await record_denial(self._sm, self.clock(), actor_id, denial, detail)

    async def _case_for_coordinator(
        self, session: AsyncSession, actor_id: int, staff: Sequence[StaffRole], case_id: int, action: str
    ) -> Case:
        case = await session.get(Case, case_id)
        if case is None or case.purged_at is not None or not self._coordinates(staff, case):
            raise AccessDenied(action, case_id)
        return case

    # --- coordinator -----------------------------------------------------------------------------
    async def coordinators_for(
        self, oblast: str, district: str | None, *, regional_only: bool = False
    ) -> list[int]:
        """Telegram ids of the coordinators whose scope covers (oblast, district)."""
        async with self._sm() as session:
            return await self._coordinators(session, oblast, district, regional_only)

    @staticmethod
    async def _coordinators(
        session: AsyncSession, oblast: str, district: str | None, regional_only: bool
    ) -> list[int]:
        rows = (
            await session.execute(
                select(UserRole, User.telegram_id).join(User).where(UserRole.role == Role.COORDINATOR)
            )
        ).all()
        if is_outside(oblast):  # from no oblast of the directory: every oblast-wide coordinator
            return sorted({tid for role, tid in rows if tid is not None and role.district is None})
        return sorted(
            {
                tid
                for role, tid in rows
                if tid is not None
                and role.oblast == oblast
                and (role.district is None or (not regional_only and role.district == district))
            }
        )

    async def release_orphans(self) -> list[CaseSummary]:
        """Open cases whose owner no longer coordinates their area (role removed by an admin, replaced by
        an invite for another role or area, or their account erased) go back to "new", for the area's
        coordinators to take over; the person's messages meanwhile are stored, and reach whoever accepts.
        Returns the cases released."""
        return [case for case, _owner in await self.release_orphans_with_owners()]

    async def release_orphans_with_owners(self) -> list[tuple[CaseSummary, int | None]]:
        """`release_orphans`, with each case's previous owner (users.id)."""
        now = self.clock()
        async with self._sm() as session, session.begin():
            covering = (
                select(UserRole.id)
                .where(
                    UserRole.user_id == Case.owner_id,
                    UserRole.role == Role.COORDINATOR,
                    or_(
                        and_(
                            UserRole.oblast == Case.oblast,
                            or_(UserRole.district.is_(None), UserRole.district == Case.district),
                        ),
                        # a case from outside every oblast: any oblast-wide coordinator covers it
                        and_(Case.oblast.in_(OUTSIDE), UserRole.district.is_(None)),
                    ),
                )
                .exists()
            )
            orphans = list(
                await session.scalars(
                    select(Case)
                    .where(Case.status.in_(OWNED), or_(Case.owner_id.is_(None), ~covering))
                    .order_by(Case.id)
                    .with_for_update()
                )
            )
            released = []
            for case in orphans:
                previous = case.owner_id
                self._release(session, case, now)
                released.append((_summary(case), previous))
            return released

    @staticmethod
    def _release(session: AsyncSession, case: Case, now: datetime) -> None:
        previous = case.owner_id
        case.status = Status.NEW
        case.owner_id = None
        # The take-over notice is the reminder; if nobody accepts within the deadline from now (not
        # from the filing, long past), it escalates as a new case would.
        case.reminded_at = now
        case.escalated_at = None
        session.add(CaseEvent(case_id=case.id, at=now, kind="released"))
        session.add(AuditEntry(at=now, action="case.release", case_id=case.id, detail=f"owner={previous}"))

    async def accept(self, actor_id: int, staff: Sequence[StaffRole], case_id: int) -> CaseSummary:
        """The first coordinator in scope to accept owns the case; the others are told it is taken."""
        now = self.clock()
        async with self._sm() as session, session.begin():
            await self._case_for_coordinator(session, actor_id, staff, case_id, "accept")
            # One conditional UPDATE decides the race between two coordinators pressing at once.
            won = await session.execute(
                update(Case)
                .where(Case.id == case_id, Case.status == Status.NEW)
                .values(status=Status.ACCEPTED, owner_id=actor_id, accepted_at=now)
            )
            if won.rowcount != 1:  # type: ignore[attr-defined]
                raise CaseError("case.already_taken")
            session.add(CaseEvent(case_id=case_id, at=now, actor_id=actor_id, kind="accepted"))
            session.add(AuditEntry(at=now, actor_id=actor_id, action="case.accept", case_id=case_id))
        async with self._sm() as session:
            accepted = await session.get(Case, case_id)
            assert accepted is not None
            return _summary(accepted)

    async def card(self, actor_id: int, staff: Sequence[StaffRole], case_id: int) -> CaseCard:
        """The case for a coordinator in scope: its content for the owner (the read is audited as
        "case.read"), the minimum data for anyone else (audited as "case.view", not a read)."""
        now = self.clock()
        async with self._sm() as session, session.begin():
            case = await self._case_for_coordinator(session, actor_id, staff, case_id, "read")
            if not self.sees_content(actor_id, case):
                session.add(AuditEntry(at=now, actor_id=actor_id, action="case.view", case_id=case_id))
                return self._minimum_card(actor_id, staff, case, now)
            session.add(AuditEntry(at=now, actor_id=actor_id, action="case.read", case_id=case_id))
            return await self._content_card(session, actor_id, staff, case, now)

    def _minimum_card(self, actor_id: int, staff: Sequence[StaffRole], case: Case, now: datetime) -> CaseCard:
        return CaseCard(
            summary=_summary(case, self._is_overdue(case, now)),
            description=None,
            phone=None,
            consent_orgs=False,
            consent_police=False,
            sex=None,
            age_group=case.age_group,
            owner_is_me=False,
            victim_status=(None, None, None),
            referrals=(),
            timeline=(),
            messages=(),
            content_shown=False,
            may_break_glass=self._oblast_wide(staff, case),
            may_reassign=self._may_reassign(staff, case),
        )

    def _may_reassign(self, staff: Sequence[StaffRole], case: Case) -> bool:
        return self._oblast_wide(staff, case) and case.status in OWNED_OPEN and case.owner_id is not None

    async def _content_card(
        self, session: AsyncSession, actor_id: int, staff: Sequence[StaffRole], case: Case, now: datetime
    ) -> CaseCard:
        referrals, events = await referrals_and_timeline(session, case.id)
        messages = await session.scalars(
            select(CaseMessage)
            .where(CaseMessage.case_id == case.id)
            .order_by(CaseMessage.id.desc())
            .limit(CARD_MESSAGES)
        )
        return CaseCard(
            summary=_summary(case, self._is_overdue(case, now)),
            description=self._cipher.decrypt(case.description_enc),
            phone=self._cipher.decrypt(case.phone_enc),
            consent_orgs=case.consent_orgs_at is not None,
            consent_police=case.consent_police_at is not None,
            sex=case.sex,
            age_group=case.age_group,
            owner_is_me=case.owner_id == actor_id,
            victim_status=(
                _aware(case.victim_status_applied_on),
                case.victim_status_decision,
                _aware(case.victim_status_decided_on),
            ),
            referrals=tuple((r.id, name, r.status, r.to_police) for r, name in referrals),
            timeline=tuple((_aware(e.at) or e.at, e.kind, e.detail) for e in events),
            messages=tuple(
                (
                    _aware(m.at) or m.at,
                    m.from_citizen,
                    self._cipher.decrypt(m.body_enc),
                    m.photo_enc is not None,
                )
                for m in reversed(list(messages))
            ),
            content_shown=True,
            may_break_glass=False,
            may_reassign=self._may_reassign(staff, case),
        )

    async def break_glass(
        self, actor_id: int, staff: Sequence[StaffRole], case_id: int, reason: str
    ) -> tuple[CaseCard, int | None]:
        """An oblast-wide coordinator opens the content of a case they do not own, for a stated reason:
        audited as "case.break_glass" with the reason, a case event; returns the card with its content
        and the owner's Telegram id to tell (None: no owner, or the actor is the owner). A district
        coordinator has no break-glass (refused and audited here)."""
        reason = " ".join(reason.split())
        if not reason:
            raise CaseError("access.reason_empty")
        if len(reason) > BREAK_GLASS_REASON_LIMIT:
            raise CaseError("access.reason_too_long")
        now = self.clock()
        try:
            async with self._sm() as session, session.begin():
                case = await self._case_for_coordinator(session, actor_id, staff, case_id, "case.break_glass")
                if not self._oblast_wide(staff, case):
                    raise AccessDenied("case.break_glass", case_id)
                session.add(CaseEvent(case_id=case_id, at=now, actor_id=actor_id, kind="break_glass"))
                session.add(
                    AuditEntry(
                        at=now,
                        actor_id=actor_id,
                        action="case.break_glass",
                        case_id=case_id,
                        detail=reason[:200],
                    )
                )
                card = await self._content_card(session, actor_id, staff, case, now)
                owner = None if case.owner_id == actor_id else await self._active_owner(session, case)
                return card, owner
        except AccessDenied as denial:
            await self._record_denial(actor_id, denial)
            raise

    async def reassign_candidates(
        self, actor_id: int, staff: Sequence[StaffRole], case_id: int
    ) -> list[Colleague]:
        """The coordinators an oblast-wide coordinator may hand the case to: those whose scope covers
        it, neither its owner nor the actor (taking content for oneself is break-glass, not this)."""
        try:
            async with self._sm() as session:
                case = await self._reassignable(session, actor_id, staff, case_id)
                return await self._colleagues(session, case, exclude={actor_id, case.owner_id})
        except AccessDenied as denial:
            await self._record_denial(actor_id, denial)
            raise

    async def _reassignable(
        self, session: AsyncSession, actor_id: int, staff: Sequence[StaffRole], case_id: int
    ) -> Case:
        case = await self._case_for_coordinator(session, actor_id, staff, case_id, "case.reassign")
        if not self._oblast_wide(staff, case):
            raise AccessDenied("case.reassign", case_id)
        if case.status not in OWNED_OPEN or case.owner_id is None:
            raise CaseError("access.reassign_not_open")
        return case

    async def _colleagues(
        self, session: AsyncSession, case: Case, exclude: set[int | None]
    ) -> list[Colleague]:
        rows = (
            await session.execute(
                select(UserRole, User.telegram_id)
                .join(User)
                .where(UserRole.role == Role.COORDINATOR)
                .order_by(UserRole.district.is_not(None).desc(), UserRole.district, User.telegram_id)
            )
        ).all()
        return [
            Colleague(role.user_id, telegram_id, role.district)
            for role, telegram_id in rows
            if telegram_id is not None
            and role.user_id not in exclude
            and StaffRole(role.role, role.organisation_id, role.oblast, role.district).covers(
                case.oblast, case.district
            )
        ]

    async def reassign(
        self, actor_id: int, staff: Sequence[StaffRole], case_id: int, to_user_id: int
    ) -> tuple[CaseSummary, int, int | None]:
        """An oblast-wide coordinator hands an open, owned case to another coordinator whose scope
        covers it. Audited ("case.reassign"), a case event; returns the case, the new owner's and
        the previous owner's Telegram ids (None when the previous one no longer coordinates)."""
        now = self.clock()
        try:
            async with self._sm() as session, session.begin():
                case = await self._reassignable(session, actor_id, staff, case_id)
                await session.refresh(case, with_for_update=True)
                previous = case.owner_id
                if case.status not in OWNED_OPEN or previous is None:
                    raise CaseError("access.reassign_not_open")
                if to_user_id == previous:
                    raise CaseError("access.reassign_same_owner")
                targets = {c.user_id: c for c in await self._colleagues(session, case, exclude={actor_id})}
                if to_user_id not in targets:
                    raise AccessDenied("case.reassign", case_id)
                previous_telegram = await self._active_owner(session, case)
                # Conditional: a release or another reassignment in between wins, this one is refused.
                moved = await session.execute(
                    update(Case)
                    .where(Case.id == case_id, Case.owner_id == previous, Case.status.in_(OWNED_OPEN))
                    .values(owner_id=to_user_id)
                )
                if moved.rowcount != 1:  # type: ignore[attr-defined]
                    raise CaseError("access.reassign_not_open")
                detail = f"from={previous} to={to_user_id}"
                session.add(
                    CaseEvent(case_id=case_id, at=now, actor_id=actor_id, kind="reassigned", detail=detail)
                )
                session.add(
                    AuditEntry(
                        at=now, actor_id=actor_id, action="case.reassign", case_id=case_id, detail=detail
                    )
                )
                await session.refresh(case)
                return _summary(case), targets[to_user_id].telegram_id, previous_telegram
        except AccessDenied as denial:
            await self._record_denial(actor_id, denial, f"to={to_user_id}")
            raise

    async def _owned(
        self, session: AsyncSession, actor_id: int, staff: Sequence[StaffRole], case_id: int, action: str
    ) -> Case:
        case = await self._case_for_coordinator(session, actor_id, staff, case_id, action)
        await session.refresh(case, with_for_update=True)  # one change at a time (PostgreSQL)
        if case.owner_id != actor_id:
            raise CaseError("case.not_owner")
        return case

    def _move(
        self,
        session: AsyncSession,
        case: Case,
        to: Status,
        actor_id: int | None,
        now: datetime,
        detail: str | None = None,
    ) -> None:
        if to not in ALLOWED_MOVES[Status(case.status)]:
            raise CaseError("case.illegal_move")
        case.status = to.value
        session.add(CaseEvent(case_id=case.id, at=now, actor_id=actor_id, kind=to.value, detail=detail))
        session.add(
            AuditEntry(at=now, actor_id=actor_id, action=f"case.{to.value}", case_id=case.id, detail=detail)
        )

    async def refer(
        self, actor_id: int, staff: Sequence[StaffRole], case_id: int, organisation_id: int
    ) -> tuple[CaseSummary, list[int]]:
        """Refer to an organisation (the police HQ counts as one); returns whom to notify there."""
        now = self.clock()
        try:
            return await self._refer(actor_id, staff, case_id, organisation_id, now)
        except AccessDenied as denial:
            await self._record_denial(actor_id, denial, f"org={organisation_id}")
            raise

    async def _refer(
        self, actor_id: int, staff: Sequence[StaffRole], case_id: int, organisation_id: int, now: datetime
    ) -> tuple[CaseSummary, list[int]]:
        async with self._sm() as session, session.begin():
            case = await self._owned(session, actor_id, staff, case_id, "refer")
            org = await session.get(Organisation, organisation_id)
            if org is None or not org.active:
                raise CaseError("referral.unknown_organisation")
            if not serves_area(org.oblast, org.district, case.oblast, case.district):
                # Not offered for this case: forged callback data, or a direct call. Refused, audited.
                raise AccessDenied("refer.outside_area", case_id)
            to_police = org.kind == "police"
            if to_police and case.consent_police_at is None:
                raise CaseError("referral.no_police_consent")
            if not to_police and case.consent_orgs_at is None:
                raise CaseError("referral.no_consent")
            open_ref = await session.scalar(
                select(Referral.id).where(
                    Referral.case_id == case_id,
                    Referral.organisation_id == organisation_id,
                    Referral.status != "declined",
                )
            )
            if open_ref is not None:
                raise CaseError("referral.duplicate")
            self._move(session, case, Status.REFERRED, actor_id, now, detail=f"org={organisation_id}")
            session.add(
                Referral(
                    case_id=case_id,
                    organisation_id=organisation_id,
                    to_police=to_police,
                    created_by=actor_id,
                    created_at=now,
                )
            )
            role = Role.POLICE if to_police else Role.SPECIALIST
            recipients = (
                await session.scalars(
                    select(User.telegram_id)
                    .join(UserRole)
                    .where(
                        UserRole.organisation_id == organisation_id,
                        UserRole.role.in_([role, Role.SPECIALIST]),
                    )
                )
            ).all()
            return _summary(case), sorted({r for r in recipients if r is not None})

    async def set_status(
        self,
        actor_id: int,
        staff: Sequence[StaffRole],
        case_id: int,
        to: Status,
        outcome: Outcome | None = None,
    ) -> tuple[CaseSummary, int | None]:
        """Move an owned case to in_progress or closed(outcome); returns the citizen's chat to tell."""
        now = self.clock()
        if to == Status.CLOSED and outcome is None:
            raise CaseError("case.outcome_needed")
        if to not in (Status.IN_PROGRESS, Status.CLOSED):
            raise CaseError("case.illegal_move")
        async with self._sm() as session, session.begin():
            case = await self._owned(session, actor_id, staff, case_id, to.value)
            self._move(session, case, to, actor_id, now, detail=outcome.value if outcome else None)
            if to == Status.CLOSED:
                case.outcome, case.closed_at, case.relay_open = outcome, now, False
            return _summary(case), self._citizen_chat(case)

    def _citizen_chat(self, case: Case) -> int | None:
        chat = self._cipher.decrypt(case.citizen_chat_enc)
        return int(chat) if chat else None

    async def record_victim_status(
        self,
        actor_id: int,
        staff: Sequence[StaffRole],
        case_id: int,
        *,
        applied_on: datetime | None,
        decision: str | None,
        decided_on: datetime | None,
    ) -> None:
        if decision not in (None, "pending", "granted", "refused"):
            raise CaseError("victim_status.bad_decision")
        if applied_on and decided_on and decided_on < applied_on:
            raise CaseError("victim_status.bad_dates")
        async with self._sm() as session, session.begin():
            case = await self._owned(session, actor_id, staff, case_id, "victim_status")
            self._set_victim_status(session, case, actor_id, applied_on, decision, decided_on)

    async def record_victim_status_step(
        self, actor_id: int, staff: Sequence[StaffRole], case_id: int, step: str
    ) -> None:
        """A step pressed on the card, dated today on the service's clock: "applied" (the decision
        pending), or "granted"/"refused" (decided today; applied today too if no date was recorded)."""
        if step not in VICTIM_STATUS_STEPS:
            raise CaseError("victim_status.bad_decision")
        today = self.clock()
        async with self._sm() as session, session.begin():
            case = await self._owned(session, actor_id, staff, case_id, "victim_status")
            applied = _aware(case.victim_status_applied_on) or today
            if step == "applied":
                self._set_victim_status(session, case, actor_id, applied, "pending", None)
            elif today < applied:
                raise CaseError("victim_status.bad_dates")
            else:
                self._set_victim_status(session, case, actor_id, applied, step, today)

    def _set_victim_status(
        self,
        session: AsyncSession,
        case: Case,
        actor_id: int,
        applied_on: datetime | None,
        decision: str | None,
        decided_on: datetime | None,
    ) -> None:
        now, case_id = self.clock(), case.id
        case.victim_status_applied_on, case.victim_status_decision = applied_on, decision
        case.victim_status_decided_on = decided_on
        session.add(
            CaseEvent(case_id=case_id, at=now, actor_id=actor_id, kind="victim_status", detail=decision)
        )
        session.add(AuditEntry(at=now, actor_id=actor_id, action="case.victim_status", case_id=case_id))

    async def staff_message(
        self,
        actor_id: int,
        staff: Sequence[StaffRole],
        case_id: int,
        text: str | None,
        photo: str | None,
        source: int | None = None,
    ) -> StaffRelay:
        """The case owner writes to the citizen; returns the citizen's chat to relay to. `source`: the
        Telegram message's id and the sender's chat, as in citizen_message."""
        check_message_length(text)
        now = self.clock()
        async with self._sm() as session, session.begin():
            case = await self._owned(session, actor_id, staff, case_id, "message")
            chat = self._citizen_chat(case)
            if case.status == Status.CLOSED or not case.relay_open or chat is None:
                raise CaseError("relay.closed")
            source_key = self._source_key(case_id, f"staff:{actor_id}", source)
            before = await self._stored_before(session, source_key)
            if before is not None:
                return StaffRelay(_summary(case), chat, before.id, duplicate=True)
            message = CaseMessage(
                case_id=case_id,
                from_citizen=False,
                sender_id=actor_id,
                at=now,
                body_enc=self._cipher.encrypt(text),
                photo_enc=self._cipher.encrypt(photo),
                source_key=source_key,
            )
            session.add(message)
            session.add(
                AuditEntry(
                    at=now, actor_id=actor_id, action="case.message", case_id=case_id, detail="to citizen"
                )
            )
            await session.flush()
            return StaffRelay(_summary(case), chat, message.id)

    async def list_for_coordinator(
        self, staff: Sequence[StaffRole], status: Status | None, page: int
    ) -> tuple[list[CaseSummary], int]:
        """Cases in scope: overdue first, then newest; open ones unless a status is asked for."""
        scopes = [r for r in staff if r.role == Role.COORDINATOR]
        if not scopes:
            return [], 0
        now = self.clock()
        conditions = [
            and_(Case.oblast == r.oblast, Case.district == r.district)
            if r.district
            else or_(Case.oblast == r.oblast, Case.oblast.in_(OUTSIDE))
            for r in scopes
        ]
        query = select(Case).where(or_(*conditions), Case.purged_at.is_(None))
        query = query.where(Case.status == status) if status else query.where(Case.status != Status.CLOSED)
        async with self._sm() as session:
            total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
            deadline = now - self.accept_within
            overdue_first = (and_(Case.status == Status.NEW, Case.created_at < deadline)).desc()
            cases = await session.scalars(
                query.order_by(overdue_first, Case.created_at.desc())
                .offset(page * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
            return [_summary(c, self._is_overdue(c, now)) for c in cases], total

    def _is_overdue(self, case: Case, now: datetime) -> bool:
        created = _aware(case.created_at)
        return case.status == Status.NEW and created is not None and now - created > self.accept_within

    # --- organisations (specialists, police liaison) ---------------------------------------------
    async def referrals_for(self, staff: Sequence[StaffRole], page: int) -> tuple[list[ReferralView], int]:
        org_ids = {
            r.organisation_id for r in staff if r.role in (Role.SPECIALIST, Role.POLICE) and r.organisation_id
        }
        if not org_ids:
            return [], 0
        async with self._sm() as session:
            base = (
                select(Referral, Case, Organisation.name)
                .join(Case, Case.id == Referral.case_id)
                .join(Organisation, Organisation.id == Referral.organisation_id)
                .where(
                    Referral.organisation_id.in_(org_ids),
                    Referral.status != "declined",
                    Case.purged_at.is_(None),
                    Case.status != Status.CLOSED,
                )
            )
            total = int(await session.scalar(select(func.count()).select_from(base.subquery())) or 0)
            rows = (
                await session.execute(
                    base.order_by(Referral.created_at.desc()).offset(page * PAGE_SIZE).limit(PAGE_SIZE)
                )
            ).all()
            return [self._referral_view(r, c, name, with_content=False) for r, c, name in rows], total

    def _referral_view(
        self, referral: Referral, case: Case, organisation: str, *, with_content: bool
    ) -> ReferralView:
        shared = with_content and referral.status == "accepted"
        return ReferralView(
            id=referral.id,
            case=_summary(case),
            organisation_id=referral.organisation_id,
            organisation=organisation,
            status=referral.status,
            to_police=referral.to_police,
            description=self._cipher.decrypt(case.description_enc) if shared else None,
            phone=self._cipher.decrypt(case.phone_enc) if shared else None,
        )

    async def referral(self, actor_id: int, staff: Sequence[StaffRole], referral_id: int) -> ReferralView:
        """What the referral shares with the organisation; content only once accepted (audited)."""
        async with self._sm() as session, session.begin():
            referral = await session.get(Referral, referral_id)
            mine = referral is not None and await self._org_referral(session, staff, referral.case_id)
            if referral is None or not mine or mine.id != referral.id:
                raise AccessDenied("referral.read", referral.case_id if referral else None)
            case = await session.get(Case, referral.case_id)
            assert case is not None
            if case.purged_at is not None:
                raise CaseError("case.not_found")
            if referral.status == "accepted":
                session.add(
                    AuditEntry(
                        at=self.clock(),
                        actor_id=actor_id,
                        action="case.read",
                        case_id=case.id,
                        detail=f"referral={referral.id}",
                    )
                )
            name = await self._organisation_name(session, referral.organisation_id)
            return self._referral_view(referral, case, name, with_content=True)

    @staticmethod
    async def _organisation_name(session: AsyncSession, organisation_id: int) -> str:
        return await session.scalar(select(Organisation.name).where(Organisation.id == organisation_id)) or ""

    async def answer_referral(
        self,
        actor_id: int,
        staff: Sequence[StaffRole],
        referral_id: int,
        accept: bool,
        reason: str | None = None,
    ) -> tuple[ReferralView, int | None]:
        """The organisation accepts or declines; returns the case owner's Telegram id to tell."""
        now = self.clock()
        async with self._sm() as session, session.begin():
            referral = await session.get(Referral, referral_id, with_for_update=True)
            mine = referral is not None and await self._org_referral(session, staff, referral.case_id)
            if referral is None or not mine or mine.id != referral.id:
                raise AccessDenied("referral.answer", referral.case_id if referral else None)
            if referral.status != "pending":
                raise CaseError("referral.already_answered")
            case = await session.get(Case, referral.case_id)
            assert case is not None
            if case.status == Status.CLOSED:
                raise CaseError("case.already_closed")
            referral.status = "accepted" if accept else "declined"
            referral.answered_at, referral.answered_by = now, actor_id
            referral.reason_enc = self._cipher.encrypt(reason[:500] if reason else None)
            kind = "referral_accepted" if accept else "referral_declined"
            session.add(
                CaseEvent(
                    case_id=case.id,
                    at=now,
                    actor_id=actor_id,
                    kind=kind,
                    detail=f"org={referral.organisation_id}",
                )
            )
            session.add(
                AuditEntry(at=now, actor_id=actor_id, action=f"referral.{referral.status}", case_id=case.id)
            )
            if accept and case.status == Status.REFERRED:
                self._move(
                    session, case, Status.IN_PROGRESS, actor_id, now, detail=f"org={referral.organisation_id}"
                )
            owner = await self._active_owner(session, case)
            name = await self._organisation_name(session, referral.organisation_id)
            return self._referral_view(referral, case, name, with_content=True), owner

    async def referral_thread(
        self, actor_id: int, staff: Sequence[StaffRole], referral_id: int, *, to_organisation: bool
    ) -> ReferralThread:
        """Whether the actor may write on this referral now: checked before the writing mode opens,
        and again by `referral_message` for every message (ownership and roles change meanwhile)."""
        async with self._sm() as session:
            return await self._thread(session, staff, actor_id, referral_id, to_organisation)

    async def referral_message(
        self, actor_id: int, staff: Sequence[StaffRole], referral_id: int, text: str, *, to_organisation: bool
    ) -> ReferralThread:
        """A message between the case's owner and the organisation a referral went to, in either
        direction; returns whom to pass it to. Its text is not stored here: only the outbox holds it
        (encrypted) until sent. The audit log records that one was passed on, not what it said."""
        check_message_length(text)  # as Telegram counts it (the caller escapes it, and must not cut it)
        to = "organisation" if to_organisation else "coordinator"
        async with self._sm() as session, session.begin():
            thread = await self._thread(session, staff, actor_id, referral_id, to_organisation)
            session.add(
                AuditEntry(
                    at=self.clock(),
                    actor_id=actor_id,
                    action="referral.message",
                    case_id=thread.case.id,
                    detail=f"referral={referral_id} to={to}",
                )
            )
            return thread

    async def _thread(
        self,
        session: AsyncSession,
        staff: Sequence[StaffRole],
        actor_id: int,
        referral_id: int,
        to_organisation: bool,
    ) -> ReferralThread:
        referral = await session.get(Referral, referral_id)
        case = await session.get(Case, referral.case_id) if referral is not None else None
        if referral is None or case is None:
            raise AccessDenied("referral.message")
        if to_organisation:
            # Only the case's owner while they coordinate its area: the button may predate a handover.
            allowed = self._coordinates(staff, case) and case.owner_id == actor_id
        else:
            # The organisation's staff the referral reached (a declined one too: they may explain).
            allowed = any(
                r.organisation_id == referral.organisation_id
                and (r.role == Role.SPECIALIST or (r.role == Role.POLICE and referral.to_police))
                for r in staff
            )
        if not allowed:
            raise AccessDenied("referral.message", case.id)
        if case.status == Status.CLOSED or case.purged_at is not None:
            raise CaseError("referrals.closed")
        if referral.status == "revoked":
            raise CaseError("referrals.revoked")
        if to_organisation:
            recipients = await self._referral_staff(session, referral)
            if not recipients:
                raise CaseError("referrals.nobody_there")
        else:
            owner = await self._active_owner(session, case)
            if owner is None:
                raise CaseError("referrals.no_coordinator")
            recipients = [owner]
        name = await self._organisation_name(session, referral.organisation_id)
        return ReferralThread(referral.id, _summary(case), name, tuple(recipients))

    async def declined_reason(self, referral_id: int) -> str | None:
        async with self._sm() as session:
            referral = await session.get(Referral, referral_id)
            return self._cipher.decrypt(referral.reason_enc) if referral else None

    # --- deadlines and retention -----------------------------------------------------------------
    async def due_notices(self) -> list[Notice]:
        """Overdue steps at this instant. Nothing is marked here: the caller queues the messages, then
        calls `mark_notified`, so a crash in between repeats the (idempotent) queueing, never loses it."""
        now = self.clock()
        notices: list[Notice] = []
        async with self._sm() as session:
            late = await session.scalars(
                select(Case).where(
                    Case.status == Status.NEW,
                    Case.created_at < now - self.accept_within,
                    Case.purged_at.is_(None),
                )
            )
            for case in late:
                if case.reminded_at is None:
                    notices.append(
                        Notice(
                            "case.remind",
                            await self._coordinators(session, case.oblast, case.district, False),
                            _summary(case, True),
                        )
                    )
                elif (
                    case.escalated_at is None
                    and now - (_aware(case.reminded_at) or now) >= self.accept_within
                ):
                    regional = await self._coordinators(session, case.oblast, case.district, True)
                    notices.append(Notice("case.escalate", regional, _summary(case, True), {"admins": "1"}))
            pending = (
                await session.execute(
                    select(Referral, Case)
                    .join(Case)
                    .where(
                        Referral.status == "pending",
                        Referral.created_at < now - self.referral_within,
                        Referral.reminded_at.is_(None),
                        Case.status != Status.CLOSED,
                    )
                )
            ).all()
            for referral, case in pending:
                recipients = (
                    await session.scalars(
                        select(User.telegram_id)
                        .join(UserRole)
                        .where(UserRole.organisation_id == referral.organisation_id)
                    )
                ).all()
                notices.append(
                    Notice(
                        "referral.remind",
                        sorted({r for r in recipients if r is not None}),
                        _summary(case),
                        {"referral": str(referral.id)},
                    )
                )
        return notices

    async def mark_notified(self, notices: list[Notice]) -> None:
        """Record that these notices were queued: each is raised once."""
        now = self.clock()
        async with self._sm() as session, session.begin():
            for notice in notices:
                if notice.kind == "referral.remind":
                    referral = await session.get(Referral, int(notice.extra["referral"]))
                    if referral is not None and referral.reminded_at is None:
                        referral.reminded_at = now
                else:
                    case = await session.get(Case, notice.case.id)
                    if case is None:
                        continue
                    if notice.kind == "case.remind" and case.reminded_at is None:
                        case.reminded_at = now
                    elif notice.kind == "case.escalate" and case.escalated_at is None:
                        case.escalated_at = now
                session.add(AuditEntry(at=now, action=notice.kind, case_id=notice.case.id))

    async def purge_closed(self, retention_days: int) -> int:
        """Closed cases older than the retention period lose content, contact and messages; the
        anonymous statistics (situation, needs, district, sex, age group, outcome, dates) stay."""
        now = self.clock()
        cutoff = now - timedelta(days=retention_days)
        async with self._sm() as session, session.begin():
            cases = list(
                await session.scalars(
                    select(Case).where(
                        Case.status == Status.CLOSED, Case.closed_at < cutoff, Case.purged_at.is_(None)
                    )
                )
            )
            for case in cases:
                case.description_enc = case.phone_enc = case.citizen_chat_enc = None
                case.citizen_key = None
                case.purged_at = now
                for message in await session.scalars(
                    select(CaseMessage).where(CaseMessage.case_id == case.id)
                ):
                    await session.delete(message)
                for referral in await session.scalars(select(Referral).where(Referral.case_id == case.id)):
                    referral.reason_enc = None
                session.add(AuditEntry(at=now, action="case.purge", case_id=case.id))
            return len(cases)

    async def _active_owner(self, session: AsyncSession, case: Case) -> int | None:
        """The owner's Telegram id while they still coordinate the case's area; a removed coordinator
        gets nothing more of it."""
        if case.owner_id is None:
            return None
        roles = await session.scalars(
            select(UserRole).where(UserRole.user_id == case.owner_id, UserRole.role == Role.COORDINATOR)
        )
        staff = [StaffRole(r.role, r.organisation_id, r.oblast, r.district) for r in roles]
        return await self._telegram_id(session, case.owner_id) if self._coordinates(staff, case) else None

    @staticmethod
    async def _telegram_id(session: AsyncSession, user_id: int | None) -> int | None:
        if user_id is None:
            return None
        return await session.scalar(select(User.telegram_id).where(User.id == user_id))
