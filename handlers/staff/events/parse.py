"""What a person types in the event dialog, read; None: not understood (the step asks again)."""

from __future__ import annotations

import re
from datetime import date

from bot.services.events import BREAKDOWN_GROUPS, HUMANITARIAN_GROUPS


def parse_date(text: str) -> date | None:
    """dd.mm.yyyy (or with / or -)."""
    match = re.fullmatch(r"\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})\s*", text)
    if not match:
        return None
    try:
        return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        return None


def db_id(value: str) -> int | None:
    """An id from callback data, or None when it is not one a database could hold (forged)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def parse_count(text: str) -> int | None:
    cleaned = text.strip().replace(" ", "")
    return int(cleaned) if re.fullmatch(r"-?\d{1,9}", cleaned) else None


def parse_breakdown(text: str) -> dict[str, int] | None:
    """Four numbers: the programme's groups; seven: the humanitarian breakdown (the sum is the caller's
    to check against the participants)."""
    parts = [parse_count(p) for p in re.split(r"[\s,;]+", text.strip()) if p]
    groups = {len(BREAKDOWN_GROUPS): BREAKDOWN_GROUPS, len(HUMANITARIAN_GROUPS): HUMANITARIAN_GROUPS}.get(
        len(parts)
    )
    counts = [p for p in parts if p is not None]
    return dict(zip(groups, counts, strict=True)) if groups and len(counts) == len(parts) else None


def parse_cost(text: str) -> str | None:
    """Hryvnias with up to two decimals ("1 500,50" -> "1500.50")."""
    cleaned = text.strip().replace(" ", "").replace(",", ".")
    return cleaned if re.fullmatch(r"\d{1,9}(\.\d{1,2})?", cleaned) else None
