"""Texts the citizen screens show, built from domain objects. HTML parse mode; data is escaped."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from html import escape

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.services.cases import AGE_GROUPS, SEXES, CaseCard, CaseSummary, ReferralView, Status
from bot.services.directory import Directory, Entry
from bot.services.places import is_outside
from bot.services.police_reports import OrgStatus
from bot.services.reconciliation import FIELDS, QuarterView, other_side
from bot.services.selfcheck import Verdict
from bot.services.wording import month_name, quarter_name
from bot.telegram_text import visible_length

ENTRIES_PER_PAGE = 4
TELEGRAM_TEXT_LIMIT = 4096


def _date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def entry_card(entry: Entry, language: str, *, with_checked_date: bool = True) -> str:
    lines = [f"<b>{escape(entry.name.get(language))}</b>"]
    if entry.phones:
        phones = ", ".join(f"<b>{escape(p)}</b>" for p in entry.phones)
        note = f" ({escape(entry.phone_notes.get(language))})" if entry.phone_notes else ""
        lines.append(f"☎️ {phones}{note}")
    elif not entry.abroad:  # abroad, the description says where the contacts are
        lines.append(_("entry.no_phone"))
    address = entry.shown_address
    if address:
        lines.append(f"📍 {escape(address)}")
    elif entry.address_private:
        lines.append(_("entry.address_private"))
    lines.append(escape(entry.description.get(language)))
    if entry.eligibility:
        lines.append(f"<i>{escape(entry.eligibility.get(language))}</i>")
    if with_checked_date:
        lines.append("<i>" + _checked(entry) + "</i>")
    return "\n".join(lines)


def _checked(entry: Entry) -> str:
    """The provenance (`source`) is for coordinators and auditors; people see when it was checked and,
    when the source is a dated public page, how old that page is (issue 17 item 4)."""
    checked = _date(entry.checked_on)
    page = entry.page_date
    if page is None:
        return _("entry.source").format(date=checked)
    return _("entry.source_dated").format(date=checked, page_date=_date(page))


def entry_place(entry: Entry, directory: Directory, lang: str) -> str:
    """Where an entry serves, for the coordinators who check it (community, district, oblast)."""
    if entry.scope == "national":
        return _("directory.national")
    parts = []
    oblast = directory.oblast(entry.oblast or "")
    district = directory.district(entry.district) if entry.district else None
    if entry.community and entry.district:
        community = directory.community(entry.district, entry.community)
        if community is not None:
            parts.append(community.name.get(lang))
    if district is not None:
        parts.append(district.name.get(lang))
    if oblast is not None:
        parts.append(oblast.name.get(lang))
    return ", ".join(parts)


def entry_check_card(entry: Entry, directory: Directory, lang: str) -> str:
    """The entry as citizens see it, with its place and source (which citizens do not see)."""
    return "\n".join(
        [
            entry_card(entry, lang),
            "📌 " + escape(entry_place(entry, directory, lang)),
            "<i>" + _("directory.source").format(source=escape(entry.source)) + "</i>",
        ]
    )


def hotlines_text(hotlines: list[Entry], language: str) -> str:
    cards = [entry_card(e, language, with_checked_date=False) for e in hotlines]
    oldest = min((e.checked_on for e in hotlines), default=None)
    footer = "<i>" + _("hotlines.sources").format(date=_date(oldest)) + "</i>" if oldest else ""
    return fit("\n\n".join([_("hotlines.title"), *cards, footer]))


def _pages(source: str) -> list[str]:
    return re.findall(r"https?://\S+", source)


def outside_help_text(place: str, abroad: list[Entry], hotlines: list[Entry], language: str) -> str:
    """ "Where to get help" for a person in another oblast, abroad or who would not say: the national
    lines (and, abroad, what helps there first), each with the page it was checked on, when there is one."""
    cards = []
    for entry in [*abroad, *hotlines]:
        pages = _pages(entry.source)
        checked = _date(entry.checked_on)
        provenance = (
            _("entry.source_page").format(source=escape(", ".join(pages)), date=checked)
            if pages
            else _("entry.source").format(date=checked)
        )
        cards.append(entry_card(entry, language, with_checked_date=False) + "\n<i>" + provenance + "</i>")
    return fit("\n\n".join([_(f"where.outside.{place}"), *cards]))


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
    """Never hand Telegram more than it accepts, counted as Telegram counts (bot/telegram_text.py):
    escaped text is not cut for its `&amp;`s. Cut at a paragraph, else at a line, so that no HTML tag
    or entity is split (the source is at least as long as what it shows, so cutting it at the limit is
    enough)."""
    if visible_length(text) <= limit:
        return text
    cut = text.rfind("\n\n", 0, limit - 2)
    if cut <= 0:
        cut = text.rfind("\n", 0, limit - 2)
    return text[: cut if cut > 0 else limit - 2].rstrip() + "\n…"


# --- cases -------------------------------------------------------------------------------------
def code(raw: str) -> str:
    return f"{raw[:4]}-{raw[4:]}"


def _place(directory: Directory, oblast: str, district: str | None, lang: str) -> str:
    if is_outside(oblast):
        return _(f"place.{oblast}")
    place = directory.oblast(oblast)
    name = place.name.get(lang) if place else oblast
    found = directory.district(district) if district else None
    return f"{found.name.get(lang)}, {name}" if found else name


def case_summary(case: CaseSummary, directory: Directory, lang: str) -> str:
    """The minimum data: code, situation, needs, place, urgency, how to reach the person."""
    needs = ", ".join(_(f"need.{n}") for n in case.needs) or "—"
    lines = [
        f"<b>{code(case.code)}</b> · {_(f'status.{case.status.value}')}" + (" · ⏰" if case.overdue else ""),
        _("case.situation") + " " + _(f"situation.{case.situation}"),
        _("case.needs") + " " + needs,
        _("case.place") + " " + escape(_place(directory, case.oblast, case.district, lang)),
        _("case.contact") + " " + _(f"contact.{case.contact}"),
    ]
    if is_outside(case.oblast):  # sent to every oblast: whoever accepts it, owns it
        lines.insert(4, _("case.outside_note"))
    if case.urgent:
        lines.insert(1, _("case.urgent"))
    return "\n".join(lines)


def filed_ago(filed: datetime, now: datetime | None = None) -> str:
    """How long ago a case was filed: "2 дн. 3 год", "3 год 5 хв", "7 хв" (no plural forms needed)."""
    minutes = max(0, int(((now or datetime.now(UTC)) - filed).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        ago = _("access.ago.days").format(days=days, hours=hours)
    elif hours:
        ago = _("access.ago.hours").format(hours=hours, minutes=minutes)
    else:
        ago = _("access.ago.minutes").format(minutes=minutes)
    return _("access.filed_ago").format(ago=ago)


def case_card(card: CaseCard, directory: Directory, lang: str, zone: tzinfo) -> str:
    """What this coordinator may read: the content for the case's owner (and once, by break-glass),
    the minimum data for anyone else. What the person typed is escaped; times are the programme's
    (`zone`, as settings.tz), not the UTC they are stored in."""
    head = case_summary(card.summary, directory, lang) + "\n" + filed_ago(card.summary.created_at)
    rest = _card_content(card, zone) if card.content_shown else _card_minimum(card)
    return fit("\n\n".join([head, *rest]))


def _card_minimum(card: CaseCard) -> list[str]:
    """The card's parts after the summary for a coordinator who may not read the content."""
    parts = []
    if card.age_group:
        parts.append(_("access.age_group") + " " + card.age_group)
    if card.summary.outcome:
        parts.append(_("case.outcome") + " " + _(f"outcome.{card.summary.outcome}"))
    note = _("access.minimum_only")
    if card.summary.status == "new":
        note += " " + _("access.accept_to_see")
    parts.append("<i>" + note + "</i>")
    return parts


