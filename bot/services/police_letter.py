"""The official letter to the regional police HQ: the month's digest as a DOCX built by docxtpl from the
oblast's template. The template carries what is the region's own (letterhead, addressee, the basis of
the letter, signatory); the bot fills in the month, the table of signals, the nil reports and who did
not file. A shipped default per oblast (data/letters/) is used until an admin sends the bot a replacement,
which is checked here before it is kept (in the database: every replica reads the same one).

The letter is in Ukrainian whatever the reader's interface language: it is an official document to a
Ukrainian authority."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docx import Document
from docxtpl import DocxTemplate
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.directory import Directory
from bot.services.staff import AccessDenied, Role, StaffRole
from bot.services.wording import month_name, month_of_year
from db.models import AuditEntry, LetterTemplate

SHIPPED_DATA = Path(__file__).resolve().parents[2] / "data"  # Settings.data_dir's default
if TYPE_CHECKING:
    from bot.services.police_reports import OrgStatus

LETTER_LANGUAGE = "uk"
TEMPLATE_LIMIT = 2 * 1024 * 1024  # a letter template is a few dozen kilobytes; more is not a template
NONE = "—"


@dataclass(frozen=True)
class LetterSignal:
    """One row of the letter's table."""

    number: int
    organisation: str
    kind: str
    exploitation: str
    district: str
    summary: str
    amended: bool  # added after the organisation's first filing of the month


@dataclass(frozen=True)
class Letter:
    month: str  # "2026-11"
    oblast: str  # the oblast's name
    signals: tuple[LetterSignal, ...]
    nil: tuple[str, ...]  # organisations that reported "nothing detected"
    missing: tuple[str, ...]  # organisations that did not file

    def context(self) -> dict[str, Any]:
        """What a template may use (data/letters/README.md lists it)."""
        return {
            "month": month_of_year(self.month, LETTER_LANGUAGE),
            "month_name": month_name(self.month, LETTER_LANGUAGE),
            "oblast": self.oblast,
            "signals": [asdict(s) for s in self.signals],
            "signal_count": len(self.signals),
            "nil_reports": ", ".join(self.nil) or NONE,
            "nil_list": list(self.nil),
            "missing": ", ".join(self.missing) or NONE,
            "missing_list": list(self.missing),
        }


class TemplateRefused(Exception):
    """A template that cannot be used: `problems` are i18n keys (letter.problem.*)."""

    def __init__(self, problems: Sequence[str], detail: str = "") -> None:
        super().__init__(", ".join(problems))
        self.problems = tuple(problems)
        self.detail = detail


@cache
def _gettext() -> Callable[[str], str]:
    from bot.i18n import compile_translations

    return compile_translations()[LETTER_LANGUAGE].gettext


def letter_of(statuses: Sequence[OrgStatus], month: str, oblast_id: str, directory: Directory) -> Letter:
    """The letter's content from the month's compliance (PoliceReportService.compliance)."""
    gettext = _gettext()
    oblast = directory.oblast(oblast_id)
    oblast_name = oblast.name.get(LETTER_LANGUAGE) if oblast else oblast_id
    rows: list[LetterSignal] = []
    for status in (s for s in statuses if s.state == "signals"):
        for signal in status.signals:
            district = directory.district(signal.district) if signal.district else None
            rows.append(
                LetterSignal(
                    number=len(rows) + 1,
                    organisation=status.name,
                    kind=gettext(f"signal.{signal.kind}"),
                    exploitation=gettext(f"exploitation.{signal.exploitation}"),
                    district=district.name.get(LETTER_LANGUAGE) if district else oblast_name,
                    summary=signal.description,
                    amended=signal.added_in > 1,
                )
            )
    return Letter(
        month=month,
        oblast=oblast_name,
        signals=tuple(rows),
        nil=tuple(s.name for s in statuses if s.state == "nil"),
        missing=tuple(s.name for s in statuses if s.state == "missing"),
    )


def police_letter(
    template: bytes, statuses: Sequence[OrgStatus], month: str, oblast_id: str, directory: Directory
) -> bytes:
    """The month's letter as a DOCX, from the oblast's template."""
    return render_letter(template, letter_of(statuses, month, oblast_id, directory))


