"""The directory in and out in bulk, in the field names of the Open Referral Human Services Data
Specification (HSDS: organization, service, location, phone, service_area; the eight needs as taxonomy
terms) plus Dovira's own provenance fields (source, checked_on, address_private) and dovira_* columns.

Export: one CSV row (or one JSON organization) per entry of the effective directory (data files and the
checks made in the bot). A shelter's address (`address_private`) is never written: the column is empty
and `address_private` says why.

Import: a CSV in the same columns becomes a plan (`plan_import`): entries added, changed and withdrawn,
and the rows refused with their line and reason. A row is validated as the data files are (bot/services/
directory.py `Entry`: needs from the eight, areas from data/regions.yaml, phones as dialled, a source and
a date). Withdrawal is explicit: `service_status` "inactive"; an entry the file does not name is left as
it is (a partial file never withdraws anything). `DirectoryChecks.record_import` writes the plan.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from bot.services.directory import CheckError, Directory, Entry, Localized, Need, may_check, parse_phones
from bot.services.staff import Role, StaffRole

ACTIVE, INACTIVE = "active", "inactive"  # HSDS service.status
TAXONOMY = "dovira-needs"  # the vocabulary of the taxonomy terms: the eight needs
COLUMNS = (
    "organization_id",
    "organization_name",  # informative (the Ukrainian service name): an import reads service_name_*
    "service_id",
    "service_name_uk",
    "service_name_en",
    "service_description_uk",
    "service_description_en",
    "service_status",
    "eligibility_description_uk",
    "eligibility_description_en",
    "service_area",
    "phones",
    "phone_description_uk",
    "phone_description_en",
    "location_address",
    "address_private",
    "taxonomy_terms",
    "languages",
    "source",
    "checked_on",
    "dovira_kind",
    "dovira_scope",
    "dovira_abroad",
)
REQUIRED = ("service_id", "service_name_uk", "service_name_en", "source", "checked_on", "dovira_kind")
LIST_SEPARATOR = "; "
FILE_LIMIT = 1_000_000  # bytes: the whole directory is some tens of kilobytes
ROWS_LIMIT = 2_000
SOURCE_RANGE = (5, 1000)
TEXT_LIMIT = 2000
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")  # DirectoryCheck.entry_id is 80 characters
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0", "")


# --- export ---------------------------------------------------------------------------------------
def service_area(entry: Entry) -> str:
    """oblast, oblast/district or oblast/district/community ids (regions.yaml); "" for national."""
    return "/".join(p for p in (entry.oblast, entry.district, entry.community) if p)


def exported_address(entry: Entry) -> str:
    """Never a shelter's address, whoever asks."""
    return "" if entry.address_private else entry.address or ""


def to_row(entry: Entry) -> dict[str, str]:
    def both(prefix: str, text: Localized | None) -> dict[str, str]:
        return {f"{prefix}_uk": text.uk if text else "", f"{prefix}_en": text.en if text else ""}

    return {
        "organization_id": entry.id,
        "organization_name": entry.name.uk,
        "service_id": entry.id,
        **both("service_name", entry.name),
        **both("service_description", entry.description),
        "service_status": INACTIVE if entry.withdrawn else ACTIVE,
        **both("eligibility_description", entry.eligibility),
        "service_area": service_area(entry),
        "phones": LIST_SEPARATOR.join(entry.phones),
        **both("phone_description", entry.phone_notes),
        "location_address": exported_address(entry),
        "address_private": _flag(entry.address_private),
        "taxonomy_terms": LIST_SEPARATOR.join(entry.needs),
        "languages": LIST_SEPARATOR.join(entry.languages),
        "source": entry.source,
        "checked_on": entry.checked_on.isoformat(),
        "dovira_kind": entry.kind,
        "dovira_scope": entry.scope,
        "dovira_abroad": _flag(entry.abroad),
    }


def _flag(value: bool) -> str:
    return "true" if value else "false"


