"""The report files as a coordinator prints and reads them (issue 16, items 2 and 6): every XLSX set up for
A4 with its header row on every page, frozen headers, rows tall enough for their wrapped text, the chart
over no cell, no emoji, sheets named in the report's language, numbers stored as numbers; a hidden count
drawn as a visible bar from zero and explained under its table; the message naming its columns and its
months and quarters as people write them."""

from __future__ import annotations

import csv
import html
import io
import math
import re
import unicodedata
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.report_files import (
    chart_bars,
    chart_figure,
    row_line,
    sheet_names,
    to_csv,
    to_png,
    to_summary,
    to_text,
    to_xlsx,
)
from bot.services.reports import KINDS, SECONDARY, SUPPRESSED, Report, ReportService, Section
from tests.test_reports import PROGRAMME, REGIONAL, _case, reports, seed, sm  # noqa: F401

ENGLISH_KINDS = {"indicators", "events", "cases", "compliance", "reconciliation", "annual"}
LINE_POINTS = 14.0  # an office suite's line of 11-point text is 14-15 points


def _is_emoji(character: str) -> bool:
    # "№" is a letter-like symbol a report may use; pictographs and emoji selectors are not.
    return character in "\ufe0f\u200d" or (unicodedata.category(character) == "So" and character != "№")


def _texts(book: object) -> list[str]:
    return [
        str(cell.value)
        for sheet in book.worksheets  # type: ignore[attr-defined]
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]


def _header_row(sheet: Worksheet, section: Section) -> int:
    """The 1-based row holding the section's column names."""
    for row in sheet.iter_rows():
        values = tuple(c.value for c in row[: len(section.columns)])
        if values == section.columns:
            return row[0].row
    raise AssertionError(f"{sheet.title}: no header row {section.columns}")


def _width(sheet: Worksheet, column: int) -> float:
    letter = get_column_letter(column)
    width = sheet.column_dimensions[letter].width
    return float(width) if width else 8.43


def _merged_width(sheet: Worksheet, row: int, column: int) -> float:
    for merged in sheet.merged_cells.ranges:
        if merged.min_row == row and merged.min_col == column:
            return sum(_width(sheet, c) for c in range(merged.min_col, merged.max_col + 1))
    return _width(sheet, column)


def _chart_cells(sheet: Worksheet) -> list[tuple[int, int, int, int]]:
    """Each chart's rectangle of cells, 1-based (first row, first column, last row, last column)."""
    boxes = []
    for chart in sheet._charts:
        anchor = chart.anchor
        start, end = anchor._from, anchor.to
        boxes.append((start.row + 1, start.col + 1, end.row + 1, end.col + 1))
    return boxes


def check_printable(sheet: Worksheet, section: Section, english: bool) -> None:
    """A4, one page wide, the header row on every page and frozen, the printed area holding every
    written cell and the chart, rows as tall as their wrapped text, the chart over no written cell."""
    header = _header_row(sheet, section)
    assert int(sheet.page_setup.paperSize) == 9, sheet.title  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage  # fitted to pages: one wide (OOXML's default)
    assert sheet.page_setup.fitToWidth in (None, 1), sheet.title
    assert sheet.page_setup.fitToHeight == 0, sheet.title  # as many pages down as it needs
    widths = sum(_width(sheet, c) for c in range(1, len(section.columns) + 1))
    # A stored width has about 0.71 of a character's padding added (XlsxWriter): the rule counts characters.
    turned = "landscape" if widths - 0.72 * len(section.columns) > 120 else "portrait"
    assert sheet.page_setup.orientation == turned, (sheet.title, widths)
    assert str(sheet.print_title_rows).replace("$", "") == f"{header}:{header}", sheet.title
    assert sheet.freeze_panes == f"A{header + 1}", sheet.title
    area = str(sheet.print_area).split("!")[-1].replace("$", "")
    first_col, first_row, last_col, last_row = range_boundaries(area)
    assert (first_col, first_row) == (1, 1) and last_col >= len(section.columns), sheet.title
    hidden = {c for d in sheet.column_dimensions.values() if d.hidden for c in range(d.min, d.max + 1)}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            if cell.column not in hidden:
                assert cell.row <= last_row and cell.column <= last_col, (sheet.title, cell.coordinate)
            _fits(sheet, cell, header)
    for top, left, bottom, right in _chart_cells(sheet):
        assert bottom <= last_row and right <= last_col, sheet.title  # the chart is printed
        assert not any(_width(sheet, c) > 20 for c in range(len(section.columns) + 1, last_col + 1))
        for row in sheet.iter_rows(min_row=top, max_row=bottom, min_col=left, max_col=right):
            covered = [c.coordinate for c in row if c.value is not None]
            assert not covered, f"{sheet.title}: the chart covers {covered}"


