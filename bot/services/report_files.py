"""A report (bot/services/reports.py) as a short message, CSV, an XLSX a coordinator prints as it is, or
a PNG chart.

What a person reads is worded in the report's language (bot/services/wording.py): months "листопад 2026",
quarters "I квартал 2025", amounts "3 500,50 грн". The XLSX keeps numbers as numbers with number formats,
so the office suite shows them with its own locale's decimal comma. No emoji reach a file: office fonts
print them as empty boxes. A count hidden as "<5" or "≥5" is drawn as a hatched bar of a fixed small
height (never a blank one) and explained under its table.

matplotlib is imported only when a chart is drawn, so that the bot starts as fast as before.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Any

from bot.render import fit
from bot.services.reports import (
    NO_VALUE,
    SECONDARY,
    SMALL_COUNT,
    SUPPRESSED,
    Cell,
    Chart,
    Report,
    Section,
    translator,
)
from bot.services.wording import hryvnias, month_name, number, quarter_name

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TEXT_ROWS = 12  # rows of the first table shown in the message; the files have them all
PNG_TITLE_KEY = "Title"
HIDDEN = (SUPPRESSED, SECONDARY)
MONTH_KEY = re.compile(r"\d{4}-\d{2}")
QUARTER_KEY = re.compile(r"\d{4}-Q[1-4]")
LABEL_KINDS = ("text", "month", "quarter")
FIGURE = (int, float, Decimal)  # amounts may come as Decimal hryvnias

# Pictographs, dingbats, flags, keycaps and the joiners and selectors that build emoji from them.
EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U0001fc00-\U0001ffff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff"
    "\ufe00-\ufe0f\u200d\u20e3\U000e0000-\U000e007f]"
)


def plain(text: str) -> str:
    """Text without emoji, for files: "🩺 Медична" -> "Медична"."""
    if not EMOJI.search(text):
        return text
    return "\n".join(" ".join(line.split()) for line in EMOJI.sub("", text).split("\n"))


# --- columns: what each holds, and a value as a person reads it ----------------------------------
def column_kinds(section: Section) -> tuple[str, ...]:
    """Each column's kind: "month", "quarter", "text", "percent", "money", "count" or "number". A
    section may name them (Section.kinds); otherwise they are read from the header and the values."""
    given = section.kinds
    return tuple(
        given[col] if col < len(given) and given[col] else _read_kind(section, col)
        for col in range(len(section.columns))
    )


def _read_kind(section: Section, col: int) -> str:
    values = [r[col] for r in section.rows if col < len(r) and r[col] is not None and r[col] != ""]
    words = [v for v in values if isinstance(v, str) and v not in HIDDEN]
    header = section.columns[col]
    if words:
        if len(words) == len(values) and all(MONTH_KEY.fullmatch(v) for v in words):
            return "month"
        if len(words) == len(values) and all(QUARTER_KEY.fullmatch(v) for v in words):
            return "quarter"
        return "text"
    if "%" in header:
        return "percent"
    if "грн" in header or "UAH" in header:
        return "money"
    return "count" if all(isinstance(v, int | str) and not isinstance(v, bool) for v in values) else "number"


def shown(value: Cell, kind: str, language: str) -> str:
    """A cell as a person reads it in the report's language."""
    if value is None or value == "":
        return NO_VALUE
    if isinstance(value, str):
        if kind == "month" and MONTH_KEY.fullmatch(value):
            return month_name(value, language)
        if kind == "quarter" and QUARTER_KEY.fullmatch(value):
            return quarter_name(value, language)
        return plain(value)
    if kind == "money":
        return hryvnias(value, language)
    return number(value, language)


def _prose(line: str, language: str) -> str:
    """A summary line as the report's language writes it: the builders put a share as "58.3%"."""
    return re.sub(r"(\d)\.(\d+)(?=\s?%)", r"\1,\2", line) if language == "uk" else line


def _clip(text: str, length: int = 90) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _lead(kinds: tuple[str, ...]) -> int:
    """How many leading columns name the row (number, name, month) rather than hold its figures."""
    count = 0
    while count < len(kinds) and kinds[count] in LABEL_KINDS:
        count += 1
    return count


