"""One handler per step of a report. Every choice is checked again by ReportService (role, scope, year,
district), never trusted from the button; a refusal or a report that cannot be made is answered by the
router's middleware (handlers/staff/reports/__init__.py)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from aiogram import Bot
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import Reports
from bot.services.catalogue import Programme
from bot.services.report_files import chart_title, to_csv, to_png, to_text, to_xlsx
from bot.services.reports import KINDS, PROGRAMME_KINDS, ReportError, ReportService, kind_names
from bot.services.staff import AccessDenied, StaffService
from bot.services.users import UserProfile
from handlers.staff.reports import keyboards as kb
from handlers.ui import chat_id_of, show, stale_button

# Kinds travel as one letter (bot/callbacks.py Reports).
KIND_CODES = {
    "indicators": "i",
    "events": "e",
    "cases": "c",
    "compliance": "n",
    "reconciliation": "r",
    "annual": "a",
}
KIND_BY_CODE = {code: kind for kind, code in KIND_CODES.items()}
CAPTION_LIMIT = 1024


@dataclass(frozen=True)
class Choice:
    """An oblast's year the person may report on: the programme in force that year (if any), and whether
    they see the whole oblast."""

    oblast: str
    programme: Programme | None
    whole: bool

    def kinds(self) -> list[str]:
        # The reconciliation with the police is the regional coordinator's; indicators are a programme's.
        return [
            k
            for k in KINDS
            if (self.whole or k != "reconciliation")
            and (self.programme is not None or k not in PROGRAMME_KINDS)
        ]


def _oblast_name(reports: ReportService, oblast_id: str, lang: str) -> str:
    oblast = reports.directory.oblast(oblast_id)
    return oblast.name.get(lang) if oblast else oblast_id


def _years(reports: ReportService, oblast: str, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    place = escape(_oblast_name(reports, oblast, lang))
    return _("report.choose_year").format(programme=place), kb.years(oblast, reports.years_for(oblast))


def _start(reports: ReportService, profile: UserProfile, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """The oblasts the person coordinates; with just one, its years straight away."""
    oblasts = reports.oblasts_for(profile.staff)
    if not oblasts:
        raise AccessDenied("report.start")
    if len(oblasts) == 1:
        return _years(reports, oblasts[0], lang)
    names = [(_oblast_name(reports, o, lang), o) for o in oblasts]
    return _("report.choose_oblast"), kb.oblasts(names)


def _choice(data: Reports, reports: ReportService, profile: UserProfile, *, year: bool = True) -> Choice:
    oblast = reports.oblast_of(data.oblast)
    whole, districts = reports.districts_for(profile.staff, oblast)
    if not whole and not districts:
        raise AccessDenied("report.programme")
    if year and data.year not in reports.years_for(oblast):
        raise ReportError("report.bad_year")
    return Choice(oblast, reports.programme_in_force(oblast, data.year), whole)


def _kind(data: Reports, choice: Choice) -> str | None:
    """The kind asked for; None for a letter no kind has (a stale button)."""
    kind = KIND_BY_CODE.get(data.kind)
    if kind is not None and kind not in choice.kinds():
        if kind in PROGRAMME_KINDS and choice.programme is None:
            raise ReportError("report.no_programme")
        raise AccessDenied("report." + kind)  # the reconciliation, asked by a district coordinator
    return kind


def _district(data: Reports, reports: ReportService, choice: Choice) -> str | None:
    """The district's id, or None for the whole oblast."""
    oblast = reports.directory.oblast(choice.oblast)
    if data.district >= 0 and (oblast is None or data.district >= len(oblast.districts)):
        raise ReportError("report.bad_district")
    return oblast.districts[data.district].id if oblast is not None and data.district >= 0 else None


async def on_command(
    message: Message, profile: UserProfile, reports: ReportService, staff: StaffService, i18n: I18n
) -> None:
    try:
        text, markup = _start(reports, profile, i18n.current_locale)
    except AccessDenied:
        await staff.audit(profile.id, "denied.report", actor_key=profile.key)
        await message.answer(_("report.denied"), reply_markup=keyboards.menu_for(profile.is_staff))
        return
    await message.answer(text, reply_markup=markup)


async def on_start(
    callback: CallbackQuery, bot: Bot, profile: UserProfile, reports: ReportService, i18n: I18n
) -> None:
    text, markup = _start(reports, profile, i18n.current_locale)
    await show(callback, bot, text, markup)