def _fits(sheet: Worksheet, cell: object, header: int) -> None:
    """A wrapped text is given a row tall enough for its lines (else it overprints the next row)."""
    value, row, column = cell.value, cell.row, cell.column  # type: ignore[attr-defined]
    if not isinstance(value, str) or row < header or not cell.alignment.wrap_text:  # type: ignore[attr-defined]
        return
    size = float(cell.font.sz or 11) / 11  # type: ignore[attr-defined]
    width = _merged_width(sheet, row, column) / size
    lines = sum(max(1, math.ceil(len(part) / width)) for part in value.split("\n"))
    height = sheet.row_dimensions[row].height or 15.0
    assert height >= LINE_POINTS * size * lines, (sheet.title, cell.coordinate, value, height)  # type: ignore[attr-defined]


def check_cells(book: object, report: Report) -> None:
    """No emoji; numbers as numbers with a number format; every table with a hidden count explained."""
    for text in _texts(book):
        assert not any(_is_emoji(ch) for ch in text), text
    for sheet, section in zip(book.worksheets, report.sections, strict=True):  # type: ignore[attr-defined]
        header = _header_row(sheet, section)
        body = list(sheet.iter_rows(min_row=header + 1, max_row=header + len(section.rows)))
        for cells, values in zip(body, section.rows, strict=True):
            for cell, value in zip(cells, values, strict=False):
                if isinstance(value, int | float):
                    assert cell.data_type == "n" and isinstance(cell.value, int | float), cell.coordinate
                    assert cell.number_format != "General", (sheet.title, cell.coordinate)
                    assert "," in cell.number_format or "0.0" in cell.number_format
                elif isinstance(value, str):
                    assert not re.fullmatch(r"[\d\s.,]+", str(cell.value)), (sheet.title, cell.coordinate)
        hidden = {v for row in section.rows for v in row if v in (SUPPRESSED, SECONDARY)}
        after = [
            str(c.value)
            for row in sheet.iter_rows(min_row=header + len(section.rows) + 1)
            for c in row
            if c.value is not None
        ]
        for mark in hidden:
            assert any(line.startswith(("«" + mark, "“" + mark)) for line in after), (sheet.title, mark)


def check_sheet_names(book: object, language: str) -> None:
    for sheet in book.worksheets:  # type: ignore[attr-defined]
        name = sheet.title
        assert 0 < len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name), name
        if language == "uk":
            assert re.search("[А-Яа-яІіЇїЄєҐґ]", name) and name.casefold() not in ENGLISH_KINDS, name
        else:
            assert name.isascii(), name


@pytest.mark.parametrize("kind", KINDS)
async def test_every_xlsx_prints_on_a4_as_it_is(
    sm: async_sessionmaker[AsyncSession],  # noqa: F811
    reports: ReportService,  # noqa: F811
    kind: str,
    tmp_path: Path,
) -> None:
    await seed(sm)
    for language in ("uk", "en"):
        report = await reports.build(kind, PROGRAMME, 2024, None, language)
        body = to_xlsx(report)
        (tmp_path / f"{kind}-{language}.xlsx").write_bytes(body)
        book = load_workbook(io.BytesIO(body))
        assert [s.title for s in book.worksheets] == sheet_names(report)
        assert len(book.worksheets) == len(report.sections)
        for sheet, section in zip(book.worksheets, report.sections, strict=True):
            check_printable(sheet, section, language == "en")
        assert sum(len(s._charts) for s in book.worksheets) == 1
        check_cells(book, report)
        check_sheet_names(book, language)
        if kind == "reconciliation":  # quarters with no figures: no bar, and no "0" label claiming one
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                drawn = archive.read("xl/charts/chart1.xml").decode()
            assert drawn.count('<c:delete val="1"/>') == 6


