"""Job-offer risk self-check, built on the signs of trafficking the Ministry of Social Policy lists.

The answers so far travel in the buttons' callback data (callbacks.SelfCheck), so they are stored nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Question ids in the order asked; texts are selfcheck.q.<id> and selfcheck.tip.<id>.
QUESTIONS: tuple[str, ...] = (
    "documents",
    "debt",
    "contract",
    "too_good",
    "unknown_employer",
    "movement",
    "visa",
    "secrecy",
)

# Signs that on their own mean trafficking or forced labour is likely (documents taken away,
# freedom restricted, work to pay off a debt); the others are warning signs of a deceptive offer.
CRITICAL = frozenset({"documents", "movement", "debt"})
WEIGHT = {
    "documents": 3,
    "movement": 3,
    "debt": 3,
    "visa": 2,
    "secrecy": 2,
    "contract": 1,
    "too_good": 1,
    "unknown_employer": 1,
}
HIGH_FROM = 4


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class Verdict:
    risk: Risk
    flagged: tuple[str, ...]  # question ids answered "yes", in question order


def assess(answers: dict[str, bool]) -> Verdict:
    """Risk level from yes/no answers; unknown ids are ignored, missing ones count as "no"."""
    flagged = tuple(q for q in QUESTIONS if answers.get(q) is True)
    score = sum(WEIGHT[q] for q in flagged)
    if CRITICAL.intersection(flagged) or score >= HIGH_FROM:
        risk = Risk.HIGH
    elif flagged:
        risk = Risk.MEDIUM
    else:
        risk = Risk.LOW
    return Verdict(risk, flagged)


def valid_progress(index: int, mask: int) -> bool:
    """True when `mask` could hold the answers to the questions before `index` (forged data aside)."""
    return 0 <= index < len(QUESTIONS) and 0 <= mask < (1 << index)


def answers_from_mask(mask: int) -> dict[str, bool]:
    return {q: bool(mask >> i & 1) for i, q in enumerate(QUESTIONS)}
