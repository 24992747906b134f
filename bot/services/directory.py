"""The "where to get help" directory and the regions it covers, loaded from data/ (YAML).

Every phone number and address is a fact with a named source and a checked-on date; the loader
refuses an entry without them. Reads are served from memory: the data is small and hot.

The files are the seed. Coordinators keep them fresh in the bot (`DirectoryChecks`): an entry last
checked more than a year ago is sent to the coordinator of its area, who confirms it, corrects it
(with the source of the new facts) or withdraws it; those checks are stored and laid over the seed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.datafiles import load_yaml
from bot.services.staff import AccessDenied, Role, StaffRole
from db.models import AuditEntry, DirectoryCheck

log = logging.getLogger("dovira")

# With a database other processes write too, how often each reads the checks made by the others.
RELOAD_SECONDS = 60


class Need(StrEnum):
    LEGAL_AID = "legal_aid"
    SHELTER = "shelter"
    PSYCHOLOGICAL = "psychological"
    MEDICAL = "medical"
    SOCIAL_SERVICES = "social_services"
    EMPLOYMENT = "employment"
    HUMANITARIAN = "humanitarian"
    CHILD_PROTECTION = "child_protection"


# The national line made for a need: first among the national lines in its results (issue 17 item 4).
# Its `needs` in data/directory/national.yaml must list the need too, or it is not shown at all.
NATIONAL_LINE_FOR: dict[Need, str] = {
    Need.LEGAL_AID: "hotline-free-legal-aid",  # 0 800 213 103
    Need.EMPLOYMENT: "hotline-527",  # safe work abroad, labour migration
    Need.CHILD_PROTECTION: "hotline-116111",
}


class Localized(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    uk: str
    en: str

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.uk


class Community(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    name: Localized


class District(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    name: Localized
    communities: tuple[Community, ...] = ()


class Oblast(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    name: Localized
    districts: tuple[District, ...]


class Regions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    oblasts: tuple[Oblast, ...]


# How a source names the date of its page (data/directory/README.md).
_PAGE_DATED = re.compile(r"\(page dated (\d{4}-\d{2}-\d{2})\)")


def _day(text: str) -> date | None:
    """A source typed in the bot (a correction) may name a day that does not exist: no date then."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    kind: Literal["emergency", "hotline", "service"]
    scope: Literal["national", "oblast", "district", "community"]
    oblast: str | None = None
    district: str | None = None
    community: str | None = None
    name: Localized
    description: Localized
    phones: tuple[str, ...] = ()
    phone_notes: Localized | None = None
    address: str | None = None
    address_private: bool = False
    needs: tuple[Need, ...] = ()
    languages: tuple[str, ...] = ("uk",)
    eligibility: Localized | None = None
    # A line for people abroad: shown to whoever says they are abroad, not among the national lines.
    abroad: bool = False
    source: str = Field(min_length=3)
    checked_on: date
    withdrawn: bool = False

    @model_validator(mode="after")
    def _scope_has_place(self) -> Entry:
        needed = {
            "oblast": ("oblast",),
            "district": ("oblast", "district"),
            "community": ("oblast", "district", "community"),
        }.get(self.scope, ())
        missing = [f for f in needed if getattr(self, f) is None]
        if missing:
            raise ValueError(f"entry {self.id}: scope {self.scope} needs {', '.join(missing)}")
        return self

    @property
    def page_date(self) -> date | None:
        """The date of the public page the facts come from, as `source` gives it ("(page dated
        YYYY-MM-DD)"); the oldest when it names several pages. None: the source names no dated page."""
        dates = [day for found in _PAGE_DATED.findall(self.source) if (day := _day(found))]
        return min(dates, default=None)

    @property
    def shown_address(self) -> str | None:
        """Shelter addresses are never shown to anyone, only their phone."""
        return None if self.address_private else self.address


class DirectoryError(ValueError):
    pass


