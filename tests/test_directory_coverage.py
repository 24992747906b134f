"""`python -m bot directory coverage`: what the directory gives people to call, per district and kind of
help, on the shipped data and with the checks made in the bot laid over it (issue 17 item 2)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.directory_coverage import WIDTH, table
from bot.i18n import compile_translations
from bot.services.directory import Directory, DirectoryError, Need, load_directory
from bot.services.directory_coverage import CoverageRow, coverage
from db.engine import create_engine, create_sessionmaker
from db.migrate import upgrade_to_head
from db.models import DirectoryCheck

DATA = Path(__file__).resolve().parent.parent / "data"
NONE_YET = "none: no official source yet"


@pytest.fixture
def directory() -> Directory:
    return load_directory(DATA)  # each test its own: some lay checks over it


def _row(rows: list[CoverageRow], district: str, need: Need) -> CoverageRow:
    return next(r for r in rows if r.district.id == district and r.need is need)


def test_every_district_and_kind_of_help_has_a_row(directory: Directory) -> None:
    rows = coverage(directory)
    districts = sum(len(o.districts) for o in directory.oblasts)
    assert len(rows) == districts * len(Need)
    assert {r.oblast.id for r in coverage(directory, "zhytomyr")} == {"zhytomyr"}
    with pytest.raises(DirectoryError):
        coverage(directory, "lviv")


def test_the_oblast_wide_1552_line_counts_for_social_services_in_every_kharkiv_district(
    directory: Directory,
) -> None:
    line = directory.entry("kharkiv-hotline-1552")
    assert line is not None and line.scope == "oblast" and line.phones == ("1552",)
    rows = coverage(directory, "kharkiv")
    izium = _row(rows, "kharkiv-izium", Need.SOCIAL_SERVICES)
    assert izium.oblast_wide_with_phone >= 1
    assert izium.oldest_check is not None and izium.oldest_check <= line.checked_on
    # Withdrawn in the bot: people no longer see it, so it no longer counts.
    directory.apply({"kharkiv-hotline-1552": {"withdrawn": True}})
    after = _row(coverage(directory, "kharkiv"), "kharkiv-izium", Need.SOCIAL_SERVICES)
    assert after.oblast_wide_with_phone == izium.oblast_wide_with_phone - 1


def test_a_district_without_a_local_phone_for_legal_aid_says_so(directory: Directory) -> None:
    row = _row(coverage(directory, "kharkiv"), "kharkiv-izium", Need.LEGAL_AID)
    assert row.local_with_phone == 0 and row.no_local_phone
    _ = compile_translations()["en"].gettext
    text = "\n".join(table(coverage(directory, "kharkiv"), "en", _))
    izium = text[text.index("Izium district") :]
    legal_aid = next(line for line in izium.splitlines() if "legal_aid" in line)
    assert NONE_YET in legal_aid


def test_a_local_phone_is_counted_and_not_marked(directory: Directory) -> None:
    before = _row(coverage(directory, "kharkiv"), "kharkiv-izium", Need.SOCIAL_SERVICES)
    assert before.local >= 1 and before.local_with_phone == 0 and before.no_local_phone  # a name, no phone
    directory.apply({"kharkiv-izium-administration": {"phones": ("0 57 000 00 00",)}})
    row = _row(coverage(directory, "kharkiv"), "kharkiv-izium", Need.SOCIAL_SERVICES)
    assert row.local_with_phone == 1 and not row.no_local_phone


@pytest.mark.parametrize("language", ["uk", "en"])
def test_the_table_fits_110_columns(directory: Directory, language: str) -> None:
    _ = compile_translations()[language].gettext
    for oblast in directory.oblasts:
        lines = table(coverage(directory, oblast.id), language, _)
        assert max(len(line) for line in lines) <= WIDTH, language


async def test_command_line_prints_the_effective_directory(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A phone a coordinator added in the bot counts: the command reads the checks as start-up does."""
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    changes = {
        "phones": ["0 57 700 00 00"],
        "address": None,
        "source": "https://example.gov.ua/ (page dated 2026-12-01)",
    }
    async with create_sessionmaker(engine)() as session, session.begin():
        session.add(
            DirectoryCheck(
                entry_id="kharkiv-legal-aid-centre",
                action="corrected",
                checked_on=date(2026, 12, 20),
                changes=json.dumps(changes),
                at=datetime(2026, 12, 20, tzinfo=UTC),
            )
        )
    await engine.dispose()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KEY_FILE", str(tmp_path / "dovira.key"))
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    argv = ["directory", "coverage", "--oblast", "kharkiv", "--language", "en"]
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    assert "Kharkiv oblast" in out and "Zhytomyr" not in out
    izium = out[out.index("Izium district") :]
    legal_aid = next(line for line in izium.splitlines() if "legal_aid" in line)
    assert legal_aid.split()[1:4] == ["0/0", "1/1", "2026-12-20"]  # the corrected oblast-wide centre
    assert NONE_YET in legal_aid  # still nobody in the district itself
    assert max(len(line) for line in out.splitlines()) <= WIDTH

    assert await asyncio.to_thread(main, ["directory", "coverage", "--oblast", "lviv"]) == 2
    assert "kharkiv, zhytomyr" in capsys.readouterr().err
