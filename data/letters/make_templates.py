"""Writes the default letter templates, one per oblast: `python data/letters/make_templates.py`.

Each is a DOCX laid out as ДСТУ 4163:2020 lays out a letter (A4; margins 30/10/20/20 mm; letterhead,
outgoing number and date, addressee, title, text, signature) with docxtpl placeholders where the month's
figures go (README.md beside this file lists them). The letterhead, the basis of the letter and the
signatory are left as [bracketed] placeholders: each region writes its own, in the bot or in this file."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

HERE = Path(__file__).resolve().parent
FONT = "Times New Roman"

# What differs between oblasts: the addressee and where the reporting organisations work.
OBLASTS = {
    "kharkiv": {
        "addressee": "Головне управління Національної поліції в Харківській області",
        "where": "у Харківській області",
    },
    "zhytomyr": {
        "addressee": "Головне управління Національної поліції в Житомирській області",
        "where": "у Житомирській області",
    },
}

COLUMNS = (  # header, width in cm (the text area is 17 cm wide)
    ("№ з/п", 1.0),
    ("Суб’єкт, що виявив", 2.9),
    ("Вид сигналу", 3.1),
    ("Форма експлуатації", 2.9),
    ("Район", 2.8),
    ("Короткий зміст", 4.3),
)
ROW = (
    "{{ s.number }}",
    "{{ s.organisation }}",
    "{{ s.kind }}",
    "{{ s.exploitation }}",
    "{{ s.district }}",
    "{{ s.summary }}{% if s.amended %} (уточнення){% endif %}",
)


def paragraph(
    doc: Document, text: str = "", *, bold: bool = False, size: float = 14, **layout: object
) -> Paragraph:
    p = doc.add_paragraph()
    if text:
        run = p.add_run(text)
        run.bold = bold
        run.font.size = Pt(size)
    fmt = p.paragraph_format
    fmt.space_after = Pt(0)
    fmt.alignment = layout.get("align", WD_ALIGN_PARAGRAPH.LEFT)
    if "indent" in layout:
        fmt.left_indent = layout["indent"]
    if layout.get("first_line"):
        fmt.first_line_indent = Cm(1.25)
    return p


def page_setup(doc: Document) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(30), Mm(10)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(14)
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), FONT)
    style.paragraph_format.space_after = Pt(0)


def widths(table: Table, columns_cm: tuple[float, ...]) -> None:
    """Fixed column widths, in the grid as well as the cells: office suites read one or the other."""
    table.autofit = False
    for col, width in zip(table._tbl.tblGrid.gridCol_lst, columns_cm, strict=True):
        col.w = Cm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, columns_cm, strict=True):
            cell.width = Cm(width)


def page_numbers(doc: Document) -> None:
    """From the second page on, its number centred at the top; none on the first."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    header._p.append(field)


