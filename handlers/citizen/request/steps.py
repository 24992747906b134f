"""The order of the help request's steps: which question follows an answer, where Back goes, which
essential answer is missing. A step is named as its dialog state (states.py)."""

from __future__ import annotations

from typing import Any

from bot.services.cases import Situation
from bot.services.directory import Directory
from bot.services.places import is_outside

ADDITIONS = ("needs", "description", "sex", "age")
EDITABLE = ("situation", "place", "urgency", "contact", "consent", *ADDITIONS)
# The answers a change begun on the review may touch (kept to restore when the person backs out of it).
ANSWERS = ("situation", "oblast", "district", "community", "urgent", "contact", "phone", "consent")


def step_of(state: str | None) -> str:
    """The step of a stored dialog state (`RequestForm:phone` -> `phone`)."""
    return (state or "").split(":")[-1]


def has_communities(data: dict[str, Any], directory: Directory) -> bool:
    district = directory.district(data.get("district") or "")
    return district is not None and bool(district.communities)


def place_first(directory: Directory) -> str:
    """With one oblast in the directory there is nothing to choose: the place starts at the district."""
    return "oblast" if len(directory.oblasts) > 1 else "district"


def place_last(data: dict[str, Any], directory: Directory) -> str:
    if is_outside(data.get("oblast")):
        return place_first(directory)
    return "community" if has_communities(data, directory) else "district"


def next_step(step: str, data: dict[str, Any], directory: Directory) -> str:
    """The step after `step` was answered. Changing an answer from the review goes back to the review
    once that answer (with the questions it depends on) is complete."""
    then = {
        "situation": place_first(directory),
        "oblast": "urgency",
        "district": "urgency",
        "community": "urgency",
        "urgency": "contact",
        "contact": "consent",
        "phone": "consent",
    }.get(step, "review")
    if step == "oblast" and not is_outside(data.get("oblast")):
        return "district"
    if step == "district" and has_communities(data, directory):
        return "community"
    if step == "contact" and data.get("contact") == "phone":
        return "phone"
    return "review" if data.get("editing") else then


def previous_step(step: str, data: dict[str, Any], directory: Directory) -> str | None:
    """Where Back goes: the step before (None: out of the dialog, to the menu). A question that belongs
    to an answer goes back to that answer's first question; changing from the review, back to it."""
    if step == "community" or (step == "district" and place_first(directory) == "oblast"):
        return "district" if step == "community" else "oblast"
    if step == "phone":
        return "contact"
    if step in ("review", *ADDITIONS):
        return "consent" if step == "review" else "review"
    if data.get("editing"):
        return "review"
    return {
        "situation": None,
        "oblast": "situation",
        "district": "situation",
        "urgency": place_last(data, directory),
        "contact": "urgency",
        "consent": "phone" if data.get("contact") == "phone" else "contact",
    }[step]


def first_missing(data: dict[str, Any], directory: Directory) -> str:
    """The first essential question without a valid answer."""
    if data.get("situation") not in {s.value for s in Situation}:
        return "situation"
    if not data.get("oblast"):
        return place_first(directory)
    if "urgent" not in data:
        return "urgency"
    if data.get("contact") not in ("bot", "phone"):
        return "contact"
    if data.get("contact") == "phone" and not data.get("phone"):
        return "phone"
    return "consent"