def to_csv(entries: Iterable[Entry]) -> bytes:
    """UTF-8 with a byte order mark, so that a spreadsheet opens the Ukrainian text as it is."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(to_row(e) for e in entries)
    return out.getvalue().encode("utf-8-sig")


def to_service(entry: Entry) -> dict[str, Any]:
    """One HSDS service with its phones, location, service area and taxonomy; Ukrainian texts in the
    HSDS fields, English ones beside them (`*_en`)."""
    return {
        "id": entry.id,
        "organization_id": entry.id,
        "name": entry.name.uk,
        "name_en": entry.name.en,
        "description": entry.description.uk,
        "description_en": entry.description.en,
        "status": INACTIVE if entry.withdrawn else ACTIVE,
        "eligibility_description": entry.eligibility.uk if entry.eligibility else None,
        "eligibility_description_en": entry.eligibility.en if entry.eligibility else None,
        "languages": list(entry.languages),
        "phones": [_phone(entry, i, number) for i, number in enumerate(entry.phones, 1)],
        "locations": [_location(entry)],
        "service_areas": [_area(entry)],
        "taxonomy_terms": [{"term": need, "vocabulary": TAXONOMY} for need in entry.needs],
        "source": entry.source,
        "checked_on": entry.checked_on.isoformat(),
        "address_private": entry.address_private,
        "dovira_kind": entry.kind,
        "dovira_scope": entry.scope,
        "dovira_abroad": entry.abroad,
    }


def _phone(entry: Entry, index: int, number: str) -> dict[str, Any]:
    notes = entry.phone_notes
    return {
        "id": f"{entry.id}-phone-{index}",
        "service_id": entry.id,
        "number": number,
        "description": notes.uk if notes else None,
        "description_en": notes.en if notes else None,
    }


def _location(entry: Entry) -> dict[str, Any]:
    return {
        "id": f"{entry.id}-location",
        "organization_id": entry.id,
        "name": entry.name.uk,
        "address": exported_address(entry) or None,
        "address_private": entry.address_private,
    }


def _area(entry: Entry) -> dict[str, Any]:
    return {
        "id": f"{entry.id}-area",
        "service_id": entry.id,
        "service_area": service_area(entry) or "UA",
        "extent_type": entry.scope,
    }


def to_json(entries: Iterable[Entry]) -> bytes:
    organizations = [
        {"id": e.id, "name": e.name.uk, "name_en": e.name.en, "services": [to_service(e)]} for e in entries
    ]
    return json.dumps({"organizations": organizations}, ensure_ascii=False, indent=2).encode("utf-8")


# --- import ---------------------------------------------------------------------------------------
class ImportRefused(ValueError):
    """The whole file cannot be read; str() is the reason: "too_big", "not_csv", "no_rows", "too_many_rows",
    "missing_columns" (with `detail`: the columns), "not_received" (Telegram could not give the file)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail


class RowRefused(ValueError):
    """One row cannot be used; str() is the reason (a key of directory_import.po: import.reason.*)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail


@dataclass(frozen=True)
class Refusal:
    line: int  # the row's first line in the file (line 1 is the header)
    entry_id: str
    reason: str
    detail: str = ""


@dataclass
class Plan:
    added: list[Entry] = field(default_factory=list)
    changed: list[Entry] = field(default_factory=list)  # as they will be
    withdrawn: list[Entry] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    unchanged: int = 0

    @property
    def imported(self) -> list[Entry]:
        return self.added + self.changed

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.withdrawn)


def may_import(roles: Sequence[StaffRole]) -> bool:
    """Admins, and an oblast's regional coordinators (for the entries of their oblast: `may_check`)."""
    return any(
        r.role == Role.ADMIN or (r.role == Role.COORDINATOR and r.oblast and r.district is None)
        for r in roles
    )


