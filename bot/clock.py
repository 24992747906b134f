"""The bot's one notion of "today": the date in the programme's zone (Europe/Kyiv unless TIMEZONE says
otherwise), whatever zone the server's clock is in. Between 22:00 and 24:00 UTC (21:00 in summer) Kyiv is
already on the next day, month or year: every "today", "this month" and "this quarter" goes through here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Europe/Kyiv"


def utc_now() -> datetime:
    return datetime.now(UTC)


def local_date(moment: datetime, zone: str = DEFAULT_ZONE) -> date:
    """The calendar date of `moment` in `zone` (an aware datetime; timestamps are stored in UTC)."""
    return moment.astimezone(ZoneInfo(zone)).date()


def today(zone: str = DEFAULT_ZONE) -> date:
    """Today in `zone` by the real clock (tests ask this, not the machine's `date.today()`)."""
    return local_date(utc_now(), zone)