class Directory:
    """The entries as the data files give them (the seed), with the coordinators' checks laid over
    them (`apply`). `entries` is what citizens may see: never a withdrawn entry."""

    def __init__(self, regions: Regions, entries: Iterable[Entry]) -> None:
        self.regions = regions
        self._seed = tuple(entries)
        self._oblasts = {o.id: o for o in regions.oblasts}
        self._districts = {d.id: (o, d) for o in regions.oblasts for d in o.districts}
        self._check()
        self.apply({})

    def apply(
        self, updates: Mapping[str, Mapping[str, Any]], imported: Mapping[str, Entry] | None = None
    ) -> None:
        """Lay field updates per entry id (from the bot's checks) over the seed, replacing the last ones.
        `imported` (bot/services/directory_exchange.py): whole entries that replace the seed's of their id,
        or follow the seed's when new.

        Both views are swapped in one step (no await in between): a reader sees the old or the new."""
        imported = imported or {}
        bases = [imported.get(e.id, e) for e in self._seed]
        seeded = {e.id for e in self._seed}
        bases.extend(e for e in imported.values() if e.id not in seeded)
        effective = tuple(e.model_copy(update=dict(updates[e.id])) if e.id in updates else e for e in bases)
        self.all_entries = effective
        self.entries = tuple(e for e in effective if not e.withdrawn)

    def seed_entry(self, entry_id: str) -> Entry | None:
        """The entry as its data file gives it, before any check made in the bot."""
        return next((e for e in self._seed if e.id == entry_id), None)

    def any_entry(self, entry_id: str) -> Entry | None:
        """The effective entry, withdrawn or not (for coordinators; citizens use `entry`)."""
        return next((e for e in self.all_entries if e.id == entry_id), None)

    def stale(self, today: date) -> list[Entry]:
        """Entries citizens see whose facts were last checked more than a year before `today`."""
        limit = year_before(today)
        return [e for e in self.entries if e.checked_on < limit]

    def _check(self) -> None:
        seen: set[str] = set()
        for entry in self._seed:
            if entry.id in seen:
                raise DirectoryError(f"directory entry id {entry.id} appears twice")
            seen.add(entry.id)
            if entry.oblast is not None and entry.oblast not in self._oblasts:
                raise DirectoryError(f"entry {entry.id}: unknown oblast {entry.oblast}")
            if entry.district is not None and entry.district not in self._districts:
                raise DirectoryError(f"entry {entry.id}: unknown district {entry.district}")

    # --- places -------------------------------------------------------------------------------
    @property
    def oblasts(self) -> tuple[Oblast, ...]:
        return self.regions.oblasts

    def oblast(self, oblast_id: str) -> Oblast | None:
        return self._oblasts.get(oblast_id)

    def district(self, district_id: str) -> District | None:
        found = self._districts.get(district_id)
        return found[1] if found else None

    def oblast_of(self, district_id: str) -> Oblast | None:
        found = self._districts.get(district_id)
        return found[0] if found else None

    def community(self, district_id: str, community_id: str) -> Community | None:
        district = self.district(district_id)
        if district is None:
            return None
        return next((c for c in district.communities if c.id == community_id), None)

    # --- entries ------------------------------------------------------------------------------
    def emergency(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "emergency"]

    def hotlines(self) -> list[Entry]:
        """National help lines, in the order of the data file (1547 first)."""
        return [e for e in self.entries if e.kind == "hotline" and e.scope == "national" and not e.abroad]

    def abroad_lines(self) -> list[Entry]:
        """What helps a person who is abroad, in the order of the data file."""
        return [e for e in self.entries if e.abroad]

    def entry(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def find(
        self,
        *,
        oblast_id: str,
        need: Need,
        district_id: str | None = None,
        community_id: str | None = None,
    ) -> list[Entry]:
        """Entries that serve `need` in the place chosen, the order people should call them in (issue 17):
        local ones (community, then district) with a phone, local ones without, oblast-wide ones with a
        phone, then without, then the national lines, the one made for the need first. Lines for people
        abroad are not among them (`abroad_lines`)."""

        def rank(entry: Entry) -> tuple[int, ...] | None:
            if entry.kind == "emergency" or entry.abroad or need not in entry.needs:
                return None
            no_phone = 0 if entry.phones else 1
            if entry.scope == "national":
                return (3, 0 if NATIONAL_LINE_FOR.get(need) == entry.id else 1, no_phone)
            if entry.oblast != oblast_id:
                return None
            if entry.scope == "oblast":
                return (2, no_phone)
            if entry.district is None or entry.district != district_id:
                return None
            if entry.scope == "district":
                return (no_phone, 1)
            return (no_phone, 0) if entry.community == community_id else None

        ranked = [(r, i, e) for i, e in enumerate(self.entries) if (r := rank(e)) is not None]
        return [e for _, _, e in sorted(ranked, key=lambda t: (t[0], t[1]))]


def load_directory(data_dir: Path) -> Directory:
    """Read data/regions.yaml and data/directory/*.yaml; raise DirectoryError naming the bad file."""
    try:
        regions = Regions.model_validate(load_yaml(data_dir / "regions.yaml"))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise DirectoryError(f"data/regions.yaml cannot be used: {exc}") from exc
    entries: list[Entry] = []
    for path in sorted((data_dir / "directory").glob("*.yaml")):
        try:
            raw = load_yaml(path) or {}
            entries.extend(Entry.model_validate(item) for item in raw.get("entries", []))
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise DirectoryError(f"data/directory/{path.name} cannot be used: {exc}") from exc
    # national.yaml first so that its order (emergency, 1547, ...) is the order people see.
    entries.sort(key=lambda e: 0 if e.scope == "national" else 1)
    return Directory(regions, entries)


# --- freshness: coordinators' checks of the entries ---------------------------------------------
PHONES_LIMIT = 5
ADDRESS_LIMIT = 300
SOURCE_LIMIT = 300
SOURCE_MIN = 5
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]*[0-9]$")
_PHONE_SPLIT = re.compile(r"[,;\n]+")