def _card_content(card: CaseCard, zone: tzinfo) -> list[str]:
    """The card's parts after the summary for a coordinator who may read the content."""
    parts = []
    if card.summary.outcome:
        parts.append(_("case.outcome") + " " + _(f"outcome.{card.summary.outcome}"))
    parts.append(_("case.description") + "\n" + (escape(card.description) if card.description else "—"))
    if card.phone:
        parts.append(_("case.phone") + " " + escape(card.phone))
    consents = [
        _("case.consent_orgs") if card.consent_orgs else "",
        _("case.consent_police") if card.consent_police else "",
    ]
    parts.append(_("case.consents") + " " + (", ".join(c for c in consents if c) or _("case.no_consent")))
    if card.sex or card.age_group:
        parts.append(
            _("case.stats")
            + " "
            + ", ".join(v for v in (_(f"sex.{card.sex}") if card.sex else "", card.age_group or "") if v)
        )
    applied, decision, _decided = card.victim_status
    if applied or decision:
        parts.append(_("case.victim_status") + " " + _(f"victim_status.{decision or 'applied'}"))
    if card.referrals:
        parts.append(
            _("case.referrals")
            + "\n"
            + "\n".join(
                f"• {escape(name)} — {_(f'referral.status.{status}')}"
                for _id, name, status, _p in card.referrals
            )
        )
    if card.messages:
        parts.append(_card_messages(card, zone))
    parts.append(
        _("case.timeline")
        + "\n"
        + "\n".join(
            f"{at.astimezone(zone):%d.%m %H:%M} {_(f'event.{kind}')}" for at, kind, _d in card.timeline[-8:]
        )
    )
    return parts


