"""Tables. Only what the product needs to keep; SECURITY.md, "Personal data at rest", says how each
column is kept."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, utcday, utcnow


class User(Base):
    """Someone the bot has to remember: a citizen who chose a language, or a member of staff. A person who
    only reads leaves no row (bot/services/users.py). Holds no name or username.

    A citizen's Telegram id is never stored in clear: `telegram_key` (a keyed hash) finds the row,
    `chat_enc` (encrypted) lets the bot write first. Staff keep `telegram_id` in clear as well: what
    they do must be attributable to them."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_key: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    chat_enc: Mapped[bytes | None] = mapped_column(nullable=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)  # staff only
    # None until the person picks a language; until then it follows their Telegram client.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # The day only (00:00 UTC): a first-contact time to the second would link the row to a request
    # filed seconds later.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcday, nullable=False)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )


class UserRole(Base):
    """A staff role granted to a user, with its organisation and scope (admins come from ADMIN_IDS).

    Scope: `oblast` always; `district` None means the whole oblast (a regional coordinator)."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_user_roles_user_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), nullable=True
    )
    oblast: Mapped[str | None] = mapped_column(String(40), nullable=True)
    district: Mapped[str | None] = mapped_column(String(60), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    user: Mapped[User] = relationship(back_populates="roles")


class FsmState(Base):
    """aiogram FSM state and data, so a dialog survives a restart of the bot (bot/storage.py).

    The key names the chat and the person by keyed hashes only; a dialog left for 24 hours is gone."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # Keyed hash of the person's Telegram id, so /forget can find every dialog of one person.
    telegram_key: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    state: Mapped[str | None] = mapped_column(String(255), nullable=True)
    data: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    # Set by the storage on every write, from its own clock (no onupdate: a value equal to the loaded
    # one would be skipped and replaced by the server's time).
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False, index=True
    )


class Organisation(Base):
    """A subject of the programme: social services centre, district administration, NGO, police HQ..."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    oblast: Mapped[str] = mapped_column(String(40), nullable=False)
    district: Mapped[str | None] = mapped_column(String(60), nullable=True)  # None: works region-wide
    active: Mapped[bool] = mapped_column(default=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class Invite(Base):
    """A one-time, expiring enrolment link. Only the token's hash is kept."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    oblast: Mapped[str] = mapped_column(String(40), nullable=False)
    district: Mapped[str | None] = mapped_column(String(60), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # True: the role is added to those the person holds; False: it replaces them (old cases released).
    keeps_roles: Mapped[bool] = mapped_column(default=False, nullable=False)


class Case(Base):
    """An anonymous help request. Free text, contact and the citizen's chat are encrypted at rest."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    outcome: Mapped[str | None] = mapped_column(String(30), nullable=True)
    situation: Mapped[str] = mapped_column(String(30), nullable=False)
    needs: Mapped[str] = mapped_column(String(300), nullable=False, default="")  # comma-separated Need values
    oblast: Mapped[str] = mapped_column(String(40), nullable=False)
    district: Mapped[str | None] = mapped_column(String(60), nullable=True, index=True)
    community: Mapped[str | None] = mapped_column(String(60), nullable=True)
    urgent: Mapped[bool] = mapped_column(default=False, nullable=False)
    contact: Mapped[str] = mapped_column(String(10), nullable=False)  # "bot" or "phone"
    description_enc: Mapped[bytes | None] = mapped_column(nullable=True)
    phone_enc: Mapped[bytes | None] = mapped_column(nullable=True)
    citizen_chat_enc: Mapped[bytes | None] = mapped_column(nullable=True)
    # Keyed hash of the citizen's Telegram id: finds "my requests" without storing the id in clear.
    citizen_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    consent_orgs_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    consent_police_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sex: Mapped[str | None] = mapped_column(String(10), nullable=True)
    age_group: Mapped[str | None] = mapped_column(String(10), nullable=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    relay_open: Mapped[bool] = mapped_column(default=True, nullable=False)
    victim_status_applied_on: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    victim_status_decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    victim_status_decided_on: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Referral(Base):
    """A case sent to an organisation (or the police), which accepts or declines it."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    to_police: Mapped[bool] = mapped_column(default=False, nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    reason_enc: Mapped[bytes | None] = mapped_column(nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    answered_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CaseEvent(Base):
    """The case timeline: every move, timestamped. Holds no free text."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)


class CaseMessage(Base):
    """A message relayed between the citizen and the staff on the case, encrypted."""

    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_citizen: Mapped[bool] = mapped_column(nullable=False)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    body_enc: Mapped[bytes | None] = mapped_column(nullable=True)
    photo_enc: Mapped[bytes | None] = mapped_column(nullable=True)  # Telegram file id of a photo
    # A keyed hash of the Telegram message it came from: the same update handled twice stores it once.
    source_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class AuditEntry(Base):
    """Who read which case's content, every change, and every refused staff action."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # Someone with no stored row (a citizen who pressed a forged staff button): their keyed hash only.
    actor_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)


