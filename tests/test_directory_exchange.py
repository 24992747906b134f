"""Directory import and export (bot/services/directory_exchange.py) on the real database: the export uses
the HSDS field names and never carries a shelter's address; export then import changes nothing; a file
with good and bad rows is planned row by row (refused rows with their line and reason), and applying it
writes the good rows together, audited, or nothing at all; the command line does the same."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.cli import main
from bot.clock import today as kyiv_today
from bot.services import directory as directory_module
from bot.services.directory import Directory, DirectoryChecks, Entry, load_directory
from bot.services.directory_exchange import (
    COLUMNS,
    Plan,
    may_import,
    plan_import,
    read_rows,
    to_csv,
    to_json,
    to_row,
)
from bot.services.staff import Role, StaffRole
from bot.settings import Settings
from bot.telegram_emulator.server import FakeTelegramServer
from db.models import AuditEntry, DirectoryCheck

ROOT = Path(__file__).resolve().parent.parent
TODAY = kyiv_today()
ADMIN = [StaffRole(Role.ADMIN, None, None, None)]
KHARKIV = [StaffRole(Role.COORDINATOR, None, "kharkiv", None)]
IZIUM = [StaffRole(Role.COORDINATOR, None, "kharkiv", "kharkiv-izium")]
SECRET = "вул. Таємна, 7"
NEW_ID = "kharkiv-izium-legal-aid-bureau"


def kyiv(day: date) -> datetime:
    return datetime.combine(day, time(11), ZoneInfo("Europe/Kyiv")).astimezone(UTC)


def shelter() -> Entry:
    return Entry.model_validate(
        {
            "id": "kharkiv-shelter",
            "kind": "service",
            "scope": "oblast",
            "oblast": "kharkiv",
            "name": {"uk": "Притулок", "en": "Shelter"},
            "description": {"uk": "Тимчасовий притулок.", "en": "A temporary shelter."},
            "phones": ["057 000 00 00"],
            "address": SECRET,
            "address_private": True,
            "needs": ["shelter"],
            "source": "https://example.gov.ua/shelter (page dated 2026-10-01)",
            "checked_on": "2026-10-01",
        }
    )


def with_shelter() -> Directory:
    shipped = load_directory(ROOT / "data")
    return Directory(shipped.regions, [*shipped.all_entries, shelter()])


def csv_of(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def row_of(directory: Directory, entry_id: str, **changes: str) -> dict[str, str]:
    entry = directory.any_entry(entry_id)
    assert entry is not None
    return {**to_row(entry), **changes}


def new_row(directory: Directory, **changes: str) -> dict[str, str]:
    """A district legal aid bureau, as a coordinator would add it."""
    bureau = {
        "organization_id": NEW_ID,
        "service_id": NEW_ID,
        "service_name_uk": "Ізюмське бюро правничої допомоги",
        "service_name_en": "Izium legal aid bureau",
        "service_area": "kharkiv/kharkiv-izium",
        "dovira_scope": "district",
        "phones": "0 800 213 103; 05743 2-11-00",
        "source": "https://legalaid.gov.ua/kharkiv/izium (page dated 2026-09-15)",
        "checked_on": "2026-09-15",
    }
    return row_of(directory, "kharkiv-legal-aid-centre", **{**bureau, **changes})


def good_and_bad(directory: Directory) -> bytes:
    """Line 2: new; 3: changed (phone); 4: withdrawn; 5-6 (two lines): refused, unknown need; then refused
    rows: bad phone, no source, unknown district, a date to come, the new entry again."""
    return csv_of(
        [
            new_row(directory),
            row_of(directory, "kharkiv-employment-centre", phones="057 700 00 00"),
            row_of(directory, "kharkiv-labour-inspection", service_status="inactive"),
            row_of(
                directory, "kharkiv-police", taxonomy_terms="legal_aid; magic", service_description_uk="а\nб"
            ),
            row_of(directory, "kharkiv-migration-service", phones="дзвоніть у будь-який час"),
            row_of(directory, "kharkiv-children-service", source=""),
            row_of(
                directory, "kharkiv-hotline-1552", service_area="kharkiv/atlantis", dovira_scope="district"
            ),
            row_of(
                directory,
                "kharkiv-social-services-centre",
                checked_on=(TODAY + timedelta(days=30)).isoformat(),
            ),
            new_row(directory, phones="057 111 11 11"),
        ]
    )


# --- export -----------------------------------------------------------------------------------------
def test_a_shelters_address_is_never_exported() -> None:
    directory = with_shelter()
    exported_csv, exported_json = to_csv(directory.all_entries), to_json(directory.all_entries)
    assert SECRET not in exported_csv.decode("utf-8-sig") and SECRET not in exported_json.decode("utf-8")
    row = next(
        r
        for r in csv.DictReader(io.StringIO(exported_csv.decode("utf-8-sig")))
        if r["service_id"] == "kharkiv-shelter"
    )
    assert row["address_private"] == "true" and row["location_address"] == ""
    assert row["phones"] == "057 000 00 00" and row["taxonomy_terms"] == "shelter"
    organizations = json.loads(exported_json)["organizations"]
    service = next(o for o in organizations if o["id"] == "kharkiv-shelter")["services"][0]
    assert service["address_private"] is True and service["locations"][0]["address"] is None


def test_the_export_uses_hsds_names_and_both_languages() -> None:
    directory = load_directory(ROOT / "data")
    rows = list(csv.DictReader(io.StringIO(to_csv(directory.all_entries).decode("utf-8-sig"))))
    assert len(rows) == len(directory.all_entries)
    hotline = next(r for r in rows if r["service_id"] == "hotline-527")
    assert hotline["phones"] == "527; 0 800 505 501" and hotline["service_area"] == ""
    assert hotline["service_name_uk"] and hotline["service_name_en"] and hotline["dovira_scope"] == "national"
    service = json.loads(to_json(directory.all_entries))["organizations"][0]["services"][0]
    assert {"phones", "locations", "service_areas", "taxonomy_terms", "source", "checked_on"} <= set(service)


# --- the plan ---------------------------------------------------------------------------------------
def test_export_then_import_changes_nothing() -> None:
    directory = with_shelter()
    plan = plan_import(directory, read_rows(to_csv(directory.all_entries)), ADMIN, TODAY)
    assert not plan.has_changes and plan.refused == [] and plan.unchanged == len(directory.all_entries)


def test_good_and_bad_rows_are_planned_row_by_row() -> None:
    directory = load_directory(ROOT / "data")
    plan = plan_import(directory, read_rows(good_and_bad(directory)), ADMIN, TODAY)
    assert [e.id for e in plan.added] == [NEW_ID]
    assert plan.added[0].phones == ("0 800 213 103", "05743 2-11-00")
    assert [(e.id, e.phones) for e in plan.changed] == [("kharkiv-employment-centre", ("057 700 00 00",))]
    assert [e.id for e in plan.withdrawn] == ["kharkiv-labour-inspection"]
    refused = [(r.line, r.reason) for r in plan.refused]
    assert refused == [
        (5, "bad_need"),
        (7, "bad_phone"),
        (8, "no_source"),
        (9, "bad_area"),
        (10, "future_date"),
        (11, "duplicate"),
    ]
    assert plan.refused[0].detail == "magic"


def test_a_regional_coordinator_imports_their_oblast_only() -> None:
    directory = load_directory(ROOT / "data")
    rows = csv_of(
        [
            new_row(directory),
            row_of(directory, "zhytomyr-police", phones="0412 00 00 00"),
            row_of(directory, "hotline-1547", phones="1547; 0 800 000 000"),
        ]
    )
    plan = plan_import(directory, read_rows(rows), KHARKIV, TODAY)
    assert [e.id for e in plan.added] == [NEW_ID]
    assert [(r.line, r.reason) for r in plan.refused] == [(3, "not_yours"), (4, "not_yours")]
    assert may_import(KHARKIV) and may_import(ADMIN) and not may_import(IZIUM)


# --- applying it ------------------------------------------------------------------------------------
@pytest.fixture
async def app(settings: Settings, server: FakeTelegramServer) -> AsyncIterator[App]:
    app = await build_app(settings)
    yield app
    await app.close()


def checks_of(app: App) -> DirectoryChecks:
    return DirectoryChecks(app.sessionmaker, app.directory, clock=lambda: kyiv(TODAY))


async def apply(app: App, plan: Plan) -> None:
    await checks_of(app).record_import(None, plan.imported, plan.withdrawn, via="test")


async def test_applying_writes_the_good_rows_audited_and_every_replica_sees_them(app: App) -> None:
    plan = plan_import(app.directory, read_rows(good_and_bad(app.directory)), ADMIN, TODAY)
    await apply(app, plan)
    added = app.directory.entry(NEW_ID)
    assert added is not None and added.district == "kharkiv-izium"
    employment = app.directory.entry("kharkiv-employment-centre")
    assert employment is not None and employment.phones == ("057 700 00 00",)
    assert app.directory.entry("kharkiv-labour-inspection") is None
    police = app.directory.entry("kharkiv-police")
    assert police is not None and "magic" not in police.needs  # refused rows changed nothing

    replica = load_directory(app.settings.data_dir)  # another process, reading the database
    await DirectoryChecks(app.sessionmaker, replica).load()
    assert replica.all_entries == app.directory.all_entries
    async with app.sessionmaker() as session:
        audited = list(
            await session.scalars(select(AuditEntry.detail).where(AuditEntry.action.like("directory.%")))
        )
    assert sorted(audited) == sorted(
        f"entry={i} import=test" for i in (NEW_ID, "kharkiv-employment-centre", "kharkiv-labour-inspection")
    )
    again = plan_import(app.directory, read_rows(to_csv(app.directory.all_entries)), ADMIN, TODAY)
    assert not again.has_changes and again.refused == []


async def test_nothing_is_half_imported(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_import(app.directory, read_rows(good_and_bad(app.directory)), ADMIN, TODAY)
    before = app.directory.all_entries

    def broken(**_: Any) -> None:
        raise RuntimeError("the audit log cannot be written")

    monkeypatch.setattr(directory_module, "AuditEntry", broken)
    with pytest.raises(RuntimeError):
        await apply(app, plan)
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DirectoryCheck)) == 0
    assert app.directory.all_entries == before


async def test_an_imported_shelter_keeps_its_address_through_export_and_import(app: App) -> None:
    row = {**to_row(shelter()), "location_address": SECRET}
    await apply(app, plan_import(app.directory, read_rows(csv_of([row])), ADMIN, TODAY))
    stored = app.directory.entry("kharkiv-shelter")
    assert stored is not None and stored.address == SECRET and stored.shown_address is None
    exported = to_csv(app.directory.all_entries)
    assert SECRET not in exported.decode("utf-8-sig")
    assert not plan_import(app.directory, read_rows(exported), ADMIN, TODAY).has_changes


# --- the command line -------------------------------------------------------------------------------
async def test_the_command_line_exports_and_imports(
    app: App,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KEY_FILE", str(app.settings.key_file))
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    exported, as_json = tmp_path / "directory.csv", tmp_path / "directory.json"
    assert (
        await asyncio.to_thread(main, ["directory", "export", "--format", "csv", "--out", str(exported)]) == 0
    )
    assert (
        await asyncio.to_thread(main, ["directory", "export", "--format", "json", "--out", str(as_json)]) == 0
    )
    assert len(json.loads(as_json.read_text("utf-8"))["organizations"]) == len(app.directory.all_entries)
    assert await asyncio.to_thread(main, ["directory", "import", str(exported)]) == 0
    assert "Нові записи: 0" in capsys.readouterr().out

    upload = tmp_path / "upload.csv"
    upload.write_bytes(good_and_bad(app.directory))
    assert await asyncio.to_thread(main, ["directory", "import", str(upload), "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "Нові записи: 1" in out and "рядок 5 (kharkiv-police)" in out and "нічого не записано" in out
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DirectoryCheck)) == 0
    assert await asyncio.to_thread(main, ["directory", "import", str(upload)]) == 1
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DirectoryCheck)) == 3


async def test_an_imported_entry_is_checked_in_the_bot_like_any_other(app: App) -> None:
    await apply(app, plan_import(app.directory, read_rows(csv_of([new_row(app.directory)])), ADMIN, TODAY))
    checks = checks_of(app)
    corrected = await checks.correct(
        None,
        KHARKIV,
        NEW_ID,
        phones=["057 222 22 22"],
        address=None,
        source="https://legalaid.gov.ua/x",  # type: ignore[arg-type]
    )
    assert corrected.phones == ("057 222 22 22",) and corrected.name.en == "Izium legal aid bureau"
    await checks.withdraw(None, KHARKIV, NEW_ID)  # type: ignore[arg-type]
    assert app.directory.entry(NEW_ID) is None
    restored = await checks.restore(None, KHARKIV, NEW_ID)  # type: ignore[arg-type]
    assert not restored.withdrawn and restored.phones == ("057 222 22 22",)
