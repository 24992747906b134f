"""A report (bot/services/reports.py) as a short message, CSV, XLSX with a native chart, or a PNG chart.

matplotlib is imported only when a chart is drawn, so that the bot starts as fast as before.
"""

from __future__ import annotations

import csv
import io
import math
from html import escape
from typing import Any

from bot.render import fit
from bot.services.reports import SECONDARY, SUPPRESSED, Cell, Report, Section, translator

TEXT_ROWS = 12  # rows of the first table shown in the message; the files have them all
PNG_TITLE_KEY = "Title"


def _cell_text(value: Cell) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def to_text(report: Report, lang: str | None = None) -> str:
    """The report as one Telegram message (HTML, under 4096 characters)."""
    _ = translator(lang or report.language)
    lines = [f"<b>{escape(report.title)}</b>", f"<i>{escape(report.subtitle)}</i>", ""]
    lines += [escape(line) for line in report.summary]
    first = report.sections[0] if report.sections else None
    if first is not None and first.rows:
        lines += ["", f"<b>{escape(first.title)}</b>"]
        for row in first.rows[:TEXT_ROWS]:
            cells = (_cell_text(v) for v in row if v is not None and v != "")
            lines.append(escape(" · ".join(c if len(c) <= 90 else c[:89] + "…" for c in cells)))
        if len(first.rows) > TEXT_ROWS:
            lines.append(escape(_("report.more_in_file").format(count=len(first.rows) - TEXT_ROWS)))
    if report.notes:
        lines += [""] + [f"<i>{escape(note)}</i>" for note in report.notes]
    return fit("\n".join(lines))


def to_summary(report: Report, limit: int = 1024) -> str:
    """Title, place, the headline figures and the notes: short enough for a document's caption."""
    lines = [f"<b>{escape(report.title)}</b>", f"<i>{escape(report.subtitle)}</i>", ""]
    lines += [escape(line) for line in report.summary]
    lines += [f"<i>{escape(note)}</i>" for note in report.notes[:1]]
    return fit("\n".join(lines), limit)


