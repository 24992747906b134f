"""Staff: organisations, roles with their scope, one-time invites, removal. No Telegram types.

Every check of who may do what lives here and in cases.py, on the server side: callback data can be
forged by any client, so handlers never decide access from what a button says.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.places import is_outside
from db.models import AuditEntry, Case, Invite, Organisation, User, UserRole


class Role(StrEnum):
    SPECIALIST = "specialist"
    COORDINATOR = "coordinator"
    POLICE = "police"
    ADMIN = "admin"


ORGANISATION_KINDS = (
    "social_services",
    "administration",
    "community",
    "ngo",
    "employment",
    "legal_aid",
    "migration",
    "labour_inspection",
    "school",
    "police",
    "health",
    "children_service",
)
INVITE_TTL = timedelta(hours=72)
INVITE_PREFIX = "inv_"  # an invite link: https://t.me/<bot>?start=inv_<token>


@dataclass(frozen=True, slots=True)
class StaffRole:
    role: str
    organisation_id: int | None
    oblast: str | None
    district: str | None  # None: the whole oblast

    def covers(self, oblast: str, district: str | None) -> bool:
        """Whether a case or organisation in (oblast, district) is in this role's scope. A case from
        outside every oblast is in the scope of every oblast-wide role (bot/services/places.py)."""
        if is_outside(oblast):
            return self.oblast is not None and self.district is None
        if self.oblast != oblast:
            return False
        return self.district is None or self.district == district


def serves_area(org_oblast: str, org_district: str | None, oblast: str, district: str | None) -> bool:
    """Whether an organisation of (org_oblast, org_district) works where a case of (oblast, district)
    is: the same oblast, and the organisation works region-wide, or the case has no district, or the
    districts match. The one rule for both the organisations offered and the referral itself. A case
    from outside every oblast may go to any region-wide organisation."""
    if is_outside(oblast):
        return org_district is None
    if org_oblast != oblast:
        return False
    return org_district is None or district is None or org_district == district


class AccessDenied(Exception):
    """A staff action this person may not take. Handlers answer with a polite refusal; it is audited
    (by the handler, unless the service already wrote the denial: `recorded`)."""

    def __init__(self, action: str, case_id: int | None = None) -> None:
        super().__init__(action)
        self.action = action
        self.case_id = case_id
        self.recorded = False


async def write_denial(
    session: AsyncSession,
    at: datetime,
    actor_id: int | None,
    denial: AccessDenied,
    detail: str | None = None,
    *,
    actor_key: str | None = None,
) -> None:
    """The audit entry of a refused staff action: `denied.<what was refused>`, with the case when the
    id named one (a forged id keeps the attempt, not a dangling reference). `actor_key`: the keyed hash
    of an actor with no stored row."""
    case_id = denial.case_id
    if case_id is not None and await session.get(Case, case_id) is None:
        case_id = None
    session.add(
        AuditEntry(
            at=at,
            actor_id=actor_id,
            actor_key=actor_key if actor_id is None else None,
            action=("denied." + denial.action)[:40],
            case_id=case_id,
            detail=detail[:200] if detail else None,
        )
    )
    denial.recorded = True


async def record_denial(
    sessionmaker: async_sessionmaker[AsyncSession],
    at: datetime,
    actor_id: int | None,
    denial: AccessDenied,
    detail: str | None = None,
    *,
    actor_key: str | None = None,
) -> None:
    """`write_denial` after (and outside) the transaction the refusal stopped; nothing if the service
    that refused it wrote it already."""
    if denial.recorded:
        return
    async with sessionmaker() as session, session.begin():
        await write_denial(session, at, actor_id, denial, detail, actor_key=actor_key)


@dataclass(frozen=True, slots=True)
class Redemption:
    """An invite redeemed: the role granted, and the roles that ended with it (replaced by it)."""

    role: StaffRole
    ended: tuple[StaffRole, ...] = ()


class InviteError(Exception):
    """The invite link is unknown, used or expired; str() is the i18n key of the explanation."""


@dataclass(frozen=True)
class OrganisationView:
    id: int
    name: str
    kind: str
    oblast: str
    district: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_problem(invite: Invite | None, now: datetime) -> str | None:
    """Why an invite cannot be redeemed (the i18n key), or None."""
    if invite is None:
        return "invite.unknown"
    if invite.used_at is not None:
        return "invite.used"
    expires = invite.expires_at if invite.expires_at.tzinfo else invite.expires_at.replace(tzinfo=UTC)
    return "invite.expired" if expires <= now else None


class StaffService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock

    # --- organisations -------------------------------------------------------------------------
    async def add_organisation(
        self, actor: int, name: str, kind: str, oblast: str, district: str | None
    ) -> OrganisationView:
        if kind not in ORGANISATION_KINDS:
            raise ValueError(f"unknown organisation kind {kind}")
        async with self._sessionmaker() as session, session.begin():
            org = Organisation(name=name.strip()[:300], kind=kind, oblast=oblast, district=district)
            session.add(org)
            await session.flush()
            session.add(AuditEntry(actor_id=actor, action="organisation.add", detail=f"org={org.id}"))
            return _org_view(org)

    async def organisations(
        self, oblast: str | None = None, district: str | None = None
    ) -> list[OrganisationView]:
        """Active organisations; for an area, those that serve it (`serves_area`): with a district, the
        district's and the region-wide ones."""
        async with self._sessionmaker() as session:
            query = select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)
            if oblast is not None and not is_outside(oblast):
                query = query.where(Organisation.oblast == oblast)
            orgs = list(await session.scalars(query))
        if oblast is not None:
            orgs = [o for o in orgs if serves_area(o.oblast, o.district, oblast, district)]
        return [_org_view(o) for o in orgs]

    async def organisation(self, organisation_id: int) -> OrganisationView | None:
        async with self._sessionmaker() as session:
            org = await session.get(Organisation, organisation_id)
            return _org_view(org) if org is not None and org.active else None

    # --- invites -------------------------------------------------------------------------------
    async def check_invite(
        self, actor_roles: tuple[StaffRole, ...], role: Role, organisation_id: int | None
    ) -> OrganisationView | None:
        """Whether this person may invite for this role and organisation (AccessDenied if not);
        returns the organisation. Asked before the last step of the dialog, and again on creation."""
        is_admin = any(r.role == Role.ADMIN for r in actor_roles)
        org = await self.organisation(organisation_id) if organisation_id is not None else None
        if organisation_id is not None and org is None:
            raise AccessDenied("unknown organisation")
        if not is_admin:
            # A coordinator enrols specialists of organisations inside their own scope, nothing else.
            coordinator = [r for r in actor_roles if r.role == Role.COORDINATOR]
            if (
                role != Role.SPECIALIST
                or org is None
                or not any(r.covers(org.oblast, org.district) for r in coordinator)
            ):
                raise AccessDenied("coordinators invite specialists of their own area only")
        if role in (Role.SPECIALIST, Role.POLICE) and org is None:
            raise AccessDenied("a specialist or police liaison belongs to an organisation")
        return org

    async def create_invite(
        self,
        actor_id: int,
        actor_roles: tuple[StaffRole, ...],
        *,
        role: Role,
        organisation_id: int | None,
        oblast: str,
        district: str | None,
        keeps_roles: bool = False,
    ) -> str:
        """A one-time token for `t.me/<bot>?start=inv_<token>`; only its hash is stored.
        keeps_roles: the role is added to those the person holds (only one of the same role is replaced);
        otherwise it replaces them all."""
        org = await self.check_invite(actor_roles, role, organisation_id)
        token = secrets.token_urlsafe(18)
        now = self._clock()
        async with self._sessionmaker() as session, session.begin():
            session.add(
                Invite(
                    token_hash=hash_token(token),
                    role=role.value,
                    organisation_id=organisation_id,
                    oblast=org.oblast if org else oblast,
                    district=org.district if org and district is None else district,
                    created_by=actor_id,
                    created_at=now,
                    expires_at=now + INVITE_TTL,
                    keeps_roles=keeps_roles,
                )
            )
            detail = f"role={role.value} keeps_roles={int(keeps_roles)}"
            session.add(AuditEntry(actor_id=actor_id, action="invite.create", detail=detail))
        return token

    async def redeemable(self, token: str) -> None:
        """InviteError unless the invite can be redeemed now (read only: nothing is stored about the
        person until it is)."""
        async with self._sessionmaker() as session:
            invite = await session.scalar(select(Invite).where(Invite.token_hash == hash_token(token)))
        problem = invite_problem(invite, self._clock())
        if problem is not None:
            raise InviteError(problem)

    async def redeem_invite(self, user_id: int, token: str) -> Redemption:
        """Enrol the user; the invite is used up in the same transaction (a second use fails).

        Without the invite's keeps_roles every role the person held ends, with it; with it, only one of
        the same role (one row per user and role). Each ended role is audited as an admin's removal is;
        the caller then releases the cases the person no longer covers (CaseService.release_orphans)."""
        now = self._clock()
        async with self._sessionmaker() as session, session.begin():
            invite = await session.scalar(select(Invite).where(Invite.token_hash == hash_token(token)))
            problem = invite_problem(invite, now)
            if problem is not None or invite is None:
                raise InviteError(problem or "invite.unknown")
            claimed = await session.execute(
                update(Invite)
                .where(Invite.id == invite.id, Invite.used_at.is_(None))
                .values(used_at=now, used_by=user_id)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise InviteError("invite.used")
            granted = StaffRole(invite.role, invite.organisation_id, invite.oblast, invite.district)
            held = list(await session.scalars(select(UserRole).where(UserRole.user_id == user_id)))
            replaced = [r for r in held if not invite.keeps_roles or r.role == invite.role]
            ended = []
            for row in replaced:
                old = StaffRole(row.role, row.organisation_id, row.oblast, row.district)
                if old == granted:
                    continue  # the same role again: nothing ends
                ended.append(old)
                session.add(
                    AuditEntry(
                        actor_id=user_id,
                        action="staff.remove",
                        detail=f"user={user_id} role={row.role} invite={invite.id}",
                    )
                )
            if replaced:  # a statement, not the unit of work: the delete must precede the insert
                await session.execute(delete(UserRole).where(UserRole.id.in_([r.id for r in replaced])))
            session.add(
                UserRole(
                    user_id=user_id,
                    role=invite.role,
                    organisation_id=invite.organisation_id,
                    oblast=invite.oblast,
                    district=invite.district,
                )
            )
            session.add(AuditEntry(actor_id=user_id, action="invite.redeem", detail=f"role={invite.role}"))
            return Redemption(granted, tuple(ended))

    # --- staff ---------------------------------------------------------------------------------
    async def staff_in_scope(self, actor_roles: tuple[StaffRole, ...]) -> list[tuple[int, int, StaffRole]]:
        """(user id, telegram id, role) of staff the actor may see and remove."""
        is_admin = any(r.role == Role.ADMIN for r in actor_roles)
        async with self._sessionmaker() as session:
            rows = (await session.execute(select(UserRole, User.telegram_id).join(User))).all()
        result = []
        for row, telegram_id in rows:
            role = StaffRole(row.role, row.organisation_id, row.oblast, row.district)
            if telegram_id is None:  # not enrolled through the bot: no chat to name
                continue
            if is_admin or any(
                r.role == Role.COORDINATOR
                and role.role == Role.SPECIALIST
                and role.oblast is not None
                and r.covers(role.oblast, role.district)
                for r in actor_roles
            ):
                result.append((row.user_id, telegram_id, role))
        return result

    async def remove_staff(
        self, actor_id: int, actor_roles: tuple[StaffRole, ...], user_id: int, role: str
    ) -> None:
        allowed = {(uid, r.role) for uid, _, r in await self.staff_in_scope(actor_roles)}
        if (user_id, role) not in allowed:
            raise AccessDenied("not in scope")
        async with self._sessionmaker() as session, session.begin():
            await session.execute(delete(UserRole).where(UserRole.user_id == user_id, UserRole.role == role))
            session.add(
                AuditEntry(actor_id=actor_id, action="staff.remove", detail=f"user={user_id} role={role}")
            )

    async def telegram_ids(self, predicate: Callable[[StaffRole], bool]) -> list[int]:
        """Telegram ids of staff with a role matching `predicate` (for notifications)."""
        async with self._sessionmaker() as session:
            rows = (await session.execute(select(UserRole, User.telegram_id).join(User))).all()
        return sorted(
            {
                tid
                for row, tid in rows
                if tid is not None
                and predicate(StaffRole(row.role, row.organisation_id, row.oblast, row.district))
            }
        )

    async def of_organisation(self, organisation_id: int, role: str) -> list[int]:
        return await self.telegram_ids(lambda r: r.organisation_id == organisation_id and r.role == role)

    async def of_oblast(self, oblast: str, role: str) -> list[int]:
        return await self.telegram_ids(lambda r: r.oblast == oblast and r.role == role)

    async def record_denial(
        self,
        actor_id: int | None,
        denial: AccessDenied,
        detail: str | None = None,
        *,
        actor_key: str | None = None,
    ) -> None:
        """Audit a refused staff action, unless the service that refused it wrote it already."""
        await record_denial(self._sessionmaker, self._clock(), actor_id, denial, detail, actor_key=actor_key)

    async def audit(
        self,
        actor_id: int | None,
        action: str,
        case_id: int | None = None,
        detail: str | None = None,
        *,
        actor_key: str | None = None,
    ) -> None:
        """`actor_key`: the keyed hash of an actor with no stored row (a citizen refused)."""
        async with self._sessionmaker() as session, session.begin():
            session.add(
                AuditEntry(
                    actor_id=actor_id,
                    actor_key=actor_key if actor_id is None else None,
                    action=action,
                    case_id=case_id,
                    detail=detail,
                )
            )


def _org_view(org: Organisation) -> OrganisationView:
    return OrganisationView(org.id, org.name, org.kind, org.oblast, org.district)
