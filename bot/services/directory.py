"""The "where to get help" directory and the regions it covers, loaded from data/ (YAML).

Every phone number and address is a fact with a named source and a checked-on date; the loader
refuses an entry without them. Reads are served from memory: the data is small and hot.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


class Need(StrEnum):
    LEGAL_AID = "legal_aid"
    SHELTER = "shelter"
    PSYCHOLOGICAL = "psychological"
    MEDICAL = "medical"
    SOCIAL_SERVICES = "social_services"
    EMPLOYMENT = "employment"
    HUMANITARIAN = "humanitarian"
    CHILD_PROTECTION = "child_protection"


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
    def shown_address(self) -> str | None:
        """Shelter addresses are never shown to anyone, only their phone."""
        return None if self.address_private else self.address


class DirectoryError(ValueError):
    pass


class Directory:
    def __init__(self, regions: Regions, entries: Iterable[Entry]) -> None:
        self.regions = regions
        self.entries = tuple(e for e in entries if not e.withdrawn)
        self._oblasts = {o.id: o for o in regions.oblasts}
        self._districts = {d.id: (o, d) for o in regions.oblasts for d in o.districts}
        self._check()

    def _check(self) -> None:
        seen: set[str] = set()
        for entry in self.entries:
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
        return [e for e in self.entries if e.kind == "hotline" and e.scope == "national"]

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
        """Entries that serve `need` in the place chosen: the nearest first, national lines last."""

        def rank(entry: Entry) -> int | None:
            if entry.kind == "emergency" or need not in entry.needs:
                return None
            if entry.scope == "national":
                return 3
            if entry.oblast != oblast_id:
                return None
            if entry.scope == "oblast":
                return 2
            if entry.district is None or entry.district != district_id:
                return None
            if entry.scope == "district":
                return 1
            return 0 if entry.community == community_id else None

        ranked = [(r, i, e) for i, e in enumerate(self.entries) if (r := rank(e)) is not None]
        return [e for _, _, e in sorted(ranked, key=lambda t: (t[0], t[1]))]


def load_directory(data_dir: Path) -> Directory:
    """Read data/regions.yaml and data/directory/*.yaml; raise DirectoryError naming the bad file."""
    try:
        regions = Regions.model_validate(yaml.safe_load((data_dir / "regions.yaml").read_text("utf-8")))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise DirectoryError(f"data/regions.yaml cannot be used: {exc}") from exc
    entries: list[Entry] = []
    for path in sorted((data_dir / "directory").glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text("utf-8")) or {}
            entries.extend(Entry.model_validate(item) for item in raw.get("entries", []))
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise DirectoryError(f"data/directory/{path.name} cannot be used: {exc}") from exc
    # national.yaml first so that its order (emergency, 1547, ...) is the order people see.
    entries.sort(key=lambda e: 0 if e.scope == "national" else 1)
    return Directory(regions, entries)