async def izium_by_month(sm: async_sessionmaker[AsyncSession], reports: ReportService) -> Report:  # noqa: F811
    """Izium's twelve cases, none to three a month: every month is "<5" (an empty month too, in a district
    with cases: bot/services/disclosure.py)."""
    async with sm() as session, session.begin():
        for month, count in zip(range(1, 13), (1, 2, 1, 1, 0, 3, 1, 1, 0, 1, 1, 0), strict=True):
            for _ in range(count):
                day = datetime(2024, month, 12, tzinfo=UTC)
                session.add(_case("kharkiv-izium", "female", created_at=day))
    report = await reports.build("cases", PROGRAMME, 2024, "kharkiv-izium", "uk")
    assert [r[1] for r in report.sections[0].rows] == [SUPPRESSED] * 12
    return report


async def test_a_chart_of_hidden_counts_shows_every_hidden_month(
    sm: async_sessionmaker[AsyncSession],  # noqa: F811
    reports: ReportService,  # noqa: F811
    tmp_path: Path,
) -> None:
    report = await izium_by_month(sm, reports)
    (tmp_path / "cases-izium.xlsx").write_bytes(to_xlsx(report))  # to be looked at with --basetemp
    (tmp_path / "cases-izium.png").write_bytes(to_png(report))
    (bars,) = chart_bars(report)
    shown = [i for i, v in enumerate(bars.values) if v == SUPPRESSED]
    assert len(shown) == 12 and all(bars.heights[i] > 0 and bars.marks[i] == "<5" for i in shown)
    assert bars.categories[0] == "січень 2024"

    figure = chart_figure(report)
    axes = figure.axes[0]
    drawn = [p.get_height() for p in axes.patches]  # type: ignore[attr-defined]
    assert len(drawn) == 12 and all(drawn[i] > 0 for i in shown)  # nothing hidden is a blank bar
    assert axes.get_ylim()[0] == 0  # from zero
    labels = [t.get_text() for t in axes.texts]
    assert labels.count("<5") == 12
    assert any("від 0 до 4" in t.get_text() for t in figure.texts)  # what "<5" means, under the chart
    picture = Image.open(io.BytesIO(to_png(report))).convert("RGB")
    assert picture.getcolors(1 << 16) and len(picture.getcolors(1 << 16) or []) > 20  # drawn, not blank

    # The XLSX chart: bars from zero over heights kept beside the table, hidden counts labelled.
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    sheet = book.worksheets[0]
    (chart,) = sheet._charts
    assert chart.y_axis.scaling.min == 0
    (series,) = chart.series
    reference = series.val.numRef.f.split("!")[-1].replace("$", "")
    first_col, first_row, _c, last_row = range_boundaries(reference)
    heights = [sheet.cell(r, first_col).value for r in range(first_row, last_row + 1)]
    assert all(str(h).startswith("=IF(ISNUMBER(") for h in heights)  # worked out from the table's cells
    assert sheet.column_dimensions[get_column_letter(first_col)].hidden
    with zipfile.ZipFile(io.BytesIO(to_xlsx(report))) as archive:
        drawn_chart = archive.read("xl/charts/chart1.xml").decode()
    assert drawn_chart.count("<a:t>&lt;5</a:t>") == 12  # each hidden month labelled as the table has it
    assert drawn_chart.count('prst="wdUpDiag"') == 12  # and hatched
    cached = load_workbook(io.BytesIO(to_xlsx(report)), data_only=True).worksheets[0]
    assert all(
        (cached.cell(r, first_col).value or 0) > 0
        for r, v in zip(range(first_row, last_row + 1), bars.values, strict=True)
        if v == SUPPRESSED
    )


