"""The programme calendar as plain date arithmetic: which reminder is due on a given Kyiv date.

The jobs run daily and ask these functions what is due. Each answer is a *window* that starts on the
reminder's date and lasts until the next reminder (or the day itself), so a run missed while the bot was
down is made up on the next run, and the outbox's (recipient, purpose) key makes sure it goes once.
No Telegram types, no database: tested over whole years at chosen dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# The annual information is due on 25 February; drafts go out on these days of February.
ANNUAL_DUE_DAY = 25
ANNUAL_REMINDER_DAYS = (1, 15, 22)

# Awareness days (shared/seeds/README.md): (month, day, key). "16 days against violence" starts on 25 Nov.
AWARENESS_DAYS = (
    (7, 30, "trafficking_day"),
    (10, 18, "eu_day"),
    (11, 25, "sixteen_days"),
    (12, 2, "abolition_day"),
)
AWARENESS_LEADS = (14, 1)  # announced two weeks and one day ahead
COUNCIL_LEADS = (7, 1)  # coordination council meetings: a week and a day ahead

RECONCILIATION_REMINDER_EVERY = 3  # days, until both sides confirm


def quarter_key(year: int, quarter: int) -> str:
    return f"{year}-Q{quarter}"


def last_working_day(year: int, quarter: int) -> date:
    """The quarter's last Monday-to-Friday. Public holidays are working days under martial law
    (since 24.02.2022), so only weekends are skipped."""
    first_of_next = date(year + 1, 1, 1) if quarter == 4 else date(year, quarter * 3 + 1, 1)
    day = first_of_next - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


@dataclass(frozen=True)
class ReconciliationDue:
    quarter: str
    opened_on: date
    reminder: int  # 0: the opening message; n: the n-th reminder (every 3 days after opening)


def reconciliation_due(today: date) -> ReconciliationDue:
    """The quarter to reconcile now: the latest one whose opening day (its last working day) has
    come. A bot that was down across a quarter's end opens that quarter on its first run."""
    quarter = (today.month - 1) // 3 + 1
    year = today.year
    opened = last_working_day(year, quarter)
    if opened > today:
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
        opened = last_working_day(year, quarter)
    return ReconciliationDue(
        quarter_key(year, quarter), opened, (today - opened).days // RECONCILIATION_REMINDER_EVERY
    )


def lead_due(today: date, day: date, leads: tuple[int, ...]) -> int | None:
    """Which announcement of `day` is due: the lead (days ahead) whose window holds `today`.
    Leads are in descending order; the last window runs up to and including the day itself."""
    for i, lead in enumerate(leads):
        start = day - timedelta(days=lead)
        end = day - timedelta(days=leads[i + 1]) if i + 1 < len(leads) else day + timedelta(days=1)
        if start <= today < end:
            return lead
    return None


def upcoming(today: date, month: int, day: int) -> date:
    """The next occurrence of a yearly date, today included."""
    this_year = date(today.year, month, day)
    return this_year if this_year >= today else date(today.year + 1, month, day)


def awareness_due(today: date) -> list[tuple[str, date, int]]:
    """(key, date, lead) of every awareness day with an announcement due today."""
    found = []
    for month, day, key in AWARENESS_DAYS:
        when = upcoming(today, month, day)
        lead = lead_due(today, when, AWARENESS_LEADS)
        if lead is not None:
            found.append((key, when, lead))
    return found


def council_due(today: date, meetings: tuple[tuple[int, int], ...]) -> list[tuple[date, int]]:
    """(date, lead) of every coordination council meeting with a reminder due today."""
    found = []
    for month, day in meetings:
        when = upcoming(today, month, day)
        lead = lead_due(today, when, COUNCIL_LEADS)
        if lead is not None:
            found.append((when, lead))
    return found


def annual_reminder_due(today: date) -> int | None:
    """The February reminder day (1, 15 or 22) whose window holds `today`; none after the due date."""
    if today.month != 2 or today.day > ANNUAL_DUE_DAY:
        return None
    return max(d for d in ANNUAL_REMINDER_DAYS if d <= today.day)
