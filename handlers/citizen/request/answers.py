"""The dialog's answers as typed or chosen -> what the case service takes."""

from __future__ import annotations

from typing import Any

import phonenumbers

from bot.services.cases import AGE_GROUPS, SEXES, CaseDraft, Situation
from handlers.citizen.request.keyboards import CONSENTS


def normalise_phone(raw: str) -> str | None:
    """A phone number as typed -> E.164 (+380671234567, +48601234567), or None when it is not a valid
    number: international form with +, or a Ukrainian one without it (067 123 4567, 380671234567)."""
    try:
        number = phonenumbers.parse(raw, "UA")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def draft_of(data: dict[str, Any]) -> CaseDraft:
    """The case to file from the dialog's answers; KeyError/ValueError when an essential one is missing."""
    consent = data["consent"]
    if consent not in CONSENTS:
        raise ValueError(consent)
    contact = data["contact"]
    if contact == "phone" and not data.get("phone"):
        raise ValueError("phone")
    district = data.get("district")
    community = data.get("community")
    return CaseDraft(
        situation=Situation(data["situation"]),
        needs=list(data.get("needs") or []),
        oblast=data["oblast"],
        district=None if district in (None, "*") else district,
        community=None if community in (None, "*") else community,
        urgent=bool(data["urgent"]),
        contact=contact,
        consent_orgs=consent in ("all", "orgs"),
        consent_police=consent == "all",
        description=data.get("description"),
        phone=data.get("phone") if contact == "phone" else None,
        sex=data.get("sex") if data.get("sex") in SEXES else None,
        age_group=data.get("age_group") if data.get("age_group") in AGE_GROUPS else None,
    )
