"""Months, quarters and amounts in the words of each language (bot/services/wording.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.services.wording import hryvnias, month_name, month_of_year, number, quarter_name

pytestmark = pytest.mark.same_on_every_backend  # no database


def test_months_and_quarters_read_as_words() -> None:
    assert month_name("2026-11", "uk") == "листопад 2026"
    assert month_of_year("2026-11", "uk") == "листопад 2026 року"
    assert month_name("2026-11", "en") == "November 2026"
    assert quarter_name("2025-Q1", "uk") == "I квартал 2025"
    assert quarter_name("2025-Q4", "uk") == "IV квартал 2025"
    assert quarter_name("2025-Q3", "en") == "Q3 2025"


def test_amounts_have_a_decimal_comma_in_ukrainian() -> None:
    assert hryvnias(Decimal("3500.50"), "uk") == "3\xa0500,50 грн"
    assert hryvnias(Decimal("3500.50"), "en") == "UAH 3,500.50"
    assert number(12.5, "uk") == "12,5"
    assert number(1234, "uk") == "1\xa0234"
    assert number(7, "uk", decimals=0) == "7"