async def test_the_message_names_columns_months_and_quarters(
    sm: async_sessionmaker[AsyncSession],  # noqa: F811
    reports: ReportService,  # noqa: F811
) -> None:
    await seed(sm)
    events = await reports.build("events", PROGRAMME, 2024, None, "uk")
    text = html.unescape(to_text(events))
    assert "лютий 2024 — Заходів: 1 · Учасників: 30" in text
    assert "2024-02" not in text
    english = html.unescape(to_text(await reports.build("events", PROGRAMME, 2024, None, "en")))
    assert "February 2024 — Events: 1 · Participants: 30" in english

    indicators = html.unescape(to_text(await reports.build("indicators", PROGRAMME, 2024, None, "uk")))
    assert (
        "2.6.a кількість проведених семінарів — План на рік: 5 · Факт: 0 · % виконання: 0 · Стан:"
        in indicators
    )

    reconciliation = html.unescape(
        to_text(await reports.build("reconciliation", PROGRAMME, 2024, None, "uk"))
    )
    assert "I квартал 2024 — Постраждалих за даними поліції: 6" in reconciliation
    assert "2024-Q1" not in reconciliation

    compliance = await reports.build("compliance", PROGRAMME, 2024, None, "uk")
    assert "(58,3%)" in to_text(compliance) and "(58,3%)" in to_summary(compliance)
    assert "(58.3%)" in to_text(await reports.build("compliance", PROGRAMME, 2024, None, "en"))

    money = Section("Кошти", ("Захід", "Витрачено, грн"), (("Семінар", 3500.5),))
    assert row_line(money, money.rows[0], "uk") == "Семінар — Витрачено, грн: 3\xa0500,50 грн"


async def test_csv_and_png_carry_no_emoji_and_explain_hidden_counts(
    sm: async_sessionmaker[AsyncSession],  # noqa: F811
    reports: ReportService,  # noqa: F811
) -> None:
    await seed(sm)
    cases = await reports.build("cases", PROGRAMME, 2024, None, "uk")
    assert any("🩺" in str(v) for s in cases.sections for r in s.rows for v in r)  # the label has one
    rows = list(csv.reader(io.StringIO(to_csv(cases).decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert ["Медична", "<5"] in rows
    assert not any(_is_emoji(ch) for cell in cells for ch in cell)
    assert any(cell.startswith("«<5» — від 0 до 4") for cell in cells)
    assert any(cell.startswith("«≥5» — 5 або більше") for cell in cells)
    book = load_workbook(io.BytesIO(to_xlsx(cases)))
    assert "Медична" in _texts(book)


def test_sheet_names_are_what_an_office_suite_accepts() -> None:
    long = "Розподіл: звернення / потреби [за районами] * ? \\ дуже довга назва"
    report = Report(
        "cases",
        PROGRAMME,
        2024,
        None,
        "uk",
        "Т",
        "П",
        (),
        (
            Section("Перша", ("А",), ()),
            Section(long, ("А",), ()),
            Section("За місяцями", ("А",), ()),
            Section("За місяцями (ще раз)", ("А",), ()),
        ),
        None,
    )
    names = sheet_names(report)
    assert names[0] == "Звернення" and names[2:] == ["За місяцями", "За місяцями (2)"]
    assert (
        len(names[1]) <= 31 and not re.search(r"[\[\]:*?/\\]", names[1]) and names[1].startswith("Розподіл")
    )


def test_a_wide_table_is_printed_landscape_and_a_narrow_one_upright() -> None:
    columns = tuple(f"Показник звіряння {n}" for n in range(14))
    wide = Section("Широка", ("Квартал", *columns), (("2024-Q1", *range(14)),))
    narrow = Section("Вузька", ("Квартал", "Звернень"), (("2024-Q1", 7),))
    report = Report("reconciliation", PROGRAMME, 2024, None, "uk", "Т", "П", (), (wide, narrow), None)
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    assert [s.page_setup.orientation for s in book.worksheets] == ["landscape", "portrait"]
    for sheet, section in zip(book.worksheets, report.sections, strict=True):
        check_printable(sheet, section, False)
    assert "I квартал 2024" in [c.value for c in book.worksheets[0]["A"]]  # as a person writes it