async def on_oblast(
    callback: CallbackQuery,
    callback_data: Reports,
    bot: Bot,
    profile: UserProfile,
    reports: ReportService,
    i18n: I18n,
) -> None:
    choice = _choice(callback_data, reports, profile, year=False)
    await show(callback, bot, *_years(reports, choice.oblast, i18n.current_locale))


async def on_year(
    callback: CallbackQuery, callback_data: Reports, bot: Bot, profile: UserProfile, reports: ReportService
) -> None:
    choice = _choice(callback_data, reports, profile)
    codes = {k: KIND_CODES[k] for k in choice.kinds()}
    markup = kb.kinds(choice.oblast, callback_data.year, kind_names(_), codes)
    ask = "report.choose_kind" if choice.programme is not None else "report.choose_kind_no_programme"
    await show(callback, bot, _(ask).format(year=callback_data.year), markup)


async def _asked(
    callback: CallbackQuery, data: Reports, bot: Bot, reports: ReportService, profile: UserProfile
) -> tuple[Choice, str] | None:
    """The oblast, year and kind a button asks for, each checked again; None, after answering the press
    as stale, for a letter no kind has."""
    choice = _choice(data, reports, profile)
    kind = _kind(data, choice)
    if kind is None:
        await stale_button(callback, bot)
        return None
    return choice, kind


async def on_kind(
    callback: CallbackQuery,
    callback_data: Reports,
    bot: Bot,
    profile: UserProfile,
    reports: ReportService,
    i18n: I18n,
) -> None:
    """A regional coordinator chooses the district next; anyone else gets the report."""
    asked = await _asked(callback, callback_data, bot, reports, profile)
    if asked is None:
        return
    choice, kind = asked
    oblast = reports.directory.oblast(choice.oblast)
    if choice.whole and kind != "reconciliation" and oblast is not None:
        markup = kb.districts(oblast, callback_data.year, callback_data.kind, i18n.current_locale)
        await show(callback, bot, _("report.choose_district"), markup)
    else:
        await _send_report(callback, callback_data, bot, profile, reports, i18n, choice, kind)


async def on_report(
    callback: CallbackQuery,
    callback_data: Reports,
    bot: Bot,
    profile: UserProfile,
    reports: ReportService,
    i18n: I18n,
) -> None:
    asked = await _asked(callback, callback_data, bot, reports, profile)
    if asked is not None:
        await _send_report(callback, callback_data, bot, profile, reports, i18n, *asked)


async def _send_report(
    callback: CallbackQuery,
    data: Reports,
    bot: Bot,
    profile: UserProfile,
    reports: ReportService,
    i18n: I18n,
    choice: Choice,
    kind: str,
) -> None:
    """The report as a message, then its chart with the file buttons."""
    district = _district(data, reports, choice)
    lang = i18n.current_locale
    report = await reports.produce(
        profile.staff_id, profile.staff, kind, choice.oblast, data.year, district, lang
    )
    await show(callback, bot, to_text(report))
    await bot.send_photo(
        chat_id_of(callback),
        BufferedInputFile(to_png(report), report.file_name("png")),
        caption=chart_title(report)[:CAPTION_LIMIT],
        parse_mode=None,
        reply_markup=kb.files(data),
    )


async def on_file(
    callback: CallbackQuery,
    callback_data: Reports,
    bot: Bot,
    profile: UserProfile,
    reports: ReportService,
    i18n: I18n,
) -> None:
    data = callback_data
    asked = await _asked(callback, data, bot, reports, profile)
    if asked is None:
        return
    choice, kind = asked
    district = _district(data, reports, choice)
    if data.file_format not in ("xlsx", "csv"):
        await stale_button(callback, bot)
        return
    lang = i18n.current_locale
    report = await reports.produce(
        profile.staff_id,
        profile.staff,
        kind,
        choice.oblast,
        data.year,
        district,
        lang,
        purpose=data.file_format,
    )
    body = to_xlsx(report) if data.file_format == "xlsx" else to_csv(report)
    await callback.answer()
    await bot.send_document(
        chat_id_of(callback),
        BufferedInputFile(body, report.file_name(data.file_format)),
        caption=report.title[:CAPTION_LIMIT],
        parse_mode=None,
    )