# "imported": a whole entry from a bulk import (bot/services/directory_exchange.py), in `changes`.
CHECK_ACTIONS = ("confirmed", "corrected", "withdrawn", "restored", "imported")


class CheckError(ValueError):
    """A check that cannot be made; str() says why: "gone" (withdrawn already), "unknown" (no such
    entry: a forged button, or one removed from the data files since), "phones_count", "bad_phone",
    "address_length", "source_length"."""


def year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def parse_phones(text: str) -> tuple[str, ...]:
    """Phone numbers as dialled, separated by commas or lines: 3-15 digits each, at most five."""
    phones = tuple(" ".join(p.split()) for p in _PHONE_SPLIT.split(text) if p.strip())
    if not phones or len(phones) > PHONES_LIMIT:
        raise CheckError("phones_count")
    for phone in phones:
        digits = sum(c.isdigit() for c in phone)
        if not _PHONE.match(phone) or not 3 <= digits <= 15:
            raise CheckError("bad_phone")
    return phones


def clean_text(text: str, minimum: int, limit: int, error: str) -> str:
    cleaned = " ".join(text.split())
    if not minimum <= len(cleaned) <= limit:
        raise CheckError(error)
    return cleaned


def may_check(roles: Sequence[StaffRole], entry: Entry) -> bool:
    """Who may confirm, correct or withdraw an entry (on the server side, whatever a button says).

    National lines are the deployment's, shared by every oblast: only admins. An oblast-wide entry:
    the oblast's regional coordinators. A district or community entry: the district's coordinators
    and the regional ones. Admins may check any entry (they get the ones nobody else would)."""
    for role in roles:
        if role.role == Role.ADMIN:
            return True
        if role.role != Role.COORDINATOR or role.oblast is None or entry.scope == "national":
            continue
        if entry.scope == "oblast" and role.oblast == entry.oblast and role.district is None:
            return True
        if entry.scope in ("district", "community") and entry.oblast is not None:
            if role.covers(entry.oblast, entry.district):
                return True
    return False


def reminded_first(entry: Entry) -> Callable[[StaffRole], bool]:
    """The coordinators a stale entry is sent to: those of its district, else of its oblast."""

    def predicate(role: StaffRole) -> bool:
        if role.role != Role.COORDINATOR or role.oblast != entry.oblast:
            return False
        if entry.scope == "oblast":
            return role.district is None
        return role.district == entry.district

    return predicate


def regional_coordinators(oblast: str | None) -> Callable[[StaffRole], bool]:
    return lambda r: r.role == Role.COORDINATOR and r.oblast == oblast and r.district is None


