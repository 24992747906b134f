"""Words that say a person is in danger or pleads for help, in Ukrainian, Russian and English.

A person who types "допоможіть мене б'ють" instead of pressing 🆘 must see the emergency numbers at
once, wherever they are in the bot. A false alarm costs a screen of phone numbers; a missed one may
cost much more, so the list leans wide: pleas, and the violence people name.
"""

from __future__ import annotations

import re

# Apostrophes as phones type them (’ ʼ ' `), and none at all ("бють").
_APOSTROPHE = "['’ʼ`´‘]?"

_WORDS = [
    # Ukrainian: pleas
    r"допоможі\w*",
    r"допоможи\w*",
    r"рятуй\w*",
    r"врятуй\w*",
    r"сос",
    # Ukrainian: what is being done to them
    rf"б{_APOSTROPHE}ють",
    rf"б{_APOSTROPHE}є",
    rf"вб{_APOSTROPHE}ють",
    r"вбива\w*",
    r"убива\w*",
    r"ґвалту\w*",
    r"гвалту\w*",
    r"зґвалтува\w*",
    r"згвалтува\w*",
    r"погрожу\w*",
    r"катую\w*",
    r"замкнули",
    r"не\s+відпускають",
    r"не\s+випускають",
    r"тримають",
    r"забрали\s+(?:паспорт|документи)\w*",
    r"поможіть",
    # Russian
    r"помоги\w*",
    r"спаси(?:те)?",
    r"бьют",
    r"бь[её]т",
    r"убью\w*",
    r"насилу\w*",
    r"изнасил\w*",
    r"угрожа\w*",
    r"заперли",
    r"не\s+отпускают",
    r"не\s+выпускают",
    r"держат",
    r"забрали\s+(?:паспорт|документы)\w*",
    r"памагите",
    # English
    r"help",
    r"save\s+me",
    r"sos",
    r"kill\w*",
    r"rap(?:e|ed|ing)",
    r"beat(?:s|ing)?\s+me",
    r"hurt(?:s|ing)?\s+me",
    r"locked\s+me",
    r"threaten\w*",
]

_DANGER = re.compile(r"(?<!\w)(?:" + "|".join(_WORDS) + r")(?!\w)", re.IGNORECASE)
_SIGNS = ("🆘",)


def signals_danger(text: str | None) -> bool:
    """Whether a message names danger or pleads for help (any case, any of the three languages)."""
    if not text:
        return False
    return any(sign in text for sign in _SIGNS) or _DANGER.search(text) is not None
