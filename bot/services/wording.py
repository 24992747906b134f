"""Months, quarters and amounts as people read them in each language: "листопад 2026", "I квартал 2025",
"3 500,50 грн" in Ukrainian; "November 2026", "Q1 2025", "UAH 3,500.50" in English. Stored keys stay
machine keys ("2026-11", "2025-Q1", Decimal): only what a person reads goes through here. Babel holds the
languages' month names and number formats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_decimal

ROMAN = ("I", "II", "III", "IV")


def _locale(language: str) -> str:
    return "uk" if language not in ("uk", "en") else language


def month_name(key: str, language: str) -> str:
    """ "2026-11" -> "листопад 2026" / "November 2026" (the month standing alone, as in a heading)."""
    year, month = (int(part) for part in key.split("-"))
    return format_date(date(year, month, 1), "LLLL y", locale=_locale(language))


def month_of_year(key: str, language: str) -> str:
    """ "2026-11" -> "листопад 2026 року" / "November 2026": a month named in a sentence of a letter."""
    named = month_name(key, language)
    return f"{named} року" if _locale(language) == "uk" else named


def quarter_name(key: str, language: str) -> str:
    """ "2025-Q1" -> "I квартал 2025" / "Q1 2025"."""
    year, quarter = key.split("-Q")
    if _locale(language) == "uk":
        return f"{ROMAN[int(quarter) - 1]} квартал {year}"
    return f"Q{quarter} {year}"


def number(value: int | float | Decimal, language: str, *, decimals: int | None = None) -> str:
    """A figure with the language's separators: "1 234,5" in Ukrainian, "1,234.5" in English.
    `decimals`: exactly that many places (money: 2)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "" if decimals == 0 else ".###")
    return format_decimal(value, format=pattern, locale=_locale(language))


def hryvnias(value: int | float | Decimal, language: str) -> str:
    """An amount in hryvnias: "3 500,50 грн" / "UAH 3,500.50"."""
    amount = number(value, language, decimals=2)
    return f"{amount} грн" if _locale(language) == "uk" else f"UAH {amount}"