def borderless(table: Table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def cell_text(
    cell, text: str, *, size: float = 12, bold: bool = False, align=WD_ALIGN_PARAGRAPH.LEFT
) -> None:
    p = cell.paragraphs[0]
    run = p.add_run(text)
    run.font.size, run.bold = Pt(size), bold
    p.alignment = align


def letterhead(doc: Document) -> None:
    """The sender's blank: its name and details, centred, above a rule."""
    center = WD_ALIGN_PARAGRAPH.CENTER
    paragraph(doc, "[НАЙМЕНУВАННЯ ОРГАНУ ВИЩОГО РІВНЯ]", size=12, align=center)
    paragraph(doc, "[НАЙМЕНУВАННЯ УСТАНОВИ-ВІДПРАВНИКА]", bold=True, align=center)
    details = paragraph(
        doc,
        "[поштова адреса], тел. [номер], e-mail: [адреса], код згідно з ЄДРПОУ [код]",
        size=10,
        align=center,
    )
    rule = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "12"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    rule.append(bottom)
    details._p.get_or_add_pPr().append(rule)
    paragraph(doc)


def number_and_addressee(doc: Document, addressee: str) -> None:
    """The outgoing number and date on the left, filled in by hand; the addressee on the right."""
    table = doc.add_table(rows=1, cols=2)
    borderless(table)
    widths(table, (8, 9))
    left, right = table.rows[0].cells
    cell_text(left, "№ ____________ від ____________", size=14)
    left.add_paragraph().add_run("На № __________ від __________").font.size = Pt(14)
    cell_text(right, addressee, size=14)
    paragraph(doc)


def signals_table(doc: Document) -> None:
    table = doc.add_table(rows=4, cols=len(COLUMNS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths(table, tuple(width for _header, width in COLUMNS))
    for i, (header, _width) in enumerate(COLUMNS):
        cell_text(table.rows[0].cells[i], header, size=10, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        cell_text(table.rows[2].cells[i], ROW[i], size=10)
    # docxtpl repeats the row between these two for each signal; their own rows disappear.
    cell_text(table.rows[1].cells[0], "{%tr for s in signals %}", size=8)
    cell_text(table.rows[3].cells[0], "{%tr endfor %}", size=8)
    header = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")  # the header again on every page
    header.append(repeat)


def body(doc: Document, where: str) -> None:
    justify = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph(doc, "Про щомісячне інформування щодо виявлених ознак торгівлі людьми", bold=True)
    paragraph(doc)
    paragraph(
        doc,
        "Відповідно до [підстава: пункт програми або рішення, яким запроваджено щомісячне інформування] "
        "надсилаємо узагальнену інформацію суб’єктів, які здійснюють заходи у сфері протидії торгівлі "
        f"людьми {where}, про виявлені ознаки торгівлі людьми за {{{{ month }}}}.",
        align=justify,
        first_line=True,
    )
    paragraph(doc, "{%p if signals %}", size=8)
    paragraph(doc, "Надійшли сигнали (усього {{ signal_count }}):", align=justify, first_line=True)
    signals_table(doc)
    paragraph(doc, "{%p else %}", size=8)
    paragraph(
        doc, "Сигналів про можливі випадки торгівлі людьми не надходило.", align=justify, first_line=True
    )
    paragraph(doc, "{%p endif %}", size=8)
    nil = paragraph(
        doc,
        "Повідомили, що ознак торгівлі людьми не виявлено: {{ nil_reports }}.",
        align=justify,
        first_line=True,
    )
    nil.paragraph_format.space_before = Pt(6)
    paragraph(doc, "Не подали повідомлення за місяць: {{ missing }}.", align=justify, first_line=True)
    paragraph(
        doc,
        "Позначкою «(уточнення)» позначено сигнали, які суб’єкт додав після першого подання повідомлення.",
        size=12,
        align=justify,
        first_line=True,
    )


def signature(doc: Document) -> None:
    paragraph(doc)
    paragraph(doc)
    table = doc.add_table(rows=1, cols=3)
    borderless(table)
    widths(table, (6.5, 4, 6.5))
    position, sign, name = table.rows[0].cells
    cell_text(position, "[Посада керівника]", size=14)
    cell_text(sign, "____________", size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    sign.add_paragraph("(підпис)").alignment = WD_ALIGN_PARAGRAPH.CENTER
    sign.paragraphs[1].runs[0].font.size = Pt(9)
    cell_text(name, "[Власне ім’я ПРІЗВИЩЕ]", size=14, align=WD_ALIGN_PARAGRAPH.RIGHT)
    paragraph(doc)
    paragraph(doc)
    paragraph(doc, "[Власне ім’я ПРІЗВИЩЕ виконавця] [номер телефону]", size=10)


def template(oblast: str) -> Document:
    doc = Document()
    page_setup(doc)
    page_numbers(doc)
    letterhead(doc)
    number_and_addressee(doc, OBLASTS[oblast]["addressee"])
    body(doc, OBLASTS[oblast]["where"])
    signature(doc)
    return doc


def main() -> None:
    for oblast in OBLASTS:
        template(oblast).save(HERE / f"{oblast}.docx")
        print(HERE / f"{oblast}.docx")


if __name__ == "__main__":
    main()
