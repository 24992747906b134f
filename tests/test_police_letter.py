"""The official letter to the police HQ (bot/services/police_letter.py), read back with python-docx as an
office suite would: an A4 letter laid out as ДСТУ 4163:2020 lays one out, with its requisites, the table of
signals (an amendment marked), the nil reports and who did not file; the checks on a template an admin
sends; and `python -m bot police-letter`."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocumentType
from docx.table import Table
from sqlalchemy import select

from bot.app import App, build_app
from bot.cli import main
from bot.i18n import load_catalog
from bot.services.police_letter import (
    PROBLEMS,
    SHIPPED_DATA,
    TemplateRefused,
    check_template,
    default_template,
    police_letter,
)
from bot.services.police_reports import Signal
from bot.services.staff import AccessDenied, Role, StaffRole
from bot.settings import Settings
from db.models import AuditEntry, Organisation, User, UserRole

MONTH = "2026-11"
FIRST = "Оголошення про роботу за кордоном без договору, вербують випускниць"
LATER = "Повторне оголошення, тепер у месенджері"
KHARKIV_HQ = "Головне управління Національної поліції в Харківській області"
ZHYTOMYR_HQ = "Головне управління Національної поліції в Житомирській області"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    built = await build_app(settings)
    built.police.clock = lambda: datetime(2026, 12, 5, 10, tzinfo=UTC)  # November can be filed
    yield built
    await built.close()


async def _person(app: App, telegram_id: int, role: str, org: int | None, oblast: str = "kharkiv") -> int:
    async with app.sessionmaker() as session, session.begin():
        user = User(telegram_id=telegram_id, roles=[])
        session.add(user)
        await session.flush()
        session.add(UserRole(user_id=user.id, role=role, oblast=oblast, organisation_id=org))
        return user.id


async def _organisation(app: App, name: str, kind: str) -> int:
    async with app.sessionmaker() as session, session.begin():
        org = Organisation(name=name, kind=kind, oblast="kharkiv", district=None)
        session.add(org)
        await session.flush()
        return org.id


async def file_november(app: App) -> None:
    """The centre files a signal, then adds one (an amendment); the NGO detects nothing; the school is
    silent."""
    centre = await _organisation(app, "Центр соціальних служб", "social_services")
    ngo = await _organisation(app, "ГО «Світанок»", "ngo")
    await _organisation(app, "Ліцей №1", "school")
    for telegram_id, org in ((5001, centre), (5002, ngo)):
        user = await _person(app, telegram_id, "specialist", org)
        staff = [StaffRole(Role.SPECIALIST, org, "kharkiv", None)]
        if org == centre:
            await app.police.file(user, staff, MONTH, [Signal("threat", "labour", "kharkiv-izium", FIRST)])
            await app.police.amend(user, staff, MONTH, [Signal("offence", "sexual", None, LATER)])
        else:
            await app.police.file(user, staff, MONTH, [])


async def letter_of(app: App, oblast: str = "kharkiv") -> DocumentType:
    statuses = await app.police.compliance(oblast, MONTH)
    body = police_letter(await app.police.letters.current(oblast), statuses, MONTH, oblast, app.directory)
    return Document(io.BytesIO(body))


def text_of(document: DocumentType) -> str:
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([*(p.text for p in document.paragraphs), *cells])


def signals_table(document: DocumentType) -> Table | None:
    return next((t for t in document.tables if "Короткий зміст" in t.rows[0].cells[-1].text), None)


def mm(length: int | None) -> float:
    assert length is not None
    return round(length / 36000, 1)  # EMU per millimetre


# --- the letter ------------------------------------------------------------------------------------
async def test_the_letter_is_an_a4_letter_with_every_requisite(app: App) -> None:
    await file_november(app)
    letter = await letter_of(app)
    section = letter.sections[0]
    assert (mm(section.page_width), mm(section.page_height)) == (210, 297)
    margins = (section.left_margin, section.right_margin, section.top_margin, section.bottom_margin)
    assert tuple(mm(m) for m in margins) == (30, 10, 20, 20)
    # Page numbers from the second page on (the first has none).
    assert section.different_first_page_header_footer and not section.first_page_header.paragraphs[0].text
    assert 'w:instr="PAGE"' in section.header._element.xml

    paragraphs = [p.text for p in letter.paragraphs]
    assert paragraphs[1] == "[НАЙМЕНУВАННЯ УСТАНОВИ-ВІДПРАВНИКА]"  # the letterhead opens the page
    number, addressee = (c.text for c in letter.tables[0].rows[0].cells)
    assert "№ ____________ від ____________" in number  # to fill in by hand
    assert addressee == KHARKIV_HQ
    title = paragraphs.index("Про щомісячне інформування щодо виявлених ознак торгівлі людьми")
    body = next(i for i, p in enumerate(paragraphs) if "за листопад 2026 року." in p)
    assert 1 < title < body
    text = text_of(letter)
    assert "11.2026" not in text and "2026-11" not in text
    signature = [c.text for c in letter.tables[-1].rows[0].cells]
    assert signature[0] == "[Посада керівника]" and "____________" in signature[1]
    assert signature[2] == "[Власне ім’я ПРІЗВИЩЕ]"


async def test_the_table_lists_each_signal_and_marks_the_amendment(app: App) -> None:
    await file_november(app)
    letter = await letter_of(app)
    table = signals_table(letter)
    assert table is not None
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0] == [
        "№ з/п",
        "Суб’єкт, що виявив",
        "Вид сигналу",
        "Форма експлуатації",
        "Район",
        "Короткий зміст",
    ]
    assert rows[1] == [
        "1",
        "Центр соціальних служб",
        "Загроза залучення до торгівлі людьми",
        "Трудова",
        "Ізюмський район",
        FIRST,
    ]
    assert rows[2] == [
        "2",
        "Центр соціальних служб",
        "Правопорушення",
        "Сексуальна",
        "Харківська область",
        f"{LATER} (уточнення)",
    ]
    assert len(rows) == 3
    text = text_of(letter)
    assert "Надійшли сигнали (усього 2):" in text
    assert "Повідомили, що ознак торгівлі людьми не виявлено: ГО «Світанок»." in text
    assert "Не подали повідомлення за місяць: Ліцей №1." in text


async def test_zhytomyr_writes_to_its_own_hq_and_a_month_without_signals_says_so(app: App) -> None:
    letter = await letter_of(app, "zhytomyr")
    text = text_of(letter)
    assert ZHYTOMYR_HQ in text and KHARKIV_HQ not in text
    assert signals_table(letter) is None
    assert "Сигналів про можливі випадки торгівлі людьми не надходило." in text
    assert "не виявлено: —." in text and "за місяць: —." in text
    assert "{%" not in text and "{{" not in text  # every field filled in


def test_the_shipped_templates_are_what_make_templates_writes(tmp_path: Path) -> None:
    """data/letters/*.docx come from data/letters/make_templates.py: the same text, table and page."""
    import importlib.util

    script = SHIPPED_DATA / "letters" / "make_templates.py"
    spec = importlib.util.spec_from_file_location("make_templates", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for oblast in ("kharkiv", "zhytomyr"):
        made = io.BytesIO()
        module.template(oblast).save(made)
        shipped = Document(io.BytesIO(default_template(SHIPPED_DATA, oblast)))
        assert text_of(Document(made)) == text_of(shipped)
        check_template(made.getvalue())


# --- the template an admin sends ---------------------------------------------------------------------
def edited(template: bytes, edit: Callable[[str], str]) -> bytes:
    """The template with its document.xml changed as a person editing it in Word might."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = edit(data.decode()).encode()
            target.writestr(item, data)
    return out.getvalue()


def problems(content: bytes) -> set[str]:
    try:
        check_template(content)
    except TemplateRefused as refused:
        return set(refused.problems)
    return set()


def bare_docx() -> bytes:
    document = Document()
    document.add_paragraph("Лист до поліції")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


ROW = (
    "{{ s.organisation }}",
    "{{ s.kind }}",
    "{{ s.exploitation }}",
    "{{ s.district }}",
    "{{ s.summary }}{% if s.amended %} (уточнення){% endif %}",
)


def own_docx(*, in_table: bool) -> bytes:
    """A region's own template written from scratch: every field, the signals in a table or not."""
    document = Document()
    document.add_paragraph("Лист за {{ month }}. Нічого: {{ nil_reports }}. Не подали: {{ missing }}.")
    if in_table:
        table = document.add_table(rows=3, cols=len(ROW))
        table.rows[0].cells[0].text = "{%tr for s in signals %}"
        for cell, field in zip(table.rows[1].cells, ROW, strict=True):
            cell.text = field
        table.rows[2].cells[0].text = "{%tr endfor %}"
    else:
        document.add_paragraph("{%p for s in signals %}")
        document.add_paragraph(" ".join(ROW))
        document.add_paragraph("{%p endfor %}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_template_is_checked_before_it_is_used() -> None:
    default = default_template(SHIPPED_DATA, "kharkiv")
    assert problems(default) == set()
    assert problems(b"%PDF-1.4 not a word document") == {"letter.problem.not_docx"}
    assert problems(b"PK\x03\x04 broken zip") == {"letter.problem.not_docx"}
    assert problems(bare_docx()) == {
        f"letter.problem.{p}"
        for p in (
            "signals",
            "organisation",
            "kind",
            "exploitation",
            "district",
            "month",
            "nil",
            "missing",
            "amended",
        )
    }
    unmarked = edited(default, lambda xml: xml.replace("{% if s.amended %} (уточнення){% endif %}", ""))
    assert problems(unmarked) == {"letter.problem.amended"}
    no_district = edited(default, lambda xml: xml.replace("{{ s.district }}", "район"))
    assert problems(no_district) == {"letter.problem.district"}
    broken = edited(default, lambda xml: xml.replace("{%tr endfor %}", "endfor"))  # a loop left open
    assert problems(broken) == {"letter.problem.broken"}
    own = edited(default, lambda xml: xml.replace("[НАЙМЕНУВАННЯ УСТАНОВИ-ВІДПРАВНИКА]", "ЦЕНТР ЗРАЗКА"))
    assert problems(own) == set()
    assert problems(own_docx(in_table=True)) == set()
    in_text = {f"letter.problem.{p}" for p in ("signals", "organisation", "kind", "exploitation", "district")}
    assert problems(own_docx(in_table=False)) == in_text  # the signals must be a table


@pytest.mark.parametrize("language", ["uk", "en"])
def test_every_refusal_is_explained_in_both_languages(language: str) -> None:
    catalog = {str(m.id): str(m.string) for m in load_catalog(language) if m.id}
    assert all(catalog.get(f"letter.problem.{p}") for p in PROBLEMS)


async def test_an_admins_template_replaces_the_default_and_a_refused_one_changes_nothing(app: App) -> None:
    admin = await _person(app, 5100, "admin", None)
    coordinator = await _person(app, 5101, "coordinator", None)
    default = await app.police.letters.current("kharkiv")
    assert default == default_template(SHIPPED_DATA, "kharkiv")
    assert await app.police.letters.replaced_at("kharkiv") is None
    own = edited(default, lambda xml: xml.replace("[НАЙМЕНУВАННЯ УСТАНОВИ-ВІДПРАВНИКА]", "ЦЕНТР ЗРАЗКА"))
    with pytest.raises(AccessDenied):
        await app.police.letters.replace(
            coordinator, [StaffRole(Role.COORDINATOR, None, "kharkiv", None)], "kharkiv", own
        )
    admin_roles = [StaffRole(Role.ADMIN, None, None, None)]
    with pytest.raises(TemplateRefused):
        await app.police.letters.replace(admin, admin_roles, "kharkiv", bare_docx())
    assert await app.police.letters.current("kharkiv") == default

    await app.police.letters.replace(admin, admin_roles, "kharkiv", own)
    assert await app.police.letters.current("kharkiv") == own
    assert await app.police.letters.current("zhytomyr") == default_template(SHIPPED_DATA, "zhytomyr")
    assert "ЦЕНТР ЗРАЗКА" in text_of(await letter_of(app))
    async with app.sessionmaker() as session:
        audited = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "letter_template.replace")
        )
    assert audited is not None and audited.actor_id == admin


# --- the command line ---------------------------------------------------------------------------------
async def _cli(argv: list[str]) -> int:
    """main() runs its own event loop (asyncio.run), so not inside the test's."""
    result: int = await asyncio.to_thread(main, argv)
    return result


async def test_the_command_line_writes_the_letter_again_and_refuses_a_wrong_oblast_or_month(
    app: App,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await file_november(app)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KEY_FILE", str(settings.key_file))
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    out = tmp_path / "letter.docx"
    assert await _cli(["police-letter", "--oblast", "kharkiv", "--month", MONTH, "--out", str(out)]) == 0
    letter = Document(io.BytesIO(out.read_bytes()))
    table = signals_table(letter)
    assert table is not None and table.rows[2].cells[-1].text == f"{LATER} (уточнення)"
    assert "за листопад 2026 року." in text_of(letter)
    capsys.readouterr()

    wrong_input = (("crimea", MONTH), ("kharkiv", "2026-13"), ("kharkiv", "11.2026"), ("kharkiv", "2999-01"))
    for oblast, month in wrong_input:
        wrong = tmp_path / "wrong.docx"
        assert await _cli(["police-letter", "--oblast", oblast, "--month", month, "--out", str(wrong)]) == 2
        said = capsys.readouterr().err.strip().splitlines()
        assert len(said) == 1 and (oblast in said[0] if oblast == "crimea" else month in said[0])
        assert not wrong.exists()