def row_line(section: Section, row: tuple[Cell, ...], language: str) -> str:
    """One row of a table for a message: "лютий 2024 — Заходів: 1 · Учасників: 30"."""
    kinds = column_kinds(section)
    lead = _lead(kinds)
    present = [c for c in range(len(row)) if row[c] is not None and row[c] != ""]
    label = " ".join(shown(row[c], kinds[c], language) for c in present if c < lead)
    figures = " · ".join(
        f"{plain(section.columns[c])}: {shown(row[c], kinds[c], language)}" for c in present if c >= lead
    )
    return " — ".join(part for part in (_clip(label), figures) if part)


# --- the message ---------------------------------------------------------------------------------
def to_text(report: Report, lang: str | None = None) -> str:
    """The report as one Telegram message (HTML, under 4096 characters)."""
    _ = translator(lang or report.language)
    language = report.language
    lines = [f"<b>{escape(report.title)}</b>", f"<i>{escape(report.subtitle)}</i>", ""]
    lines += [escape(_prose(line, language)) for line in report.summary]
    first = report.sections[0] if report.sections else None
    if first is not None and first.rows:
        lines += ["", f"<b>{escape(first.title)}</b>"]
        lines += [escape(row_line(first, row, language)) for row in first.rows[:TEXT_ROWS]]
        if len(first.rows) > TEXT_ROWS:
            lines.append(escape(_("report.more_in_file").format(count=len(first.rows) - TEXT_ROWS)))
    if report.notes:
        lines += [""] + [f"<i>{escape(_prose(note, language))}</i>" for note in report.notes]
    return fit("\n".join(lines))


def to_summary(report: Report, limit: int = 1024) -> str:
    """Title, place, the headline figures and the notes: short enough for a document's caption."""
    language = report.language
    lines = [f"<b>{escape(report.title)}</b>", f"<i>{escape(report.subtitle)}</i>", ""]
    lines += [escape(_prose(line, language)) for line in report.summary]
    lines += [f"<i>{escape(_prose(note, language))}</i>" for note in report.notes[:1]]
    return fit("\n".join(lines), limit)


def footnotes(section: Section, language: str) -> list[str]:
    """What "<5" and "≥5" mean, for a table that shows either."""
    _ = translator(language)
    found = {v for row in section.rows for v in row if isinstance(v, str) and v in HIDDEN}
    notes = [_("report_files.footnote.suppressed")] if SUPPRESSED in found else []
    return notes + ([_("report_files.footnote.secondary")] if SECONDARY in found else [])


# --- CSV: the data as it is, for another program --------------------------------------------------
def to_csv(report: Report) -> bytes:
    """All sections one after another, each under its title and followed by its footnote; keys and
    numbers as stored ("2024-03", 133.3), texts without emoji. UTF-8 with a BOM so that Excel reads
    the Cyrillic right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([plain(report.title)])
    for line in report.subtitle.splitlines():
        writer.writerow([plain(line)])
    for section in report.sections:
        writer.writerow([])
        writer.writerow([plain(section.title)])
        writer.writerow([plain(name) for name in section.columns])
        for row in section.rows:
            writer.writerow(["" if v is None else plain(v) if isinstance(v, str) else v for v in row])
        for note in footnotes(section, report.language):
            writer.writerow([note])
    if report.notes:
        writer.writerow([])
        for note in report.notes:
            writer.writerow([plain(note)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- the chart's bars, shared by the PNG and the XLSX chart ---------------------------------------
@dataclass(frozen=True)
class ChartBars:
    """One series as drawn: each bar's height, its label, and whether it stands for a hidden count."""

    name: str
    categories: tuple[str, ...]
    values: tuple[Cell, ...]
    heights: tuple[float, ...]
    marks: tuple[str, ...]
    hidden: tuple[bool, ...]


def chart_bars(report: Report) -> tuple[ChartBars, ...]:
    """The chart's series. A hidden count gets a fixed height that depends only on what is shown
    (half the threshold, or a twentieth of the tallest bar), so the bar is seen and reveals nothing."""
    spec = report.chart
    if spec is None or not spec.rows:
        return ()
    section = report.sections[spec.section]
    rows = section.rows[: spec.rows]
    kinds = column_kinds(section)
    language = report.language
    categories = tuple(shown(r[spec.category], kinds[spec.category], language) for r in rows)
    figures = [float(v) for r in rows for c in spec.values if isinstance(v := r[c], FIGURE)]
    top = max((f for f in figures if math.isfinite(f)), default=0.0)
    height = {SUPPRESSED: max(SMALL_COUNT / 2, top / 20), SECONDARY: max(float(SMALL_COUNT), top / 12)}
    return tuple(
        ChartBars(
            name=plain(section.columns[col]),
            categories=categories,
            values=tuple(r[col] for r in rows),
            heights=tuple(
                float(v) if isinstance(v, FIGURE) else height.get(str(v), 0.0) for v in (r[col] for r in rows)
            ),
            marks=tuple("" if r[col] is None else shown(r[col], kinds[col], language) for r in rows),
            hidden=tuple(r[col] in HIDDEN for r in rows),
        )
        for col in spec.values
    )