def render_letter(template: bytes, letter: Letter) -> bytes:
    document = DocxTemplate(io.BytesIO(template))
    document.render(letter.context(), autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def default_template(data_dir: Path, oblast: str) -> bytes:
    return (data_dir / "letters" / f"{oblast}.docx").read_bytes()


# --- checking a template an admin sends -----------------------------------------------------------
# Marker values no template contains by itself: each must come out of the sample letter where it belongs.
SAMPLE = Letter(
    month="2026-11",
    oblast="Зразок-область",
    signals=(
        LetterSignal(
            1,
            "Зразок-організація",
            "Зразок-вид",
            "Зразок-експлуатація",
            "Зразок-район",
            "Зразок-зміст",
            amended=True,
        ),
    ),
    nil=("Зразок-нічого",),
    missing=("Зразок-не-подано",),
)
# Where each marker must appear: in the table of signals, or anywhere in the text.
IN_TABLE = {
    "signals": "Зразок-зміст",
    "organisation": "Зразок-організація",
    "kind": "Зразок-вид",
    "exploitation": "Зразок-експлуатація",
    "district": "Зразок-район",
}
IN_TEXT = {
    "month": month_of_year(SAMPLE.month, LETTER_LANGUAGE),
    "nil": "Зразок-нічого",
    "missing": "Зразок-не-подано",
}


# Every way a template can be refused (letter.problem.<name> in bot/locales/*/LC_MESSAGES/letter.po).
PROBLEMS = ("not_docx", "broken", *IN_TABLE, *IN_TEXT, "amended", "not_received")


def _texts(docx: bytes) -> tuple[str, str]:
    """(all the paragraphs' text, all the tables' text) of a document."""
    document = Document(io.BytesIO(docx))
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    return paragraphs + "\n" + cells, cells


def _opens(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if "word/document.xml" not in archive.namelist():
                return False
        Document(io.BytesIO(content))
    except Exception:  # any failure to read is "not a DOCX": the admin is told so, nothing more
        return False
    return True


def check_template(content: bytes) -> None:
    """Raises TemplateRefused unless `content` is a DOCX that renders the sample letter (and a month
    without signals) and shows every part of it where it belongs."""
    if len(content) > TEMPLATE_LIMIT or not _opens(content):
        raise TemplateRefused(["letter.problem.not_docx"])
    try:
        rendered = render_letter(content, SAMPLE)
        plain = render_letter(content, replace(SAMPLE, signals=(replace(SAMPLE.signals[0], amended=False),)))
        render_letter(content, replace(SAMPLE, signals=()))
    except Exception as exc:  # a Jinja or XML error in the template: its message helps the admin fix it
        raise TemplateRefused(["letter.problem.broken"], detail=str(exc)[:200]) from exc
    text, table = _texts(rendered)
    problems = [f"letter.problem.{part}" for part, marker in IN_TABLE.items() if marker not in table]
    problems += [f"letter.problem.{part}" for part, marker in IN_TEXT.items() if marker not in text]
    if _texts(plain)[0] == text:  # an amended signal must read differently
        problems.append("letter.problem.amended")
    if problems:
        raise TemplateRefused(problems)


# --- the templates in use ---------------------------------------------------------------------------
class LetterTemplates:
    """Each oblast's template: the newest an admin sent (every one is kept), else the shipped default."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        data_dir: Path,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sm = sessionmaker
        self._data_dir = data_dir
        self._clock = clock

    async def current(self, oblast: str) -> bytes:
        async with self._sm() as session:
            stored = await self._newest(session, oblast)
        return stored.content if stored is not None else default_template(self._data_dir, oblast)

    async def replaced_at(self, oblast: str) -> datetime | None:
        """When an admin last replaced the oblast's template; None: the default is in use."""
        async with self._sm() as session:
            stored = await self._newest(session, oblast)
        return stored.uploaded_at if stored is not None else None

    async def replace(self, actor_id: int, staff: Sequence[StaffRole], oblast: str, content: bytes) -> None:
        """Keep `content` as the oblast's template (admins only); TemplateRefused leaves the old one."""
        if not any(r.role == Role.ADMIN for r in staff):
            raise AccessDenied("letter_template.replace")
        check_template(content)
        async with self._sm() as session, session.begin():
            session.add(
                LetterTemplate(
                    oblast=oblast, content=content, uploaded_by=actor_id, uploaded_at=self._clock()
                )
            )
            session.add(
                AuditEntry(
                    at=self._clock(),
                    actor_id=actor_id,
                    action="letter_template.replace",
                    detail=f"{oblast} {len(content)} bytes",
                )
            )

    @staticmethod
    async def _newest(session: AsyncSession, oblast: str) -> LetterTemplate | None:
        stored: LetterTemplate | None = await session.scalar(
            select(LetterTemplate)
            .where(LetterTemplate.oblast == oblast)
            .order_by(LetterTemplate.uploaded_at.desc(), LetterTemplate.id.desc())
            .limit(1)
        )
        return stored
