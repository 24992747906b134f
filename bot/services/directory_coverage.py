"""How far the help directory reaches (issue 17 item 2): per district and kind of help, how many
entries people there can call, and how old the oldest check of them is.

Counts what citizens would be shown: the effective directory (the data files with the coordinators'
checks laid over them, `DirectoryChecks.load`), never a withdrawn entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.services.directory import Directory, DirectoryError, District, Entry, Need, Oblast


@dataclass(frozen=True)
class CoverageRow:
    oblast: Oblast
    district: District
    need: Need
    local: int  # entries of the district or of one of its communities
    local_with_phone: int
    oblast_wide: int
    oblast_wide_with_phone: int
    oldest_check: date | None  # the oldest `checked_on` of the entries counted with a phone

    @property
    def no_local_phone(self) -> bool:
        """Nobody nearby to call: people there are sent to oblast-wide and national lines."""
        return self.local_with_phone == 0


def coverage(directory: Directory, oblast_id: str | None = None) -> list[CoverageRow]:
    """One row per district of the oblast (every oblast when None) and need, in the order of
    data/regions.yaml and of `Need`. Raises DirectoryError for an oblast the regions do not have."""
    if oblast_id is None:
        oblasts = list(directory.oblasts)
    else:
        found = directory.oblast(oblast_id)
        if found is None:
            raise DirectoryError(f"unknown oblast {oblast_id}")
        oblasts = [found]
    return [
        _row(directory, oblast, district, need)
        for oblast in oblasts
        for district in oblast.districts
        for need in Need
    ]


def _row(directory: Directory, oblast: Oblast, district: District, need: Need) -> CoverageRow:
    serving = [e for e in directory.entries if need in e.needs and e.kind != "emergency"]
    local = [e for e in serving if e.scope in ("district", "community") and e.district == district.id]
    wide = [e for e in serving if e.scope == "oblast" and e.oblast == oblast.id]
    phoned = [e for e in (*local, *wide) if e.phones]
    return CoverageRow(
        oblast=oblast,
        district=district,
        need=need,
        local=len(local),
        local_with_phone=_with_phone(local),
        oblast_wide=len(wide),
        oblast_wide_with_phone=_with_phone(wide),
        oldest_check=min((e.checked_on for e in phoned), default=None),
    )


def _with_phone(entries: list[Entry]) -> int:
    return sum(1 for e in entries if e.phones)