def lying(bars: tuple[ChartBars, ...]) -> bool:
    """Bars lie across when there are many or their names are long (districts), so names read level."""
    return len(bars[0].heights) > 12 or max(len(c) for c in bars[0].categories) > 15


def chart_title(report: Report) -> str:
    return plain(report.chart.title if report.chart is not None else report.title)


# --- XLSX: a workbook a coordinator prints as it is -------------------------------------------------
TEXT_WIDTH = 50  # characters: a longer name wraps onto more lines of its row
FIGURE_WIDTH = 14  # a figure's column; its header wraps
PORTRAIT_WIDTH = 120  # characters across A4 portrait, scaled to fit no smaller than 85%
MIN_WIDTH = 66  # characters: a narrower table is widened, so that its prose and chart read well
# A4 inside the margins set below, in points: (width, height) upright and turned.
PRINTABLE = {False: (509.0, 730.0), True: (755.0, 485.0)}
LINE_HEIGHT = 15.0  # points per line of 11-point text
TITLE_LINE_HEIGHT = 19.0
CHART_ROW_PX = 20  # an unsized row, in pixels
NUMBER_FORMATS = {"count": "#,##0", "percent": "0.0", "money": "#,##0.00", "number": "#,##0"}
FRACTION_FORMAT = "#,##0.0#"
GREY, GREY_EDGE, BLUE, RED, GREEN = "#D9D9D9", "#7F7F7F", "#4F81BD", "#C0504D", "#4F9A55"
BAD_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")


def wrapped_lines(text: str, width: float) -> int:
    """How many lines a cell `width` characters wide takes for `text`, wrapped at spaces as the office
    suites do (a width counts the digit "0"; a lowercase letter is about as wide)."""
    room = max(int(width), 4)
    lines = 0
    for paragraph in text.split("\n"):
        lines, used = lines + 1, 0
        for word in paragraph.split():
            if used and used + 1 + len(word) > room:
                lines, used = lines + 1, 0
            while len(word) > room:  # a word longer than the cell breaks where it must
                lines, word = lines + 1, word[room:]
            used += len(word) + (1 if used else 0)
    return max(lines, 1)


def sheet_names(report: Report) -> list[str]:
    """A sheet for each section, named in the report's language: the first after the report's kind,
    the others after their section's title; at most 31 characters, none of []:*?/\\, all different."""
    _ = translator(report.language)
    kinds = {
        "indicators": _("report_files.sheet.indicators"),
        "events": _("report_files.sheet.events"),
        "cases": _("report_files.sheet.cases"),
        "compliance": _("report_files.sheet.compliance"),
        "reconciliation": _("report_files.sheet.reconciliation"),
        "annual": _("report_files.sheet.annual"),
    }
    wanted = [kinds.get(report.kind, report.kind)] + [s.title for s in report.sections[1:]]
    names: list[str] = []
    for title in wanted:
        name = _sheet_name(title)
        base, copy = name, 2
        while name.casefold() in {n.casefold() for n in names}:
            suffix = f" ({copy})"
            name, copy = base[: 31 - len(suffix)].rstrip() + suffix, copy + 1
        names.append(name)
    return names


def _sheet_name(title: str) -> str:
    name = re.sub(r"\s*\([^)]*\)", "", plain(title))  # "За потребами (одне звернення…)" -> "За потребами"
    name = " ".join(BAD_SHEET_CHARACTERS.sub(" ", name).split()).strip("'")
    while len(name) > 31:
        cut = name[:31].rsplit(" ", 1)[0]
        name = cut if cut != name[:31] else name[:31]
    return name or "1"