def to_csv(report: Report) -> bytes:
    """All sections one after another, each under its title; UTF-8 with a BOM so that Excel reads
    the Cyrillic right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([report.title])
    for line in report.subtitle.splitlines():
        writer.writerow([line])
    for section in report.sections:
        writer.writerow([])
        writer.writerow([section.title])
        writer.writerow(section.columns)
        for row in section.rows:
            writer.writerow(["" if v is None else v for v in row])
    if report.notes:
        writer.writerow([])
        for note in report.notes:
            writer.writerow([note])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


class _XlsxSheet:
    """The one worksheet of to_xlsx, written top to bottom: the next free row, each column's width so
    far, and the first data row of every section (the chart's cells are found from it)."""

    def __init__(self, book: Any, report: Report) -> None:
        self.book = book
        self.sheet = book.add_worksheet(report.kind[:31])
        self.bold = book.add_format({"bold": True})
        self.title_format = book.add_format({"bold": True, "font_size": 14})
        self.header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
        self.cell = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
        self.number = book.add_format({"border": 1, "valign": "top"})
        self.italic = book.add_format({"italic": True})
        self.row = 1
        self.widths: dict[int, int] = {}
        self.anchors: list[int] = []

    def write_heading(self, report: Report) -> None:
        self.sheet.write(0, 0, report.title, self.title_format)
        for line in report.subtitle.splitlines():
            self.sheet.write(self.row, 0, line, self.italic)
            self.row += 1
        for line in report.summary:
            self.sheet.write(self.row, 0, line)
            self.row += 1

    def write_section(self, section: Section) -> None:
        self.row += 1
        self.sheet.write(self.row, 0, section.title, self.bold)
        self.row += 1
        for col, name in enumerate(section.columns):
            self.sheet.write(self.row, col, name, self.header)
            self._widen(col, min(len(name), 40))
        self.row += 1
        self.anchors.append(self.row)
        for values in section.rows:
            for col, value in enumerate(values):
                self._write_cell(col, value)
            self.row += 1

    def _write_cell(self, col: int, value: Cell) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.sheet.write_number(self.row, col, value, self.number)
        elif value is None:
            self.sheet.write_blank(self.row, col, None, self.number)
        else:
            self.sheet.write_string(self.row, col, str(value), self.cell)
            self._widen(col, min(len(str(value)), 60))

    def _widen(self, col: int, width: int) -> None:
        self.widths[col] = max(self.widths.get(col, 8), width)

    def write_notes(self, notes: tuple[str, ...]) -> None:
        if notes:
            self.row += 1
            for note in notes:
                self.sheet.write(self.row, 0, note, self.italic)
                self.row += 1

    def fit_columns(self) -> None:
        for col, width in self.widths.items():
            self.sheet.set_column(col, col, width + 2)

    def insert_chart(self, report: Report) -> None:
        """A native chart over the cells of its section, to the right of that section's table."""
        spec = report.chart
        if spec is None or not spec.rows:
            return
        section = report.sections[spec.section]
        first = self.anchors[spec.section]
        last = first + spec.rows - 1
        chart = self.book.add_chart({"type": "bar" if spec.rows > 12 else "column"})
        for value_col in spec.values:
            chart.add_series(
                {
                    "name": section.columns[value_col],
                    "categories": [self.sheet.name, first, spec.category, last, spec.category],
                    "values": [self.sheet.name, first, value_col, last, value_col],
                    "data_labels": {"value": True},
                }
            )
        chart.set_title({"name": spec.title})
        chart.set_legend({"position": "bottom" if len(spec.values) > 1 else "none"})
        chart.set_size({"width": 720, "height": max(360, 22 * spec.rows)})
        self.sheet.insert_chart(first - 2, len(section.columns) + 1, chart)


def to_xlsx(report: Report) -> bytes:
    """One worksheet: title, the sections one under another, notes; the chart (a native Excel
    chart over the cells of its section) to the right of the first table."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = _XlsxSheet(book, report)
    sheet.write_heading(report)
    for section in report.sections:
        sheet.write_section(section)
    sheet.write_notes(report.notes)
    sheet.fit_columns()
    sheet.insert_chart(report)
    book.close()
    return buffer.getvalue()


def chart_title(report: Report) -> str:
    return report.chart.title if report.chart is not None else report.title


def to_png(report: Report) -> bytes:
    """The report's chart as a PNG picture, titled; the title is also in the PNG's metadata."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    _ = translator(report.language)
    spec = report.chart
    figure = Figure(figsize=(9, 5.5), dpi=100)
    axes = figure.add_subplot()
    title = chart_title(report)
    figure.suptitle(title, fontsize=12, fontweight="bold")
    if spec is None or not spec.rows:
        axes.axis("off")
        axes.text(0.5, 0.5, _("report.chart.nothing"), ha="center", va="center", fontsize=12)
    else:
        section = report.sections[spec.section]
        rows = section.rows[: spec.rows]
        labels = [_cell_text(r[spec.category])[:24] for r in rows]
        horizontal = len(rows) > 12
        width = 0.8 / len(spec.values)
        for index, value_col in enumerate(spec.values):
            raw = [r[value_col] for r in rows]
            heights = [float(v) if isinstance(v, int | float) else 0.0 for v in raw]
            positions = [i + (index - (len(spec.values) - 1) / 2) * width for i in range(len(rows))]
            draw = axes.barh if horizontal else axes.bar
            # A share of a target: short of it in red, reached in green.
            colours = [("#c0504d" if h < 100 else "#4f9a55") for h in heights] if spec.axis == "%" else None
            bars = draw(positions, heights, width, label=section.columns[value_col], color=colours)
            marks = [v if v in (SUPPRESSED, SECONDARY) else ("" if v is None else _cell_text(v)) for v in raw]
            axes.bar_label(bars, labels=marks, fontsize=8, padding=2)
        if horizontal:
            axes.set_yticks(range(len(rows)), labels, fontsize=8)
            axes.invert_yaxis()
            if spec.axis == "%":
                axes.axvline(100, color="grey", linewidth=0.8, linestyle="--")
        else:
            axes.set_xticks(
                range(len(rows)),
                labels,
                fontsize=8,
                rotation=45 if len(rows) > 6 else 0,
                ha="right" if len(rows) > 6 else "center",
            )
            if spec.axis == "%":
                axes.axhline(100, color="grey", linewidth=0.8, linestyle="--")
        numbers = [v for r in rows for c in spec.values if isinstance(v := r[c], int | float)]
        top = float(max(numbers, default=0.0))
        if not math.isfinite(top) or top <= 0:
            top = 1.0
        (axes.set_xlim if horizontal else axes.set_ylim)(0, top * 1.15)
        if spec.axis != "%":
            (axes.xaxis if horizontal else axes.yaxis).set_major_locator(MaxNLocator(integer=True))
        if len(spec.values) > 1:
            axes.legend(fontsize=8)
        axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={PNG_TITLE_KEY: title})
    return buffer.getvalue()