def _card_messages(card: CaseCard, zone: tzinfo) -> str:
    """The conversation with the person, one line a message (what they wrote escaped)."""
    lines = []
    for at, from_citizen, text, has_photo in card.messages:
        who = _("case.from_citizen") if from_citizen else _("case.from_staff")
        body = escape(text) if text else ""
        lines.append(f"{at.astimezone(zone):%d.%m %H:%M} {who}: {body}{' 📷' if has_photo else ''}")
    return _("case.messages") + "\n" + "\n".join(lines)


def citizen_status(case: CaseSummary) -> str:
    """Where the request stands and what the conversation allows now: nothing it says is untrue (a
    person who ended the conversation is not told the coordinator will write)."""
    lines = [_("mycase.title").format(code=code(case.code)), _(f"status.citizen.{case.status.value}")]
    if case.outcome:
        lines.append(_(f"outcome.citizen.{case.outcome}"))
    return "\n".join(lines + conversation_lines(case))


def conversation_lines(case: CaseSummary) -> list[str]:
    """What the conversation on an open request allows now, in the person's words."""
    lines: list[str] = []
    if case.status != Status.CLOSED:
        if not case.relay_open:
            lines.append(_("mycase.chat.ended"))
        elif case.status == Status.NEW:
            lines.append(_("mycase.chat.add"))
        else:
            lines.append(_("mycase.chat.open"))
        if case.contact == "phone" and case.status != Status.NEW:
            lines.append(_("mycase.chat.phone"))
    return lines


def request_summary(data: dict[str, object], directory: Directory, lang: str) -> str:
    """What the person is about to send: every answer, to check and change before sending."""
    needs = data.get("needs") or []
    district = data.get("district")
    consent = str(data.get("consent") or "none")
    contact = _(f"contact.{data.get('contact') or 'bot'}")
    if data.get("contact") == "phone" and data.get("phone"):
        contact += f" ({escape(str(data['phone']))})"
    sex, age = data.get("sex"), data.get("age_group")
    lines = [
        _("request.check_title"),
        _("case.situation") + " " + _(f"situation.{data.get('situation')}"),
        _("case.place")
        + " "
        + escape(
            _place(
                directory,
                str(data.get("oblast")),
                district if isinstance(district, str) and district != "*" else None,
                lang,
            )
        ),
        _("case.urgent") if data.get("urgent") else _("case.not_urgent"),
        _("case.contact") + " " + contact,
        _("case.consents") + " " + _(f"request.consent_given.{consent}"),
        "",
        _("request.optional_title"),
        _("case.needs")
        + " "
        + (", ".join(_(f"need.{n}") for n in needs) if isinstance(needs, list) and needs else "—"),
        _("case.description") + " " + (escape(str(data["description"])) if data.get("description") else "—"),
        _("case.sex") + " " + (_(f"sex.{sex}") if sex in SEXES else "—"),
        _("case.age") + " " + (str(age) if age in AGE_GROUPS else "—"),
    ]
    return fit("\n".join(lines))


