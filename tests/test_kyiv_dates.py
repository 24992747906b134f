"""Every "today" the bot works with is Kyiv's (bot/clock.py). At 22:30 UTC on 31 December it is already
00:30 on 1 January in Kharkiv: an event held "today" is in the new year, January's police notifications
can be filed and the first quarter is not "in the future"."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from cryptography.fernet import Fernet

from bot.services.crypto import Cipher
from bot.services.events import EventError, EventService
from bot.services.police_reports import PoliceReportService, previous_month
from bot.services.reconciliation import ReconciliationService

NEW_YEARS_EVE_IN_UTC = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)


def at_new_years_eve() -> datetime:
    return NEW_YEARS_EVE_IN_UTC


def test_services_count_days_by_kyiv_not_by_the_servers_clock() -> None:
    sessionmaker = None  # nothing here touches the database
    events = EventService(sessionmaker, clock=at_new_years_eve)  # type: ignore[arg-type]
    police = PoliceReportService(sessionmaker, Cipher(Fernet.generate_key().decode()), clock=at_new_years_eve)  # type: ignore[arg-type]
    reconciliation = ReconciliationService(sessionmaker, clock=at_new_years_eve)  # type: ignore[arg-type]
    assert events.today() == police.today() == reconciliation.today() == date(2027, 1, 1)
    # The police month offered first ("the month just ended") is December, not November.
    assert previous_month(police.today()) == "2026-12"
    police._check_month("2027-01")  # not refused as a future month
    events._check_held_on(date(2027, 1, 1), 2027)  # an event held "today": neither future nor too old
    with pytest.raises(EventError, match="date_future"):
        events._check_held_on(date(2027, 1, 2), 2027)


def test_a_zone_from_the_settings_is_honoured() -> None:
    events = EventService(None, clock=at_new_years_eve, timezone="UTC")  # type: ignore[arg-type]
    assert events.today() == date(2026, 12, 31)