class DirectoryChecks:
    """Confirmations, corrections and withdrawals made in the bot: stored (one row and one audit entry
    per change, in one transaction) and laid over the data files in the shared `Directory`."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        directory: Directory,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timezone: str = "Europe/Kyiv",
        shared: bool = False,
    ) -> None:
        """`shared`: other processes (replicas) write the same database, so `keep_fresh` reads it again."""
        self._sessionmaker = sessionmaker
        self.directory = directory
        self.clock = clock
        self._zone = ZoneInfo(timezone)
        self.shared = shared

    def today(self) -> date:
        return self.clock().astimezone(self._zone).date()

    async def load(self) -> None:
        """Read every check and lay the result over the seed (at start, after a change, before a job).

        Per entry, in order: a withdrawal holds until the entry is restored in the bot (citizens never
        see it meanwhile); a confirmation or correction holds unless the data file was checked later."""
        async with self._sessionmaker() as session:
            rows = list(
                await session.scalars(
                    select(DirectoryCheck)
                    .where(DirectoryCheck.action.in_(CHECK_ACTIONS))
                    .order_by(DirectoryCheck.id)
                )
            )
        updates: dict[str, dict[str, Any]] = {}
        imported: dict[str, Entry] = {}
        for row in rows:
            if row.action == "imported":
                _take_import(row, self.directory.seed_entry(row.entry_id), imported, updates)
                continue
            seed = imported.get(row.entry_id) or self.directory.seed_entry(row.entry_id)
            if seed is None:  # removed from the data files since
                continue
            update = updates.setdefault(row.entry_id, {})
            if row.action in ("withdrawn", "restored"):
                update["withdrawn"] = row.action == "withdrawn"
                continue
            if row.checked_on < seed.checked_on:
                continue
            update["checked_on"] = max(row.checked_on, update.get("checked_on", seed.checked_on))
            if row.action == "corrected" and row.changes:
                changes = json.loads(row.changes)
                update["phones"] = tuple(changes.get("phones") or ())
                # Notes such as "527 from a mobile" describe the file's numbers, not new ones.
                update["phone_notes"] = seed.phone_notes if update["phones"] == seed.phones else None
                update["address"] = changes.get("address")
                update["source"] = changes["source"]
        self.directory.apply({k: v for k, v in updates.items() if v}, imported)

    async def keep_fresh(self) -> None:
        """With a shared database, read the checks again every RELOAD_SECONDS until cancelled, so that
        an entry withdrawn through one replica soon disappears from all of them. Alone: returns at once."""
        while self.shared:
            await asyncio.sleep(RELOAD_SECONDS)
            try:
                await self.load()
            except Exception as exc:  # the database is away for a moment: try again next time
                log.warning("directory checks: reload failed (%s)", type(exc).__name__)

    async def last_reminders(self) -> dict[str, date]:
        """Entry id -> the day it was last sent to those in charge of it."""
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(DirectoryCheck.entry_id, func.max(DirectoryCheck.checked_on))
                .where(DirectoryCheck.action == "reminded")
                .group_by(DirectoryCheck.entry_id)
            )
            return {entry_id: day for entry_id, day in rows.all()}

    async def record_reminders(self, entry_ids: Sequence[str], day: date) -> None:
        if not entry_ids:
            return
        async with self._sessionmaker() as session, session.begin():
            session.add_all(
                DirectoryCheck(entry_id=entry_id, action="reminded", checked_on=day, at=self.clock())
                for entry_id in entry_ids
            )

    def checkable(self, roles: Sequence[StaffRole], entry_id: str) -> Entry:
        """The entry, if it can still be checked and this person may check it."""
        entry = self.directory.entry(entry_id)
        if entry is None:
            raise CheckError("gone" if self.directory.any_entry(entry_id) else "unknown")
        if not may_check(roles, entry):
            raise AccessDenied("directory.check")
        return entry

    async def confirm(self, actor_id: int, roles: Sequence[StaffRole], entry_id: str) -> Entry:
        """The "still correct" button: the facts are checked today (twice the same day is recorded once)."""
        entry = self.checkable(roles, entry_id)
        if entry.checked_on >= self.today():
            return entry
        return await self._record(actor_id, entry, "confirmed")

    async def correct(
        self,
        actor_id: int,
        roles: Sequence[StaffRole],
        entry_id: str,
        *,
        phones: Sequence[str],
        address: str | None,
        source: str,
    ) -> Entry:
        """New phones and address, with where they were found (a fact needs its source), as of today."""
        entry = self.checkable(roles, entry_id)
        if tuple(phones) != entry.phones:  # what the coordinator typed; the entry's own stay as they are
            phones = parse_phones(", ".join(phones)) if phones else ()
        if address is not None:
            address = clean_text(address, 1, ADDRESS_LIMIT, "address_length")
        changes = {
            "phones": list(phones),  # [] when the entry has no phone any more
            "address": address,
            "source": clean_text(source, SOURCE_MIN, SOURCE_LIMIT, "source_length"),
        }
        return await self._record(actor_id, entry, "corrected", changes)

    async def withdraw(self, actor_id: int, roles: Sequence[StaffRole], entry_id: str) -> Entry:
        """Citizens stop seeing the entry at once (in this process; others at their next `load`)."""
        entry = self.checkable(roles, entry_id)
        return await self._record(actor_id, entry, "withdrawn")

    async def restore(self, actor_id: int, roles: Sequence[StaffRole], entry_id: str) -> Entry:
        """Undo a withdrawal made in the bot (one withdrawn in the data files is not the bot's to undo)."""
        entry = self.directory.any_entry(entry_id)
        seed = self.directory.seed_entry(entry_id)  # None for an entry added by an import
        if entry is None:
            raise CheckError("unknown")
        if not may_check(roles, entry):
            raise AccessDenied("directory.check")
        if seed is not None and seed.withdrawn:
            raise CheckError("gone")
        if not entry.withdrawn:  # restored already (a double tap, or a colleague)
            return entry
        return await self._record(actor_id, entry, "restored")

    async def record_import(
        self, actor_id: int | None, imported: Sequence[Entry], withdrawn: Sequence[Entry], *, via: str
    ) -> None:
        """A bulk import, all or nothing: one row and one audit entry per entry added, changed or withdrawn
        (as the checks are), in one transaction. `via`: "bot" or "cli", in the audit detail."""
        now, today = self.clock(), self.today()
        async with self._sessionmaker() as session, session.begin():
            for entry in imported:
                changes = json.dumps(entry.model_dump(mode="json"), ensure_ascii=False)
                session.add(
                    DirectoryCheck(
                        entry_id=entry.id,
                        action="imported",
                        checked_on=today,
                        changes=changes,
                        actor_id=actor_id,
                        at=now,
                    )
                )
            session.add_all(
                DirectoryCheck(entry_id=e.id, action="withdrawn", checked_on=today, actor_id=actor_id, at=now)
                for e in withdrawn
            )
            session.add_all(
                AuditEntry(
                    actor_id=actor_id, action=f"directory.{action}", detail=f"entry={e.id} import={via}"[:200]
                )
                for action, entries in (("imported", imported), ("withdrawn", withdrawn))
                for e in entries
            )
        await self.load()

    async def _record(
        self, actor_id: int, entry: Entry, action: str, changes: dict[str, Any] | None = None
    ) -> Entry:
        async with self._sessionmaker() as session, session.begin():
            session.add(
                DirectoryCheck(
                    entry_id=entry.id,
                    action=action,
                    checked_on=self.today(),
                    changes=json.dumps(changes, ensure_ascii=False) if changes else None,
                    actor_id=actor_id,
                    at=self.clock(),
                )
            )
            session.add(
                AuditEntry(actor_id=actor_id, action=f"directory.{action}", detail=f"entry={entry.id}"[:200])
            )
        await self.load()
        found = self.directory.any_entry(entry.id)
        assert found is not None
        return found


def _take_import(
    row: DirectoryCheck, seed: Entry | None, imported: dict[str, Entry], updates: dict[str, dict[str, Any]]
) -> None:
    """An imported entry replaces what came before it, unless the data file was checked later."""
    if seed is not None and row.checked_on < seed.checked_on:
        return
    imported[row.entry_id] = Entry.model_validate(json.loads(row.changes or "{}"))
    updates[row.entry_id] = {}