def referral_card(view: ReferralView, directory: Directory, lang: str) -> str:
    """What a referral shares with the organisation: the minimum until it accepts, then the content."""
    parts = [
        _("referral.title"),
        case_summary(view.case, directory, lang),
        _("referral.status_line") + " " + _(f"referral.status.{view.status}"),
    ]
    if view.status == "accepted":
        parts.append(_("case.description") + "\n" + (escape(view.description) if view.description else "—"))
        if view.phone:
            parts.append(_("case.phone") + " " + escape(view.phone))
    elif view.status == "pending":
        parts.append(_("referral.accept_to_see"))
    return fit("\n\n".join(parts))


# --- monthly police notifications ---------------------------------------------------------------
def _language() -> str:
    try:
        return get_i18n().current_locale
    except LookupError:  # outside an update (a job composes in the recipient's locale, set by delivery)
        return "uk"


def month(key: str) -> str:
    """2026-10 -> "жовтень 2026" / "October 2026", in the reader's language."""
    return month_name(key, _language())


def quarter(key: str) -> str:
    """2026-Q3 -> "III квартал 2026" / "Q3 2026", in the reader's language."""
    return quarter_name(key, _language())


def reconciliation_table(view: QuarterView) -> str:
    """The two sides' figures line by line; every discrepancy marked."""
    police, region = view.police or {}, view.region or {}
    lines = [
        _("reconcile.title").format(quarter=quarter(view.quarter)),
        _("reconcile.columns"),
    ]
    for name in FIELDS:
        p, r = police.get(name), region.get(name)
        mark = "⚠️ " if p is not None and r is not None and p != r else ""
        shown = [("—" if v is None else str(v)) for v in (p, r)]
        lines.append(f"{mark}{_(f'reconcile.field.{name}')}: <b>{shown[0]}</b> | <b>{shown[1]}</b>")
    for side, note in (("police", view.police_note), ("region", view.region_note)):
        if note:
            lines.append(_(f"reconcile.note.{side}").format(note=escape(note)))
    return "\n".join(lines)


def reconciliation_state(view: QuarterView, side: str) -> str:
    """What stands between this side and a reconciled quarter, in one line."""
    other = other_side(side)
    if view.reconciled:
        return _("reconcile.state.reconciled")
    if getattr(view, side) is None:
        return _("reconcile.state.enter_yours")
    if getattr(view, other) is None:
        return _(f"reconcile.state.waiting_{other}")
    if view.discrepancies:
        return _("reconcile.state.discrepancies").format(n=len(view.discrepancies))
    if getattr(view, f"{side}_confirmed"):
        return _(f"reconcile.state.waiting_confirm_{other}")
    return _("reconcile.state.confirm")


def police_digest(statuses: list[OrgStatus], month_key: str, oblast_name: str) -> str:
    """The digest as a short message (the letter, with the descriptions, is bot/services/police_letter.py)."""
    filed = [s for s in statuses if s.state == "signals"]
    nil = [s for s in statuses if s.state == "nil"]
    missing = [s for s in statuses if s.state == "missing"]
    head = _("police.digest_title").format(month=month(month_key), oblast=escape(oblast_name))
    parts = [f"<b>{head}</b>"]
    if filed:
        parts.append(
            _("police.digest_signals")
            + "\n"
            + "\n".join(f"• {escape(s.name)}: {len(s.signals)}" for s in filed)
        )
    parts.append(_("police.digest_nil") + " " + (", ".join(escape(s.name) for s in nil) or "—"))
    parts.append(_("police.digest_missing") + " " + (", ".join(escape(s.name) for s in missing) or "—"))
    parts.append(_("police.digest_letter"))
    return fit("\n\n".join(parts))


def compliance_table(statuses: list[OrgStatus], month_key: str, acknowledged: bool) -> str:
    lines = [_("police.compliance_title").format(month=month(month_key))]
    marks = {"signals": "📨", "nil": "✅", "missing": "❌"}
    for s in statuses:
        lines.append(
            f"{marks[s.state]} {escape(s.name)} — {_(f'police.state.{s.state}')}"
            + (f" ({len(s.signals)})" if s.signals else "")
        )
    if not statuses:
        lines.append(_("police.no_orgs"))
    lines.append(_("police.acknowledged") if acknowledged else _("police.not_acknowledged"))
    return fit("\n".join(lines))
