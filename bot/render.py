"""Texts the citizen screens show, built from domain objects. HTML parse mode; data is escaped."""

from __future__ import annotations

from datetime import date
from html import escape

from aiogram.utils.i18n import gettext as _

from bot.services.directory import Entry
from bot.services.selfcheck import Verdict

ENTRIES_PER_PAGE = 4
TELEGRAM_TEXT_LIMIT = 4096


def _date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def entry_card(entry: Entry, language: str, *, with_source: bool = True) -> str:
    lines = [f"<b>{escape(entry.name.get(language))}</b>"]
    if entry.phones:
        phones = ", ".join(f"<b>{escape(p)}</b>" for p in entry.phones)
        note = f" ({escape(entry.phone_notes.get(language))})" if entry.phone_notes else ""
        lines.append(f"☎️ {phones}{note}")
    else:
        lines.append(_("entry.no_phone"))
    address = entry.shown_address
    if address:
        lines.append(f"📍 {escape(address)}")
    elif entry.address_private:
        lines.append(_("entry.address_private"))
    lines.append(escape(entry.description.get(language)))
    if entry.eligibility:
        lines.append(f"<i>{escape(entry.eligibility.get(language))}</i>")
    if with_source:
        source = _("entry.source").format(source=escape(entry.source), date=_date(entry.checked_on))
        lines.append(f"<i>{source}</i>")
    return "\n".join(lines)


def hotlines_text(hotlines: list[Entry], language: str) -> str:
    cards = [entry_card(e, language, with_source=False) for e in hotlines]
    sources = sorted({f"{e.source} ({_date(e.checked_on)})" for e in hotlines})
    footer = "<i>" + _("hotlines.sources").format(sources=escape("; ".join(sources))) + "</i>"
    return fit("\n\n".join([_("hotlines.title"), *cards, footer]))


def results_page(
    entries: list[Entry], page: int, language: str, place: str, need_name: str
) -> tuple[str, int, int]:
    """One page of directory results: (text, page actually shown, number of pages)."""
    pages = max(1, -(-len(entries) // ENTRIES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    header = _("where.results_title").format(need=escape(need_name), place=escape(place))
    if not entries:
        return fit(header + "\n\n" + _("where.nothing")), 0, 1
    shown = entries[page * ENTRIES_PER_PAGE : (page + 1) * ENTRIES_PER_PAGE]
    body = "\n\n".join(entry_card(e, language) for e in shown)
    counter = _("where.page").format(page=page + 1, pages=pages) if pages > 1 else ""
    return fit("\n\n".join(p for p in (header, body, counter) if p)), page, pages


def check_result_text(verdict: Verdict) -> str:
    parts = [_(f"selfcheck.result.{verdict.risk.value}")]
    if verdict.flagged:
        parts.append(_("selfcheck.tips_header"))
        parts.append("\n".join(f"• {_(f'selfcheck.tip.{q}')}" for q in verdict.flagged))
    return fit("\n\n".join(parts))


def fit(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """Never hand Telegram more than it accepts; cut at a paragraph so no HTML tag is split."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n\n", 0, limit - 2)
    return text[: cut if cut > 0 else limit - 2].rstrip() + "\n…"