class _Formats:
    """The cell formats of one workbook, numbers' formats made once each."""

    def __init__(self, book: Any) -> None:
        self.book = book
        top = {"valign": "top", "text_wrap": True}
        self.title = book.add_format({"bold": True, "font_size": 14, **top})
        self.italic = book.add_format({"italic": True, **top})
        self.prose = book.add_format(top)
        self.small = book.add_format({"italic": True, "font_size": 9, **top})
        self.bold = book.add_format({"bold": True, **top})
        self.header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, **top})
        self.text = book.add_format({"border": 1, **top})
        self.hidden = book.add_format({"border": 1, "align": "right", "bg_color": "#F2F2F2", **top})
        self._numbers: dict[str, Any] = {}

    def number(self, kind: str, value: int | float) -> Any:
        fraction = kind in ("number", "count") and isinstance(value, float) and not value.is_integer()
        pattern = FRACTION_FORMAT if fraction else NUMBER_FORMATS.get(kind, NUMBER_FORMATS["number"])
        if pattern not in self._numbers:
            self._numbers[pattern] = self.book.add_format(
                {"border": 1, "valign": "top", "num_format": pattern}
            )
        return self._numbers[pattern]


class _XlsxSheet:
    """One worksheet, written top to bottom: the report's heading, one section's table with its
    footnote, on the first sheet the notes, and the chart below everything written."""

    def __init__(self, book: Any, formats: _Formats, report: Report, name: str, section: Section) -> None:
        self.book, self.f, self.report, self.section = book, formats, report, section
        self.sheet = book.add_worksheet(name)
        self.language = report.language
        self.kinds = column_kinds(section)
        self.widths = self._widths()
        self.landscape = sum(self.widths) > PORTRAIT_WIDTH
        self.heights: dict[int, float] = {}  # points, of every row given a height
        self.row = 0
        self.header_row = 0
        self.last_row = 0
        self.printed_col = len(self.widths) - 1  # the last column printed: the table's, or the chart's
        self.hidden_cols: set[int] = set()

    @property
    def last_col(self) -> int:
        return len(self.widths) - 1

    def _widths(self) -> list[int]:
        widths = [self._width(col) for col in range(len(self.section.columns))] or [TEXT_WIDTH]
        if sum(widths) < MIN_WIDTH:  # the first name column takes up the rest
            widest = next((c for c, k in enumerate(self.kinds) if k in LABEL_KINDS), 0)
            widths[widest] += MIN_WIDTH - sum(widths)
        return widths

    def _width(self, col: int) -> int:
        texts = [shown(r[col], self.kinds[col], self.language) for r in self.section.rows if col < len(r)]
        longest = max((len(t) for t in texts), default=0)
        word = max((len(w) for w in self.section.columns[col].split()), default=0)
        cap = TEXT_WIDTH if self.kinds[col] == "text" else FIGURE_WIDTH
        return min(max(longest, word, 6), cap) + 2

    def _across(self, text: str, style: Any, line_height: float = LINE_HEIGHT) -> None:
        """A line of prose over the table's full width, as tall as its wrapped lines."""
        width = sum(self.widths) * (11 / 14 if style is self.f.title else 1)
        if self.last_col:
            self.sheet.merge_range(self.row, 0, self.row, self.last_col, text, style)
        else:
            self.sheet.write_string(self.row, 0, text, style)
        self._set_height(line_height * wrapped_lines(text, width))
        self.last_row = self.row
        self.row += 1

    def write_heading(self, with_summary: bool) -> None:
        self._across(plain(self.report.title), self.f.title, TITLE_LINE_HEIGHT)
        for line in self.report.subtitle.splitlines():
            self._across(plain(line), self.f.italic)
        for line in self.report.summary if with_summary else ():
            self._across(plain(_prose(line, self.language)), self.f.prose)

    def write_table(self) -> None:
        section = self.section
        self.row += 1
        self._across(plain(section.title), self.f.bold)
        self.header_row = self.row
        for col, name in enumerate(section.columns):
            self.sheet.write_string(self.row, col, plain(name), self.f.header)
        self._fit_row([plain(name) for name in section.columns])
        for values in section.rows:
            for col, value in enumerate(values):
                self._write_cell(col, value)
            self._fit_row([shown(v, k, self.language) for v, k in zip(values, self.kinds, strict=False)])
        self.last_row = self.row - 1
        for note in footnotes(section, self.language):
            self._across(note, self.f.small, 12.0)

    def _fit_row(self, texts: list[str]) -> None:
        lines = max((wrapped_lines(t, w) for t, w in zip(texts, self.widths, strict=False)), default=1)
        self._set_height(LINE_HEIGHT * lines + 2)
        self.row += 1

    def _set_height(self, points: float) -> None:
        self.sheet.set_row(self.row, points)
        self.heights[self.row] = points

    def _write_cell(self, col: int, value: Cell) -> None:
        kind = self.kinds[col]
        if isinstance(value, bool) or value is None or value == "":
            self.sheet.write_blank(self.row, col, None, self.f.text)
        elif isinstance(value, FIGURE):
            figure = float(value) if isinstance(value, Decimal) else value
            self.sheet.write_number(self.row, col, figure, self.f.number(kind, figure))
        elif value in HIDDEN:
            self.sheet.write_string(self.row, col, value, self.f.hidden)
        else:
            self.sheet.write_string(self.row, col, shown(value, kind, self.language), self.f.text)

    def write_notes(self, notes: Iterable[str]) -> None:
        notes = list(notes)
        if notes:
            self.row += 1
            for note in notes:
                self._across(plain(_prose(note, self.language)), self.f.italic)

    def insert_chart(self, spec: Chart, bars: tuple[ChartBars, ...]) -> None:
        """The native chart below everything written, over the bars' heights kept in hidden columns to
        the right of the table (a hidden count is a number there, labelled as it is shown)."""
        first = self.header_row + 1
        last = first + len(bars[0].heights) - 1
        helper = self.last_col + 2
        horizontal = lying(bars)
        chart = self.book.add_chart({"type": "bar" if horizontal else "column"})
        for offset, (series, value_col) in enumerate(zip(bars, spec.values, strict=True)):
            col = helper + offset
            self._write_heights(series, value_col, col)
            chart.add_series(self._series(spec, series, [first, col, last], len(bars)))
        chart.show_hidden_data()  # the heights are in hidden columns
        value_axis: dict[str, Any] = {
            "min": 0,
            "num_format": "0" if spec.axis == "%" else "#,##0",
            "major_gridlines": {"visible": True},
        }
        if any(any(b.hidden) for b in bars) and max(h for b in bars for h in b.heights) < SMALL_COUNT:
            value_axis["max"] = SMALL_COUNT  # a "<5" bar reaches below the 5 it is less than
        category_axis = {"reverse": True} if horizontal else {"num_font": {"rotation": -45}}
        (chart.set_x_axis if horizontal else chart.set_y_axis)(value_axis)
        (chart.set_y_axis if horizontal else chart.set_x_axis)(category_axis)
        chart.set_title({"name": plain(spec.title), "name_font": {"size": 12}})
        chart.set_legend({"position": "bottom"} if len(bars) > 1 else {"none": True})
        width = max(480, min(900, int(sum(self.widths) * 7.5)))
        height = max(300, 22 * len(bars[0].heights)) if horizontal else 320
        chart.set_size({"width": width, "height": height})
        at = self.row + 1
        self.sheet.insert_chart(at, 0, chart, {"object_position": 1})
        self.last_row = at + math.ceil(height / CHART_ROW_PX) + 1
        self.printed_col = max(self.last_col, self._columns_under(width))
        if not self._fits_on_page(at, height, width):
            self.sheet.set_h_pagebreaks([at])  # a chart cut in two pages reads as neither

    def _fits_on_page(self, at: int, height: int, width: int) -> bool:
        """Whether a chart `height` pixels tall, starting at row `at`, ends on the page it starts on,
        with the pages scaled to fit the sheet's width and the header row printed atop each."""
        page_width, page_height = PRINTABLE[self.landscape]
        drawn = max(sum(int(w * 7 + 5) for w in self.widths), width) * 0.75
        room = page_height / min(1.0, page_width / drawn) * 0.98
        header = self.heights.get(self.header_row, LINE_HEIGHT)
        used = 0.0
        for row in range(at):
            tall = self.heights.get(row, LINE_HEIGHT)
            used = used + tall if used + tall <= room else header + tall
        return used + height * 0.75 <= room

    def _columns_under(self, pixels: int) -> int:
        """The last column a chart this wide reaches from the first, as the office suites lay it out
        (a column of width w is 7w + 5 pixels, a hidden one none, others beyond the table 64)."""
        col, edge = 0, 0
        while True:
            width = self.widths[col] if col < len(self.widths) else None
            edge += 0 if col in self.hidden_cols else int(width * 7 + 5) if width is not None else 64
            if edge >= pixels:
                return col
            col += 1

    def _write_heights(self, series: ChartBars, value_col: int, col: int) -> None:
        """Each bar's height as a formula of the cell it stands for: the figure itself, or the fixed
        height of "<5" or "≥5"; nothing but what the table shows goes into it."""
        from xlsxwriter.utility import xl_rowcol_to_cell

        _ = translator(self.language)
        fixed = {
            mark: height
            for mark, height, hidden in zip(series.values, series.heights, series.hidden, strict=True)
            if hidden
        }
        self.sheet.write_string(
            self.header_row, col, _("report_files.chart_height").format(column=series.name)
        )
        for index, height in enumerate(series.heights):
            cell = xl_rowcol_to_cell(self.header_row + 1 + index, value_col)
            formula = "0"
            for mark in HIDDEN:
                formula = f'IF({cell}="{mark}",{fixed.get(mark, 0):.2f},{formula})'
            self.sheet.write_formula(
                self.header_row + 1 + index, col, f"=IF(ISNUMBER({cell}),{cell},{formula})", None, height
            )
        self.sheet.set_column(col, col, None, None, {"hidden": True})
        self.hidden_cols.add(col)

    def _series(self, spec: Chart, series: ChartBars, cells: list[int], count: int) -> dict[str, Any]:
        first, col, last = cells
        name = self.sheet.name
        return {
            "name": series.name,
            "categories": [name, first, spec.category, last, spec.category],
            "values": [name, first, col, last, col],
            "fill": {"color": BLUE if count == 1 or col % 2 else "#9BBB59"},
            "points": [self._point(spec, series, i) for i in range(len(series.heights))],
            "data_labels": {
                "value": True,
                "num_format": "0.0" if spec.axis == "%" else "#,##0",
                "custom": [
                    {"delete": True}
                    if series.values[i] is None
                    else {"value": series.marks[i]}
                    if series.hidden[i]
                    else None
                    for i in range(len(series.heights))
                ],
            },
        }

    @staticmethod
    def _point(spec: Chart, series: ChartBars, index: int) -> dict[str, Any] | None:
        if series.hidden[index]:
            return {
                "pattern": {"pattern": "wide_upward_diagonal", "fg_color": GREY_EDGE, "bg_color": GREY},
                "border": {"color": GREY_EDGE},
            }
        if spec.axis == "%":  # a share of a target: short of it in red, reached in green
            return {"fill": {"color": RED if series.heights[index] < 100 else GREEN}}
        return None

    def set_up_printing(self) -> None:
        """A4, landscape when the table is wider than a portrait page, one page wide however long, the
        header row on every page, the printed area as written, the header frozen on screen."""
        _ = translator(self.language)
        sheet = self.sheet
        sheet.set_paper(9)
        (sheet.set_landscape if self.landscape else sheet.set_portrait)()
        sheet.fit_to_pages(1, 0)
        sheet.set_margins(left=0.7, right=0.5, top=0.7, bottom=0.7)
        sheet.repeat_rows(self.header_row)
        sheet.print_area(0, 0, max(self.last_row, self.row - 1), self.printed_col)
        sheet.freeze_panes(self.header_row + 1, 0)
        title = plain(self.report.title).replace("&", "&&")[:200]
        sheet.set_header(f"&L&8{title}")
        sheet.set_footer("&C&8" + _("report_files.page").format(page="&P", pages="&N"))
        for col, width in enumerate(self.widths):
            sheet.set_column(col, col, width)


