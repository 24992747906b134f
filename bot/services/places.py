"""Where a help request comes from when it is none of the directory's oblasts.

A person may be in another oblast, abroad (many trafficking victims are) or prefer not to say. Such a
case keeps one of these codes in `Case.oblast`, with no district, and belongs to no oblast's programme:
every oblast-wide coordinator is told of it and any of them may take it (staff.StaffRole.covers).
"""

from __future__ import annotations

OTHER_OBLAST = "other"
ABROAD = "abroad"
NOT_SAID = "unknown"
OUTSIDE = (OTHER_OBLAST, ABROAD, NOT_SAID)


def is_outside(oblast: str | None) -> bool:
    return oblast in OUTSIDE
