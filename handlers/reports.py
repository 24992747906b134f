"""Reports for coordinators: /report or the workspace button -> programme -> year -> kind ->
district (regional coordinators) -> the message, the chart picture, and XLSX/CSV on request.

Thin: every choice is checked again by ReportService (role, scope, year, district), never trusted
from the button."""

from __future__ import annotations

from html import escape

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import Reports
from bot.keyboards import button
from bot.services.report_files import chart_title, to_csv, to_png, to_text, to_xlsx
from bot.services.reports import KINDS, ReportError, ReportService, kind_names
from bot.services.staff import AccessDenied, StaffService
from bot.services.users import UserProfile
from handlers.ui import chat_id_of, show, stale_button

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


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


def _pairs(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def _programmes(reports: ReportService, profile: UserProfile, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    programmes = reports.programmes_for(profile.staff)
    if not programmes:
        raise AccessDenied("report.start")
    rows = []
    for programme in programmes:
        oblast = reports.directory.oblast(programme.oblast)
        place = oblast.name.get(lang) if oblast else programme.oblast
        years = (
            f"{min(programme.years)}–{max(programme.years)}"
            if len(programme.years) > 1
            else programme.years[0]
        )
        rows.append([button(f"{place}, {years}", Reports(a="p", p=programme.id))])
    return _("report.choose_programme"), _markup(*rows, keyboards.back_to_menu_row())


def create_router() -> Router:
    router = Router(name="reports")

    @router.message(Command("report"))
    async def on_command(
        message: Message, profile: UserProfile, reports: ReportService, staff: StaffService, i18n: I18n
    ) -> None:
        try:
            text, markup = _programmes(reports, profile, i18n.current_locale)
        except AccessDenied:
            await staff.audit(profile.id, "denied.report", actor_key=profile.key)
            await message.answer(_("report.denied"), reply_markup=keyboards.menu_for(profile.is_staff))
            return
        await message.answer(text, reply_markup=markup)

    @router.callback_query(Reports.filter())
    async def on_button(
        callback: CallbackQuery,
        callback_data: Reports,
        bot: Bot,
        profile: UserProfile,
        reports: ReportService,
        staff: StaffService,
        i18n: I18n,
    ) -> None:
        lang = i18n.current_locale
        data = callback_data
        try:
            if data.a == "s":
                text, markup = _programmes(reports, profile, lang)
                await show(callback, bot, text, markup)
                return
            programme = reports.programme(data.p)
            whole, districts = reports.districts_for(profile.staff, programme.id)
            if not whole and not districts:
                raise AccessDenied("report.programme")
            back = [button(_("report.another"), Reports(a="s"))]
            if data.a == "p":
                years = [button(str(y), Reports(a="y", p=programme.id, y=y)) for y in programme.years]
                await show(
                    callback,
                    bot,
                    _("report.choose_year").format(programme=escape(programme.title.get(lang))),
                    _markup(*[years[i : i + 3] for i in range(0, len(years), 3)], back),
                )
                return
            if data.y not in programme.years:
                raise ReportError("report.bad_year")
            names = kind_names(_)
            kinds = [k for k in KINDS if whole or k != "reconciliation"]
            if data.a == "y":
                items = [
                    button(names[k], Reports(a="k", p=programme.id, y=data.y, k=KIND_CODES[k])) for k in kinds
                ]
                await show(
                    callback,
                    bot,
                    _("report.choose_kind").format(year=data.y),
                    _markup(*[[b] for b in items], back),
                )
                return
            kind = KIND_BY_CODE.get(data.k)
            if kind is None:
                await stale_button(callback, bot)
                return
            if kind not in kinds:  # the reconciliation, asked by a district coordinator
                raise AccessDenied("report." + kind)
            if data.a == "k" and whole and kind != "reconciliation":
                oblast = reports.directory.oblast(programme.oblast)
                items = [
                    button(d.name.get(lang), Reports(a="r", p=programme.id, y=data.y, k=data.k, d=i))
                    for i, d in enumerate(oblast.districts if oblast else ())
                ]
                await show(
                    callback,
                    bot,
                    _("report.choose_district"),
                    _markup(
                        [
                            button(
                                _("report.whole_oblast"), Reports(a="r", p=programme.id, y=data.y, k=data.k)
                            )
                        ],
                        *_pairs(items),
                        back,
                    ),
                )
                return
            oblast = reports.directory.oblast(programme.oblast)
            if data.d >= 0 and (oblast is None or data.d >= len(oblast.districts)):
                raise ReportError("report.bad_district")
            district = oblast.districts[data.d].id if oblast is not None and data.d >= 0 else None
            if data.a in ("k", "r"):
                report = await reports.produce(
                    profile.staff_id, profile.staff, kind, programme.id, data.y, district, lang
                )
                await show(callback, bot, to_text(report))
                files = [
                    button(
                        _("report.xlsx"),
                        Reports(a="f", p=programme.id, y=data.y, k=data.k, d=data.d, f="xlsx"),
                    ),
                    button(
                        _("report.csv"), Reports(a="f", p=programme.id, y=data.y, k=data.k, d=data.d, f="csv")
                    ),
                ]
                await bot.send_photo(
                    chat_id_of(callback),
                    BufferedInputFile(to_png(report), report.file_name("png")),
                    caption=chart_title(report)[:CAPTION_LIMIT],
                    parse_mode=None,
                    reply_markup=_markup(files, back, keyboards.back_to_menu_row()),
                )
            elif data.a == "f" and data.f in ("xlsx", "csv"):
                report = await reports.produce(
                    profile.staff_id,
                    profile.staff,
                    kind,
                    programme.id,
                    data.y,
                    district,
                    lang,
                    purpose=data.f,
                )
                body = to_xlsx(report) if data.f == "xlsx" else to_csv(report)
                await callback.answer()
                await bot.send_document(
                    chat_id_of(callback),
                    BufferedInputFile(body, report.file_name(data.f)),
                    caption=report.title[:CAPTION_LIMIT],
                    parse_mode=None,
                )
            else:
                await stale_button(callback, bot)
        except AccessDenied as denial:
            await staff.audit(
                profile.id,
                ("denied." + str(denial))[:40],
                detail=(callback.data or "")[:200],
                actor_key=profile.key,
            )
            await callback.answer(_("report.denied"), show_alert=True)
        except ReportError as exc:
            await callback.answer()
            await bot.send_message(
                chat_id_of(callback),
                _(str(exc)),
                reply_markup=_markup([button(_("report.another"), Reports(a="s"))]),
            )

    return router