def to_xlsx(report: Report) -> bytes:
    """A sheet for each section, so that each prints with its own header row on every page. The first
    sheet holds the title, the headline figures, the first table and the notes; the chart goes below the
    table it is drawn from, covering no cell."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    formats = _Formats(book)
    sections = report.sections or (Section(plain(report.title), (), ()),)
    bars = chart_bars(report)
    for index, (name, section) in enumerate(zip(sheet_names(report), sections, strict=False)):
        sheet = _XlsxSheet(book, formats, report, name, section)
        sheet.write_heading(with_summary=index == 0)
        sheet.write_table()
        if index == 0:
            sheet.write_notes(report.notes)
        if bars and report.chart is not None and report.chart.section == index:
            sheet.insert_chart(report.chart, bars)
        sheet.set_up_printing()
    book.close()
    return buffer.getvalue()


# --- PNG -----------------------------------------------------------------------------------------
def chart_figure(report: Report) -> Figure:
    """The report's chart drawn: bars from zero; a hidden count hatched grey at its fixed height and
    labelled "<5" or "≥5", with what that means under the chart."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    _ = translator(report.language)
    spec = report.chart
    figure = Figure(figsize=(9, 5.5), dpi=100)
    axes = figure.add_subplot()
    figure.suptitle(chart_title(report), fontsize=12, fontweight="bold")
    bars = chart_bars(report)
    if spec is None or not bars:
        axes.axis("off")
        axes.text(0.5, 0.5, _("report.chart.nothing"), ha="center", va="center", fontsize=12)
        return figure
    horizontal = lying(bars)
    _draw_bars(axes, spec, bars, horizontal)
    _draw_axes(axes, spec, bars, horizontal, report.language)
    value_axis = axes.xaxis if horizontal else axes.yaxis
    value_axis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v, report.language)))
    if spec.axis != "%":
        value_axis.set_major_locator(MaxNLocator(integer=True))
    notes = [
        n for s in report.sections[spec.section : spec.section + 1] for n in footnotes(s, report.language)
    ]
    if any(any(b.hidden) for b in bars):
        figure.text(0.01, 0.01, "\n".join(notes), fontsize=8, style="italic", va="bottom", wrap=True)
        figure.tight_layout(rect=(0, 0.06 * len(notes), 1, 1))
    else:
        figure.tight_layout()
    return figure


