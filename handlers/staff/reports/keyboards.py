"""The report flow's keyboards: oblast -> year -> kind -> district -> the files."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ReportAction, Reports
from bot.keyboards import back_to_menu_row, button, markup, pairs
from bot.services.directory import Oblast


def another_row() -> list[InlineKeyboardButton]:
    return [button(_("report.another"), Reports(action=ReportAction.START))]


def oblasts(choices: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """(the oblast's name, its id) for each oblast the person may report on."""
    rows = [[button(name, Reports(action=ReportAction.OBLAST, oblast=oblast))] for name, oblast in choices]
    return markup(*rows, back_to_menu_row())


def years(oblast: str, choices: list[int]) -> InlineKeyboardMarkup:
    items = [button(str(y), Reports(action=ReportAction.YEAR, oblast=oblast, year=y)) for y in choices]
    return markup(*pairs(items, 3), another_row())


def kinds(oblast: str, year: int, names: dict[str, str], codes: dict[str, str]) -> InlineKeyboardMarkup:
    """`codes`: the kinds offered, each with the letter it travels as."""
    items = [
        button(names[k], Reports(action=ReportAction.KIND, oblast=oblast, year=year, kind=code))
        for k, code in codes.items()
    ]
    return markup(*[[b] for b in items], another_row())


def districts(oblast: Oblast, year: int, kind: str, lang: str) -> InlineKeyboardMarkup:
    def report(district: int = -1) -> Reports:
        return Reports(action=ReportAction.REPORT, oblast=oblast.id, year=year, kind=kind, district=district)

    items = [button(d.name.get(lang), report(i)) for i, d in enumerate(oblast.districts)]
    return markup([button(_("report.whole_oblast"), report())], *pairs(items), another_row())


def files(data: Reports) -> InlineKeyboardMarkup:
    """Under the chart: the same report as XLSX or CSV."""

    def as_file(file_format: str) -> Reports:
        return data.model_copy(update={"action": ReportAction.FILE, "file_format": file_format})

    return markup(
        [button(_("report.xlsx"), as_file("xlsx")), button(_("report.csv"), as_file("csv"))],
        another_row(),
        back_to_menu_row(),
    )
