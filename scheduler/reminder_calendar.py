"""The programme calendar as plain date arithmetic: which reminder is due on a given Kyiv date.

The jobs run daily and ask these functions what is due. Each answer is a *window* that starts on the
reminder's date and lasts until the next reminder (or the day itself), so a run missed while the bot was
down is made up on the next run, and the outbox's (recipient, purpose) key makes sure it goes once.
No Telegram types, no database: tested over whole years at chosen dates. When the quarterly
reconciliation opens is the reconciliation service's rule (bot/services/reconciliation.py), since its
screens ask it too.
"""

from __future__ import annotations

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