def read_rows(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with their first line numbers; raise ImportRefused for the whole file."""
    if len(content) > FILE_LIMIT:
        raise ImportRefused("too_big")
    try:
        text = content.decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ImportRefused("not_csv") from exc
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportRefused("missing_columns", ", ".join(missing))
    return _numbered(reader)


def _numbered(reader: csv.DictReader[str]) -> list[tuple[int, dict[str, str]]]:
    rows: list[tuple[int, dict[str, str]]] = []
    line = reader.line_num + 1
    try:
        for row in reader:
            if any((v or "").strip() for v in row.values() if isinstance(v, str)):
                rows.append((line, {k: (v or "").strip() for k, v in row.items() if isinstance(v, str)}))
            line = reader.line_num + 1
            if len(rows) > ROWS_LIMIT:
                raise ImportRefused("too_many_rows")
    except csv.Error as exc:
        raise ImportRefused("not_csv") from exc
    if not rows:
        raise ImportRefused("no_rows")
    return rows


def plan_import(
    directory: Directory,
    rows: Sequence[tuple[int, dict[str, str]]],
    roles: Sequence[StaffRole],
    today: date,
) -> Plan:
    """What importing `rows` would do to the effective directory, row by row (nothing is written)."""
    plan = Plan()
    seen: set[str] = set()
    for line, row in rows:
        entry_id = row.get("service_id", "")
        try:
            if entry_id in seen:
                raise RowRefused("duplicate")
            seen.add(entry_id)
            _plan_row(plan, directory, entry_of(row, directory, today), roles)
        except RowRefused as refused:
            plan.refused.append(Refusal(line, entry_id, str(refused), refused.detail))
    return plan


def _plan_row(plan: Plan, directory: Directory, entry: Entry, roles: Sequence[StaffRole]) -> None:
    current = directory.any_entry(entry.id)
    if not may_check(roles, entry) or (current is not None and not may_check(roles, current)):
        raise RowRefused("not_yours")
    if current is None:
        if entry.withdrawn:
            raise RowRefused("nothing_to_withdraw")
        plan.added.append(entry)
        return
    entry = _keep_private_address(entry, current)
    if entry == current:
        plan.unchanged += 1
    elif entry.withdrawn:
        plan.withdrawn.append(current)
    elif _withdrawn_in_files(directory, entry.id):
        raise RowRefused("withdrawn_in_files")
    else:
        plan.changed.append(entry)


def _keep_private_address(entry: Entry, current: Entry) -> Entry:
    """An export never carries a shelter's address: an empty one in the file keeps the one stored."""
    if entry.address_private and entry.address is None and current.address_private:
        return entry.model_copy(update={"address": current.address})
    return entry


def _withdrawn_in_files(directory: Directory, entry_id: str) -> bool:
    seed = directory.seed_entry(entry_id)
    return seed is not None and seed.withdrawn


def entry_of(row: dict[str, str], directory: Directory, today: date) -> Entry:
    """The row as an entry, validated as the data files are; RowRefused says what is wrong."""
    entry_id = row.get("service_id", "")
    if not _ID.match(entry_id):
        raise RowRefused("bad_id")
    fields: dict[str, Any] = {
        "id": entry_id,
        "kind": _choice(row, "dovira_kind", ("emergency", "hotline", "service"), "bad_kind"),
        **_area_of(row, directory),
        "name": _localized(row, "service_name", required=True),
        "description": _localized(row, "service_description", required=True),
        "phones": _phones(row.get("phones", "")),
        "phone_notes": _localized(row, "phone_description"),
        "address": _text(row.get("location_address", ""), "location_address") or None,
        "address_private": _yes_no(row, "address_private"),
        "needs": _needs(row.get("taxonomy_terms", "")),
        "languages": _languages(row.get("languages", "")),
        "eligibility": _localized(row, "eligibility_description"),
        "abroad": _yes_no(row, "dovira_abroad"),
        "source": _source(row.get("source", "")),
        "checked_on": _checked_on(row.get("checked_on", ""), today),
        "withdrawn": _status(row.get("service_status", "")) == INACTIVE,
    }
    try:
        return Entry.model_validate(fields)
    except ValidationError as exc:
        raise RowRefused("invalid", "; ".join(e["msg"] for e in exc.errors())[:200]) from exc


def _choice(row: dict[str, str], column: str, allowed: tuple[str, ...], reason: str) -> str:
    value = row.get(column, "")
    if value not in allowed:
        raise RowRefused(reason, value)
    return value


def _area_of(row: dict[str, str], directory: Directory) -> dict[str, Any]:
    """dovira_scope and service_area agree, and name places of data/regions.yaml."""
    scope = _choice(row, "dovira_scope", ("national", "oblast", "district", "community"), "bad_scope")
    area = row.get("service_area", "")
    parts = [p.strip() for p in area.split("/")] if area else []
    if len(parts) != ("national", "oblast", "district", "community").index(scope):
        raise RowRefused("bad_area", area)
    oblast, district, community = [*parts, None, None, None][:3]
    if oblast is not None and directory.oblast(oblast) is None:
        raise RowRefused("bad_area", area)
    found = directory.oblast_of(district) if district is not None else None
    if district is not None and (found is None or found.id != oblast):
        raise RowRefused("bad_area", area)
    if community is not None and directory.community(district or "", community) is None:
        raise RowRefused("bad_area", area)
    return {"scope": scope, "oblast": oblast, "district": district, "community": community}


def _localized(row: dict[str, str], prefix: str, *, required: bool = False) -> Localized | None:
    uk, en = row.get(f"{prefix}_uk", ""), row.get(f"{prefix}_en", "")
    if not uk and not en and not required:
        return None
    if not uk or not en:
        raise RowRefused("untranslated", prefix)
    return Localized(uk=_text(uk, prefix), en=_text(en, prefix))


def _text(text: str, column: str) -> str:
    if len(text) > TEXT_LIMIT:
        raise RowRefused("too_long", column)
    return text


def _phones(text: str) -> tuple[str, ...]:
    if not text.strip():
        return ()
    try:
        return parse_phones(text)
    except CheckError as exc:
        raise RowRefused(str(exc), text) from exc


def _needs(text: str) -> tuple[Need, ...]:
    terms = [t.strip() for t in text.split(";") if t.strip()]
    known = {n.value for n in Need}
    for term in terms:
        if term not in known:
            raise RowRefused("bad_need", term)
    return tuple(dict.fromkeys(Need(t) for t in terms))


def _languages(text: str) -> tuple[str, ...]:
    languages = tuple(dict.fromkeys(t.strip() for t in text.split(";") if t.strip())) or ("uk",)
    for language in languages:
        if not _LANGUAGE.match(language):
            raise RowRefused("bad_language", language)
    return languages


def _yes_no(row: dict[str, str], column: str) -> bool:
    value = row.get(column, "").lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowRefused("bad_flag", column)


def _source(text: str) -> str:
    source = " ".join(text.split())
    if not SOURCE_RANGE[0] <= len(source) <= SOURCE_RANGE[1]:
        raise RowRefused("no_source")
    return source


def _checked_on(text: str, today: date) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise RowRefused("bad_date", text) from exc
    if day > today:
        raise RowRefused("future_date", text)
    return day


def _status(text: str) -> str:
    status = text.lower() or ACTIVE
    if status not in (ACTIVE, INACTIVE):
        raise RowRefused("bad_status", text)
    return status


# --- the plan as people read it (the bot and the command line) -------------------------------------
LISTED = 15  # entries named per section; the rest are counted


def summary(plan: Plan, translate: Callable[[str], str], language: str) -> str:
    """Plain text (the bot escapes it): counts, the entries by name, the refused rows with line and reason."""
    sections = [
        ("import.summary.added", [e.name.get(language) for e in plan.added]),
        ("import.summary.changed", [e.name.get(language) for e in plan.changed]),
        ("import.summary.withdrawn", [e.name.get(language) for e in plan.withdrawn]),
        ("import.summary.refused", [refusal_line(r, translate) for r in plan.refused]),
    ]
    lines = []
    for key, items in sections:
        lines.append(translate(key).format(count=len(items)))
        lines.extend(f"• {item}" for item in items[:LISTED])
        if len(items) > LISTED:
            lines.append(translate("import.summary.more").format(count=len(items) - LISTED))
    lines.append(translate("import.summary.unchanged").format(count=plan.unchanged))
    return "\n".join(lines)


def refusal_line(refusal: Refusal, translate: Callable[[str], str]) -> str:
    reason = translate(f"import.reason.{refusal.reason}")
    detail = f" ({refusal.detail})" if refusal.detail else ""
    where = translate("import.summary.line").format(line=refusal.line, entry=refusal.entry_id or "—")
    return f"{where}: {reason}{detail}"


def file_refusal(refused: ImportRefused, translate: Callable[[str], str]) -> str:
    text = translate(f"import.file.{refused}")
    return text.format(columns=refused.detail) if refused.detail else text