class ProgrammeRow(Base):
    """A programme of the catalogue, loaded from data/programmes/ on start (the files are the source)."""

    __tablename__ = "programmes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    oblast: Mapped[str] = mapped_column(String(40), nullable=False)
    title_uk: Mapped[str] = mapped_column(Text, nullable=False)
    title_en: Mapped[str] = mapped_column(Text, nullable=False)
    first_year: Mapped[int] = mapped_column(Integer, nullable=False)
    last_year: Mapped[int] = mapped_column(Integer, nullable=False)


class MeasureRow(Base):
    __tablename__ = "measures"
    __table_args__ = (UniqueConstraint("programme_id", "task_number", "number", name="uq_measures_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"), nullable=False, index=True)
    task_number: Mapped[str] = mapped_column(String(20), nullable=False)
    task_title: Mapped[str] = mapped_column(Text, nullable=False)
    number: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    event_types: Mapped[str] = mapped_column(String(300), nullable=False, default="")  # comma-separated


class IndicatorRow(Base):
    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("programme_id", "key", name="uq_indicators_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"), nullable=False, index=True)
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"), nullable=True, index=True)
    key: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    unit: Mapped[str | None] = mapped_column(String(60), nullable=True)
    feed: Mapped[str] = mapped_column(String(20), nullable=False)
    total: Mapped[str | None] = mapped_column(String(40), nullable=True)  # decimal as text: exact
    by_year: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON {year: value}