def _draw_bars(axes: Any, spec: Chart, bars: tuple[ChartBars, ...], horizontal: bool) -> None:
    width = 0.8 / len(bars)
    draw = axes.barh if horizontal else axes.bar
    for index, series in enumerate(bars):
        positions = [i + (index - (len(bars) - 1) / 2) * width for i in range(len(series.heights))]
        colours = [_colour(spec, series, i, index) for i in range(len(series.heights))]
        drawn = draw(positions, series.heights, width, label=series.name, color=colours)
        for patch, hidden in zip(drawn, series.hidden, strict=True):
            if hidden:
                patch.set_hatch("///")
                patch.set_edgecolor(GREY_EDGE)
        axes.bar_label(drawn, labels=list(series.marks), fontsize=8, padding=2)


def _colour(spec: Chart, series: ChartBars, point: int, index: int) -> str:
    if series.hidden[point]:
        return GREY
    if spec.axis == "%":  # a share of a target: short of it in red, reached in green
        return RED if series.heights[point] < 100 else GREEN
    return (BLUE, "#9BBB59")[index % 2]


def _draw_axes(axes: Any, spec: Chart, bars: tuple[ChartBars, ...], horizontal: bool, language: str) -> None:
    labels = [c[:24] for c in bars[0].categories]
    count = len(labels)
    if horizontal:
        axes.set_yticks(range(count), labels, fontsize=8)
        axes.invert_yaxis()
    else:
        tilt = count > 6
        axes.set_xticks(
            range(count), labels, fontsize=8, rotation=45 if tilt else 0, ha="right" if tilt else "center"
        )
    if spec.axis == "%":
        (axes.axvline if horizontal else axes.axhline)(100, color="grey", linewidth=0.8, linestyle="--")
    top = max((h for b in bars for h in b.heights if math.isfinite(h)), default=0.0)
    if any(any(b.hidden) for b in bars):
        top = max(top, float(SMALL_COUNT))  # a "<5" bar reaches below the 5 it is less than
    (axes.set_xlim if horizontal else axes.set_ylim)(0, (top if top > 0 else 1.0) * 1.15)
    if len(bars) > 1:
        axes.legend(fontsize=8)
    axes.spines[["top", "right"]].set_visible(False)


def to_png(report: Report) -> bytes:
    """The report's chart as a PNG picture, titled; the title is also in the PNG's metadata."""
    buffer = io.BytesIO()
    chart_figure(report).savefig(buffer, format="png", metadata={PNG_TITLE_KEY: chart_title(report)})
    return buffer.getvalue()