class Event(Base):
    """A programme event a specialist logged against a measure. Corrections keep every version."""

    __tablename__ = "events"
    # Covers the indicator report's reads (programme, year, district -> measure, participants).
    __table_args__ = (
        Index(
            "ix_events_report", "programme_id", "held_on", "status", "district", "measure_id", "participants"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.id"), nullable=False, index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), nullable=False, index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    event_type: Mapped[str] = mapped_column(String(20), nullable=False)
    held_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    oblast: Mapped[str] = mapped_column(String(40), nullable=False)
    district: Mapped[str | None] = mapped_column(String(60), nullable=True, index=True)
    community: Mapped[str | None] = mapped_column(String(60), nullable=True)
    participants: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    breakdown: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON {group: count}
    cost: Mapped[str | None] = mapped_column(String(40), nullable=True)  # UAH, decimal as text
    funding_source: Mapped[str | None] = mapped_column(String(40), nullable=True)
    attachment_file_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attachment_kind: Mapped[str | None] = mapped_column(String(10), nullable=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="active", index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class EventVersion(Base):
    """Every state an event has had: nothing is silently overwritten."""

    __tablename__ = "event_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(12), nullable=False)  # logged, corrected, withdrawn
    snapshot: Mapped[str] = mapped_column(Text, nullable=False)  # JSON of the event's fields
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class OutboxMessage(Base):
    """A message the bot sends on its own (reminders, digests, notices). One row per recipient and
    purpose: enqueuing the same purpose twice is a no-op, so a restart neither repeats nor drops one.

    The recipient is a keyed hash (uniqueness, pacing per chat) and an encrypted chat id (sending). A
    message to a citizen keeps its purpose only as a keyed hash and is deleted once delivered."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("recipient_key", "purpose", name="uq_outbox_recipient_purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_key: Mapped[str] = mapped_column(String(64), nullable=False)
    recipient_enc: Mapped[bytes] = mapped_column(nullable=False)
    citizen: Mapped[bool] = mapped_column(default=False, nullable=False)
    purpose: Mapped[str] = mapped_column(String(160), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    markup: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON of an inline keyboard
    document_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    document: Mapped[bytes | None] = mapped_column(nullable=True)
    photo: Mapped[str | None] = mapped_column(Text, nullable=True)  # a Telegram file id, encrypted ("enc:")
    protect: Mapped[bool] = mapped_column(default=True, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PoliceReport(Base):
    """An organisation's monthly notification to the regional police HQ: nil, or signals."""

    __tablename__ = "police_reports"
    __table_args__ = (UniqueConstraint("organisation_id", "month", name="uq_police_reports_org_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False, index=True)
    month: Mapped[str] = mapped_column(String(7), nullable=False, index=True)  # YYYY-MM
    nil: Mapped[bool] = mapped_column(nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class PoliceSignal(Base):
    __tablename__ = "police_signals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("police_reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # threat, offence, persons
    exploitation: Mapped[str] = mapped_column(String(20), nullable=False)
    district: Mapped[str | None] = mapped_column(String(60), nullable=True)
    description_enc: Mapped[bytes | None] = mapped_column(nullable=True)
    added_in_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class PoliceReportVersion(Base):
    """Each filing and amendment of a monthly notification, kept (the descriptions encrypted)."""

    __tablename__ = "police_report_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("police_reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    snapshot_enc: Mapped[bytes] = mapped_column(nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class DigestAck(Base):
    """The police liaison's acknowledgement of a month's digest for an oblast."""

    __tablename__ = "digest_acks"
    __table_args__ = (UniqueConstraint("oblast", "month", name="uq_digest_acks_oblast_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    oblast: Mapped[str] = mapped_column(String(40), nullable=False)
    month: Mapped[str] = mapped_column(String(7), nullable=False)
    acknowledged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    acknowledged_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


class LetterTemplate(Base):
    """An oblast's template of the official letter to the police, as an admin sent it (a DOCX). Every one
    is kept; the newest is used, and the shipped default (data/letters/) until there is one."""

    __tablename__ = "letter_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    oblast: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    content: Mapped[bytes] = mapped_column(nullable=False)
    uploaded_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class Reconciliation(Base):
    """A quarter's victim statistics as the police and the regional department each see them."""

    __tablename__ = "reconciliations"
    __table_args__ = (UniqueConstraint("oblast", "quarter", name="uq_reconciliations_oblast_quarter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    oblast: Mapped[str] = mapped_column(String(40), nullable=False)
    quarter: Mapped[str] = mapped_column(String(7), nullable=False)  # 2026-Q3
    police_figures: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON {field: n}
    region_figures: Mapped[str | None] = mapped_column(Text, nullable=True)
    police_note: Mapped[str | None] = mapped_column(Text, nullable=True)  # an explanation of differences
    region_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    police_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    region_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reconciled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReconciliationEntry(Base):
    """Every entry, correction, explanation and confirmation of a side: the quarter's history."""

    __tablename__ = "reconciliation_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reconciliation_id: Mapped[int] = mapped_column(
        ForeignKey("reconciliations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    side: Mapped[str] = mapped_column(String(10), nullable=False)  # police, region
    action: Mapped[str] = mapped_column(String(12), nullable=False)  # entered, explained, confirmed
    figures: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class DirectoryCheck(Base):
    """A coordinator's check of a directory entry: confirmed as it is, corrected, or withdrawn.

    The YAML files under data/directory/ are the seed; these rows are overlaid on them (the latest wins),
    so the effective checked-on date and whether citizens still see the entry survive a restart."""

    __tablename__ = "directory_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    # confirmed, corrected, withdrawn, restored, imported; or reminded (sent to those in charge: not a check)
    action: Mapped[str] = mapped_column(String(12), nullable=False)
    checked_on: Mapped[date] = mapped_column(Date, nullable=False)  # the day of the action
    # corrected: JSON {"phones": [...], "address": str | null, "source": str}; imported: the whole entry
    # (bot/services/directory_exchange.py)
    changes: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class SchedulerRun(Base):
    """When a scheduled job last ran: a job missed while the bot was down is made up once on start."""

    __tablename__ = "scheduler_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
